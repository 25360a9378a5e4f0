"""The one entry point for a question, shared by `crimebot ask` and the bot.

A ranking question ("which area in Kent has the highest burglary rate") is answered with a
ranking; any other question goes to the answer engine. Deciding here, once, keeps the surfaces
from drifting apart: the CLI and Telegram only render what comes back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING

from bot.answer import Answer, Engine
from bot.periods import label as period_label
from bot.places import normalise
from bot.understanding import Parsed

if TYPE_CHECKING:
    # Follow-ups are imported where a conversation needs them: a plain question never does,
    # and their patterns were a tenth of a fresh `crimebot ask`.
    from bot.followup import FollowUp, Topic
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


@dataclass(frozen=True)
class Turn:
    """One question answered in a conversation: the reply, the follow-up it was read as (None
    for a question on its own) and the topic it leaves for the next one."""

    reply: Answer | Ranking
    follow: FollowUp | None
    topic: Topic | None

    @property
    def measure(self) -> str:
        return self.follow.measure if self.follow else "count"


def topic_of(reply: Answer | Ranking, question: str = "",
             measure: str = "count") -> Topic | None:
    """What an answer was about, for the next question to follow on from; None for a reply
    that asked back or found nothing (there is nothing settled to carry). A button's answer
    has no question of its own: its offence, place and period stand for it."""
    from bot.followup import Place, Topic

    if reply.status != "ok" or not reply.offence_key or not reply.offence_label:
        return None
    if not question and isinstance(reply, Answer):
        question = " ".join(w for w in (reply.offence_label, reply.area_name,
                                        reply.period_label) if w)
    if isinstance(reply, Answer):
        parts = reply.parts or (reply,)
        places = tuple(dict.fromkeys(Place(p.area_code, p.area_name or "", p.area_kind or "")
                                     for p in parts if p.area_code))
        ends = tuple(dict.fromkeys(p.period_end for p in parts if p.period_end))
        if not places or not ends:
            return None
        force = reply.force_name if len(places) == 1 and reply.area_kind == "csp" else ""
        return Topic(question, reply.offence_key, reply.offence_label, places, ends, measure,
                     force=force or "")
    focus = reply.focus
    places = (Place(focus.code, focus.name, reply.level),) if focus else ()
    scope = (Place(reply.scope_code, reply.scope_name or "", "") if reply.scope_code else None)
    ends = (reply.period_end,) if reply.period_end else ()
    return Topic(question, reply.offence_key, reply.offence_label, places, ends, "ranking",
                 scope, reply.measure)


def respond_after(engine: Engine, question: str, after: Topic | None,
                  today: date | None = None, measure: str | None = None) -> Turn:
    """`respond`, reading the question as a follow-up of `after` when there is one. The reply
    says what it carried over: a lead on the text and a `context` in its JSON."""
    from bot.followup import follow_on

    follow = (follow_on(question, after, engine.gazetteer, engine.offence_index(), measure)
              if after is not None and isinstance(question, str) else None)
    if follow is None:
        reply = respond(engine, question, today)
        return Turn(reply, None, topic_of(reply, question, measure or "count"))
    if follow.ranking is not None:
        from bot.rankings import parse_ranking, rank

        ask = parse_ranking(follow.ranking, engine.gazetteer)
        reply = (rank(engine.store, ask, today or engine.today) if ask is not None
                 else respond(engine, follow.ranking, today))
    else:
        assert follow.parsed is not None
        answer = pinned_period(engine.ask_parsed(follow.parsed, today), follow.parsed)
        # Story copy is pasted as it stands: its lead is said beside it, not inside it.
        led = follow.lead and follow.measure != "story"
        reply = replace(answer.led(follow.lead) if led else answer, context=follow.context())
    return Turn(reply, follow, topic_of(reply, follow.question, follow.measure))


def pinned_period(answer: Answer, parsed: Parsed) -> Answer:
    """An answer that asks back which place keeps the exact period asked, so the buttons open
    that period, not the latest."""
    ends = {p.end for p in parsed.periods if p.kind == "end"}
    if answer.status != "ambiguous" or answer.period_end or len(ends) != 1 \
            or len(parsed.periods) != 1:
        return answer
    (end,) = ends
    return replace(answer, period_end=end, period_label=period_label(end))


def turn_text(turn: Turn) -> str:
    """Plain text of a conversation's reply: an answer carries its lead already, a ranking
    gets it here."""
    text = reply_text(turn.reply)
    if turn.follow and turn.follow.lead and not text.startswith(turn.follow.lead):
        return turn.follow.lead.strip() + "\n" + text
    return text


def turn_json(turn: Turn) -> dict:
    out = reply_json(turn.reply)
    if turn.follow is not None:
        out["text"] = turn_text(turn)
        out["context"] = turn.follow.context()
    return out


def reply_text(reply: Answer | Ranking) -> str:
    """Plain text, as `crimebot ask` prints it."""
    if isinstance(reply, Answer):
        return reply.text
    from bot.rankings import ranking_text

    return ranking_text(reply)


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
