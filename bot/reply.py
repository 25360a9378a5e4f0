"""The one entry point for a question, shared by `crimebot ask` and the bot.

A ranking question ("which area in Kent has the highest burglary rate") is answered with a
ranking; any other question goes to the answer engine. Deciding here, once, keeps the surfaces
from drifting apart: the CLI and Telegram only render what comes back.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from bot.answer import Answer, Engine
from bot.understanding import normalise

if TYPE_CHECKING:
    from bot.rankings import Ranking
    from bot.store import Store

# Every word `bot.rankings` needs before it takes a question as a ranking, as plain substrings:
# a question with none of them is not one, so the rankings and desk modules (a fifth of a fresh
# `crimebot ask`) are imported only for questions that might be.
MAYBE_RANKING = re.compile(r"rank|league table|highest|lowest|top|bottom|worst|best|biggest|"
                           r"largest|greatest|smallest|fewest|most|least")


def respond(engine: Engine, question: str, today: date | None = None) -> Answer | Ranking:
    """A `Ranking` for ranking questions, else `Engine.ask`'s `Answer`. Never raises for text."""
    if isinstance(question, str) and MAYBE_RANKING.search(normalise(question)):
        from bot.rankings import parse_ranking, rank

        ask = parse_ranking(question, engine.gazetteer)
        if ask is not None:
            return rank(engine.store, ask, today or engine.today)
    return engine.ask(question, today)


def reply_text(reply: Answer | Ranking) -> str:
    """Plain text, as `crimebot ask` prints it."""
    if isinstance(reply, Answer):
        return reply.text
    from bot.desk import plain_text
    from bot.rankings import ranking_html

    return plain_text(ranking_html(reply))


def reply_json(reply: Answer | Ranking, store: Store | None = None) -> dict:
    """`crimebot ask --json`: the answer's own contract, or a ranking's rows as data; given the
    store, with `sources`: where each number in it was printed."""
    out = _contract(reply)
    if store is not None:
        from bot.provenance import cite_answer, cite_ranking

        cited = (cite_answer(store, reply) if isinstance(reply, Answer)
                 else cite_ranking(store, reply))
        out["sources"] = [citation.to_json() for citation in cited]
    return out


def _contract(reply: Answer | Ranking) -> dict:
    if isinstance(reply, Answer):
        return reply.to_json()
    return {
        "status": reply.status,
        "kind": "ranking",
        "text": reply_text(reply),
        "offence": ({"key": reply.offence_key, "label": reply.offence_label}
                    if reply.offence_key else None),
        "measure": reply.measure,
        "scope": {"code": reply.scope_code, "name": reply.scope_name} if reply.scope_code
        else None,
        "period": {"end": reply.period_end} if reply.period_end else None,
        "ranked": [{"code": e.code, "name": e.name, "position": e.position, "tied": e.tied,
                    "value": e.value, "count": e.count, "previous": e.previous, "small": e.small}
                   for e in reply.ranked],
        "not_ranked": [{"code": e.code, "name": e.name, "reason": e.reason}
                       for e in reply.not_ranked],
        "focus": reply.focus_code,
        "source": reply.source or None,
    }
