"""The long force series: rolling 12-month totals by force and offence, as CSV."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

from bot.offences import CATALOGUE, key_for_label
from bot.periods import month_end
from bot.readers.common import (
    Edition,
    ExtraOffence,
    FileContents,
    Grid,
    Observation,
    Reader,
    a1,
    clean_label,
    count_of,
    plain_name,
    sha256_of,
    slug,
)

LABELS = {offence.key: offence.label for offence in CATALOGUE}
NEW_BURGLARY = ("residential_burglary", "non_residential_burglary")
OLD_BURGLARY = ("domestic_burglary", "non_domestic_burglary")
FIRST_NEW_BURGLARY_YEAR = "2018-03-31"  # the first 12 months wholly after April 2017
LAST_OLD_BURGLARY_YEAR = "2017-03-31"

COMPONENTS: dict[str, tuple[str, ...]] = {
    "violence": ("homicide", "death_driving", "violence_with_injury", "violence_without_injury",
                 "stalking_harassment"),
    "burglary": OLD_BURGLARY + NEW_BURGLARY,
    "theft": ("burglary", "vehicle", "theft_person", "bicycle", "shoplifting", "other_theft"),
    "all_crime": ("violence", "sexual", "robbery", "theft", "criminal_damage", "drugs",
                  "weapons", "public_order", "misc"),
}


def placeholders(counts: dict[tuple[str, str, str], int | None]) -> set[tuple[str, str, str]]:
    """Rows of the long series that are not figures: zeros for a category not yet in use (every
    force 0 in that period) and part-year totals either side of the April 2017 burglary change.
    """
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for (_, offence, period), value in counts.items():
        totals[offence, period] += abs(value or 0)
    out: set[tuple[str, str, str]] = set()
    for key in counts:
        _, offence, period = key
        if (totals[offence, period] == 0
                or (offence in NEW_BURGLARY and period < FIRST_NEW_BURGLARY_YEAR)
                or (offence in OLD_BURGLARY and period > LAST_OLD_BURGLARY_YEAR)):
            out.add(key)
    return out


def derived_totals(counts: dict[tuple[str, str, str], int | None]
                   ) -> dict[tuple[str, str, str], int]:
    """Group totals the long series does not print, summed from its complete components.

    Burglary adds the old and new categories as printed (their part-year halves make the whole
    year around April 2017). A total with any component missing is not derived.
    """
    derived: dict[tuple[str, str, str], int] = {}
    cells = {(force, period) for force, _, period in counts}
    for force, period in sorted(cells):
        for total, parts in COMPONENTS.items():
            if (force, total, period) in counts:
                continue
            values = [counts.get((force, part, period), derived.get((force, part, period)))
                      for part in parts]
            if total == "burglary":
                values = [v for part, v in zip(parts, values, strict=True)
                          if (force, part, period) in counts]
                if not all((force, part, period) in counts for part in OLD_BURGLARY):
                    continue
            if values and all(v is not None for v in values):
                derived[force, total, period] = sum(v for v in values if v is not None)
    return derived


def summed_cells(key: tuple[str, str, str], printed: dict[tuple[str, str, str], str],
                 derived: dict[tuple[str, str, str], int]) -> tuple[str, ...]:
    """The printed cells a derived total adds up, through derived components down to cells,
    following `derived_totals`: every component printed or derived (burglary: those printed)."""
    if key in printed:
        return (printed[key],)
    force, total, period = key
    cells: list[str] = []
    for part in COMPONENTS.get(total, ()):
        part_key = (force, part, period)
        if part_key in printed or part_key in derived:
            cells += summed_cells(part_key, printed, derived)
    return tuple(cells)


def recognises(sheets: Grid) -> bool:
    first = [clean_label(cell) for cell in sheets.get("", [[]])[0]]
    return first[:2] == ["12 months ending", "pfa"] and "offence" in first


def read_series(path: Path, sheets: Grid) -> FileContents:
    rows: list[list[str]] = sheets[""]  # type: ignore[assignment]
    header = [clean_label(cell) for cell in rows[0]]
    when, force, offence, total = (header.index(name) for name in (
        "12 months ending", "pfa", "offence", "rolling year total number of offences"))
    counts: dict[tuple[str, str, str], int | None] = {}
    unknown: set[str] = set()
    keys: dict[str, str] = {}
    names: dict[str, str] = {}
    printed: dict[tuple[str, str, str], str] = {}
    labels: dict[tuple[str, str, str], str] = {}
    period_printed: dict[str, str] = {}
    for at, row in enumerate(rows[1:], start=1):
        if len(row) <= total:
            continue
        label = row[offence]
        key = keys.get(label)
        if key is None:
            key = key_for_label(label)
            if key is None:
                unknown.add(label.strip())
                key = slug(label)
            keys[label] = key
        name = names.get(row[force]) or names.setdefault(row[force], plain_name(row[force]))
        _, month, year = (int(part) for part in row[when].strip().split("-"))
        held = (name, key, month_end(year, month).isoformat())
        period_printed[held[2]] = row[when].strip()
        counts[held] = count_of(row[total])
        printed[held] = a1(at, total)
        labels[held] = f"{row[force].strip()}, {row[offence].strip()}"
    skip = placeholders(counts)
    derived = derived_totals(counts)
    observations = [
        Observation(level="pfa", code="", name=name, force_code="", force_name=name,
                    la_code="", la_name="", offence=key, period_end=period, count=value,
                    cell=printed[name, key, period], row_label=labels[name, key, period],
                    column_label=f"{rows[0][total].strip()}, {rows[0][when].strip()} "
                                 f"{period_printed[period]}")
        for (name, key, period), value in counts.items() if (name, key, period) not in skip
    ] + [
        Observation(level="pfa", code="", name=name, force_code="", force_name=name,
                    la_code="", la_name="", offence=key, period_end=period, count=value,
                    flag="derived", row_label=f"{name}, {LABELS.get(key, key)}",
                    column_label=f"sum of {rows[0][total].strip()}",
                    cells=summed_cells((name, key, period), printed, derived))
        for (name, key, period), value in derived.items()
    ]
    latest = max(o.period_end for o in observations)
    edition = Edition(
        key=f"pfa-series-{latest}", title="Recorded crime data at Police Force Area level",
        dataset="Recorded crime data at Police Force Area level (rolling 12-month totals)",
        period_end=latest, published=None, file=path.name, sha256=sha256_of(path),
    )
    extra = [ExtraOffence(slug(label), label, None, None) for label in sorted(unknown)]
    return FileContents(edition, observations, offences=extra)



READER = Reader("'12 months ending, PFA, Offence' columns (the long force "
                "series)", ("csv",), recognises, read_series)
