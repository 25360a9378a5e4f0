"""`crimebot export`: the series behind an answer, or a ranking's rows, as CSV or JSON.

For graphics and data desks, who want the whole series rather than one sentence: every row
carries the labels (not just codes) and where the figure was printed, so a chart can be sourced
and checked cell by cell. Rows come from the store's `figures_labelled` view, the same one
Datasette shows, so the export and the browser never disagree.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable

from bot.answer import Answer
from bot.rankings import Ranking
from bot.store import Store

FORMATS = ("csv", "json")


def answer_rows(store: Store, answer: Answer) -> list[dict]:
    """Every period held for the answer's area and offence (each side of a comparison)."""
    answers = answer.parts or (answer,)
    return [row for part in answers if part.area_code and part.offence_key
            for row in store.labelled(part.area_code, part.offence_key)]


def ranking_rows(store: Store, ranking: Ranking) -> list[dict]:
    """One row per ranked area: its place and the value ranked, then the figure it rests on."""
    if not (ranking.offence_key and ranking.period_end):
        return []
    rows = []
    for entry in ranking.ranked:
        held = store.labelled(entry.code, ranking.offence_key, ranking.period_end)
        rows.append({"position": entry.position, "tied": entry.tied,
                     "measure": ranking.measure, "value": entry.value,
                     "value_basis": entry.rate_basis or entry.computed_rate or None,
                     **(held[0] if held else {"area_code": entry.code, "area": entry.name,
                                              "count": entry.count})})
    return rows


def render(rows: Iterable[dict], form: str) -> str:
    """CSV with a header row (columns in view order), or a JSON list of objects."""
    rows = list(rows)
    if form == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1) + "\n"
    columns = list(dict.fromkeys(column for row in rows for column in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
