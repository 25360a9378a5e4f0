"""Where each number in an answer was printed: the check a reporter makes before publishing.

Asked only when someone wants it (`ask --json`, the "Where is this from?" button, `history`,
`export`), never while an answer is worded, so answering reads nothing more. A number no single
cell holds says how it was made instead: a total the long series does not print lists the cells
it adds up, and a rate crimebot works out names the population estimate it divides by. A number
that matches no stored figure gets no cell at all rather than a wrong one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.periods import label as period_label
from bot.store import SourceRow, Store

if TYPE_CHECKING:
    from bot.answer import Answer
    from bot.rankings import Ranking

PRINTED = "printed in one cell"
SUMMED = "the sum of the cells listed (ONS does not print this total)"
UNMATCHED = "no stored figure matches this number, so no cell is given"


@dataclass(frozen=True)
class Citation:
    """One number of an answer and where it came from. `source` is None when no cell holds it;
    `how` then says how it was made."""

    figure: str  # "count", "previous year's count", "rate per 1,000 residents"
    value: int | float
    area_code: str
    area_name: str
    offence_key: str
    offence_label: str
    period_end: str
    how: str
    source: SourceRow | None = None

    def to_json(self) -> dict:
        source = self.source
        return {
            "figure": self.figure, "value": self.value,
            "area": {"code": self.area_code, "name": self.area_name},
            "offence": {"key": self.offence_key, "label": self.offence_label},
            "period_end": self.period_end, "how": self.how,
            "edition": source.edition if source else None,
            "edition_title": source.edition_title if source else None,
            "file": source.file if source else None,
            "sheet": (source.sheet or None) if source else None,
            "cell": source.cell if source else None,
            "row_label": source.row_label if source else None,
            "column_label": source.column_label if source else None,
            "cells": list(source.cells) if source else [],
            "url": source.page if source else None,
        }


def _count(store: Store, figure: str, area: tuple[str, str], offence: tuple[str, str],
           period_end: str, value: int) -> Citation:
    held = store.figure(area[0], offence[0], period_end)
    if held is None or held.count != value:
        return Citation(figure, value, *area, *offence, period_end, UNMATCHED)
    source = store.source(area[0], offence[0], period_end)
    how = SUMMED if held.flag == "derived" else PRINTED
    return Citation(figure, value, *area, *offence, period_end,
                    how if source else UNMATCHED, source)


def _rate(store: Store, area: tuple[str, str], offence: tuple[str, str], period_end: str,
          value: float) -> Citation:
    figure = "rate per 1,000 residents"
    held = store.figure(area[0], offence[0], period_end)
    if held is None:
        return Citation(figure, value, *area, *offence, period_end, UNMATCHED)
    if held.rate is not None and round(held.rate, 2) == value:
        source = store.source(area[0], offence[0], period_end, "rate")
        return Citation(figure, value, *area, *offence, period_end,
                        PRINTED if source else UNMATCHED, source)
    population = store.population(area[0], int(period_end[:4]))
    if held.count is None or population is None:
        return Citation(figure, value, *area, *offence, period_end, UNMATCHED)
    year, people, basis = population
    printed = store.population_source(area[0], year)
    where = ""
    if printed and printed[1] and printed[2]:
        cells = printed[2].split(", ")
        where = (f"; {printed[0]}, sheet {printed[1].strip()}, "
                 + (f"cell {cells[0]}" if len(cells) == 1 else f"cells {' + '.join(cells)}"))
    how = (f"worked out by crimebot: {held.count:,} crimes ÷ {people:,} residents (mid-{year} "
           f"population, {basis}{where}) × 1,000")
    return Citation(figure, value, *area, *offence, period_end, how)


def cite_answer(store: Store, answer: Answer) -> tuple[Citation, ...]:
    """Every number the answer states (its parts' too), each with where it came from."""
    if answer.parts:
        return tuple(c for part in answer.parts for c in cite_answer(store, part))
    if answer.status != "ok" or not (answer.area_code and answer.offence_key
                                     and answer.period_end):
        return ()
    area = (answer.area_code, answer.area_name or answer.area_code)
    offence = (answer.offence_key, answer.offence_label or answer.offence_key)
    cited: list[Citation] = []
    if answer.count is not None:
        cited.append(_count(store, "count", area, offence, answer.period_end, answer.count))
    if answer.previous_end and answer.previous_count is not None:
        cited.append(_count(store, "previous year's count", area, offence,
                            answer.previous_end, answer.previous_count))
    if answer.rate_per_1000 is not None:
        cited.append(_rate(store, area, offence, answer.period_end, answer.rate_per_1000))
    return tuple(cited)


def cite_ranking(store: Store, ranking: Ranking) -> tuple[Citation, ...]:
    """The count behind each ranked line (and its published rate when ranked by rate)."""
    if ranking.status != "ok" or not (ranking.offence_key and ranking.period_end):
        return ()
    offence = (ranking.offence_key, ranking.offence_label or ranking.offence_key)
    cited: list[Citation] = []
    for entry in ranking.ranked:
        area = (entry.code, entry.name)
        if entry.count is not None:
            cited.append(_count(store, "count", area, offence, ranking.period_end,
                                entry.count))
        if ranking.measure == "rate" and entry.value is not None:
            cited.append(_rate(store, area, offence, ranking.period_end,
                               round(entry.value, 2)))
    return tuple(cited)


def where_printed(source: SourceRow) -> str:
    """"policeforceareatablesyedecember2024.xlsx, sheet Table P1, cell F23 (row “Leeds”, column
    “Burglary”)", or the cells a derived total adds up."""
    place = [source.file]
    if source.sheet.strip():
        place.append(f"sheet {source.sheet.strip()}")  # "Table P4 " is named with a space
    if source.cell:
        place.append(f"cell {source.cell}")
    elif source.cells:
        place.append(f"cells {' + '.join(source.cells)}")
    labels = [f"row “{source.row_label}”"] if source.row_label else []
    if source.column_label:
        labels.append(f"column “{source.column_label}”")
    return ", ".join(place) + (f" ({', '.join(labels)})" if labels else "")


def describe(citation: Citation) -> str:
    """One line of plain text per number: what it is, and where to find it."""
    value = (f"{citation.value:,}" if isinstance(citation.value, int)
             else f"{citation.value:.2f}")
    what = (f"{value}: {citation.figure}, {citation.offence_label}, {citation.area_name}, "
            f"{period_label(citation.period_end)}")
    if citation.source is None:
        return f"{what} — {citation.how}."
    line = f"{what} — {where_printed(citation.source)}"
    if citation.how != PRINTED:
        line += f"; {citation.how}"
    return line + f". {citation.source.edition_title}."


def links(citations: Iterable[Citation]) -> list[str]:
    """The ONS pages the cited editions are published on, each once."""
    return list(dict.fromkeys(c.source.page for c in citations if c.source and c.source.page))
