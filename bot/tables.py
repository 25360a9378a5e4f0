"""Readers that turn one ONS or Home Office file into plain records.

Each reader recognises its file by content (sheet titles, header cells), never by file name, so
next quarter's edition with a new name still loads. Readers know nothing of SQLite and nothing of
the other files: reconciling codes across editions is `ingest`'s job.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from bot.offences import CATALOGUE, key_for_label
from bot.offences import clean_label as _clean_label
from bot.periods import month_end

MISSING = {"", "..", "[x]", "[z]", "[u]", "[u1]", "[c]", "x", ":", "-", "[ z ]", "n/a"}

MONTHS = {
    m: i
    for i, m in enumerate(
        ["january", "february", "march", "april", "may", "june", "july", "august",
         "september", "october", "november", "december"], start=1)
}
_MONTH_ABBR = {name[:3]: number for name, number in MONTHS.items()}
clean_label = functools.cache(_clean_label)  # headers repeat across sheets and editions
_LABELS = {clean_label(label): o.key for o in CATALOGUE for label in o.ons_labels}


class UnreadableFile(Exception):
    """A file we recognised but could not read; the message names file, sheet and cause."""


@dataclass(frozen=True)
class Edition:
    """One published file: the unit in which "the newer edition wins" is decided."""

    key: str
    title: str
    dataset: str
    period_end: str
    published: str | None
    file: str
    sha256: str


@dataclass(slots=True)
class Observation:
    """One published number, with the area exactly as the table printed it.

    Not frozen: readers make a hundred thousand of these per build, and a frozen dataclass
    costs three times as much to create; nothing changes them after they are read.
    """

    level: str  # csp | pfa | table (codes that say their own kind: K04, E92, E12, E23, W15 ...)
    code: str
    name: str
    force_code: str
    force_name: str
    la_code: str
    la_name: str
    offence: str
    period_end: str
    count: int | None
    rate: float | None = None
    rate_basis: str | None = None
    flag: str | None = None  # None | "partial" (a total lacking a force) | "derived"


@dataclass(frozen=True)
class Note:
    """A file's own note that qualifies figures, scoped to the areas and periods it touches.

    `area_code`/`area_name` empty and `offence` None mean "any"; the period bounds are the
    12-month period ends the note can affect (a gap in October–December 2022 touches every year
    ending October 2022 … November 2023).
    """

    area_code: str
    area_name: str
    offence: str | None
    period_from: str | None
    period_to: str | None
    text: str


@dataclass(frozen=True)
class NoteText:
    """One numbered note exactly as the file prints it, with the tables it is written for
    ("P5", "P6" …; a bare letter "C" means every table of that letter). `bot.qualifications`
    reads breaks, exclusions and undercounts from it."""

    tables: tuple[str, ...]
    number: int
    text: str


@dataclass(frozen=True)
class NoteMarker:
    """A row of a table that points at a note ("Metropolitan Police [note 4]", "North West5")."""

    table: str
    number: int
    area_code: str
    area_name: str


@dataclass(frozen=True)
class LookupRow:
    """A local authority's place in the CSP and force geography, from an ONS lookup."""

    year: int
    la_code: str
    la_name: str
    csp_code: str
    csp_name: str
    force_code: str
    force_name: str


@dataclass(frozen=True)
class Population:
    code: str
    name: str
    geography: str
    year: int
    people: int


@dataclass(frozen=True)
class ExtraOffence:
    """An offence row of the appendix tables that the catalogue does not name (e.g. code 19C)."""

    key: str
    label: str
    parent: str | None
    ons_code: str | None


@dataclass
class FileContents:
    """Everything one file contributes to the store."""

    edition: Edition
    observations: list[Observation] = field(default_factory=list)
    lookups: list[LookupRow] = field(default_factory=list)
    populations: list[Population] = field(default_factory=list)
    offences: list[ExtraOffence] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    note_texts: list[NoteText] = field(default_factory=list)
    markers: list[NoteMarker] = field(default_factory=list)
    table_offences: dict[str, tuple[str, ...]] = field(default_factory=dict)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def number(value: object) -> float | None:
    """A published cell as a number; missing markers become None, never 0.

    CSV exports print numbers as text with thousands separators and a trailing space ("1,234 ").
    """
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if value is None or kind is bool:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace(",", "")
    if text.lower() in MISSING:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def count_of(value: object) -> int | None:
    parsed = number(value)
    return None if parsed is None else round(parsed)


_SPACES = re.compile(r"\s+")
_NOTE_MARK = re.compile(r"\[\s*note[^\]]*\]", re.I)


def text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    string = str(value)
    if "  " not in string and "\n" not in string and "\t" not in string and "\r" not in string:
        return string.strip()
    return _SPACES.sub(" ", string).strip()


def plain_name(value: object) -> str:
    """An area name without note markers or stray spaces ("Leicestershire [note 4] ")."""
    string = text(value)
    if "[" not in string:
        return string
    return _SPACES.sub(" ", _NOTE_MARK.sub(" ", string)).strip()


def period_from_title(title: str) -> str | None:
    """"... year ending December 2022 [note 1]" → "2022-12-31" (the last day of the 12 months).

    Older titles glue footnote digits to a two-digit year: "year ending March 181,2,3" is 2018.
    """
    match = re.search(r"year ending\s+([A-Za-z]+)\s+(?:((?:19|20)\d\d)|(\d\d))", title,
                      re.IGNORECASE)
    if not match or match.group(1).lower() not in MONTHS:
        return None
    year = int(match.group(2)) if match.group(2) else 2000 + int(match.group(3))
    return month_end(year, MONTHS[match.group(1).lower()]).isoformat()


def period_from_span(header: str) -> str | None:
    """"Apr 2021 to \\n Mar 2022" → "2022-03-31"; "Jan 2024 to Dec 2024" likewise."""
    match = re.search(r"to\s+([A-Za-z]{3})[a-z]*\s+(?:(\d{4})|['’](\d{2}))", header)
    if not match or match.group(1).lower() not in _MONTH_ABBR:
        return None
    year = int(match.group(2)) if match.group(2) else 2000 + int(match.group(3))
    return month_end(year, _MONTH_ABBR[match.group(1).lower()]).isoformat()


def published_from(lines: Iterable[str]) -> str | None:
    """The publication date a cover sheet states ("published on 27 April 2023"), as ISO."""
    for line in lines:
        match = re.search(r"published (?:on |at [^0-9]*?)?(\d{1,2})(?:st|nd|rd|th)? ([A-Za-z]+) "
                          r"(\d{4})", line, re.IGNORECASE)
        if match and match.group(2).lower() in MONTHS:
            return date(int(match.group(3)), MONTHS[match.group(2).lower()],
                        int(match.group(1))).isoformat()
    return None


def slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")


# --- recognising tables ---------------------------------------------------------------------


def find_header(rows: list[list[object]], *needles: str, within: int = 40) -> int | None:
    """The index of the first row whose cleaned cells contain every needle (a prefix match)."""
    for index, row in enumerate(rows[:within]):
        cells = [clean_label(cell) for cell in row]
        if all(any(cell.startswith(needle) for cell in cells) for needle in needles):
            return index
    return None


def offence_columns(header: list[object]) -> dict[int, str]:
    """Column index → offence key for every header cell the catalogue recognises."""
    columns: dict[int, str] = {}
    for index, cell in enumerate(header):
        key = key_for_label(cell)
        if key and key not in columns.values():
            columns[index] = key
    return columns


def rate_columns(header: list[object]) -> dict[int, str]:
    """Like `offence_columns`, for rate tables, keeping the per-population residential column."""
    columns: dict[int, str] = {}
    for index, cell in enumerate(header):
        label = clean_label(cell)
        if label.startswith("residential burglary (per 1,000 population)"):
            columns[index] = "residential_burglary"
            continue
        if "per 1,000 household" in label:
            continue
        key = key_for_label(cell)
        if key and key not in columns.values():
            columns[index] = key
    return columns


def csp_table(
    rows: list[list[object]], header_at: int, period_end: str, *, rates: bool, where: str
) -> list[Observation]:
    """Observations from a CSP table (counts or rates): force subtotal rows and CSP rows alike."""
    header = rows[header_at]
    labels = [clean_label(cell) for cell in header]
    columns = rate_columns(header) if rates else offence_columns(header)
    if "sexual" not in columns.values():
        raise UnreadableFile(f"{where}: no offence columns found in the header row")
    basis = None
    if rates:
        population_label = next((label for label in labels if label.startswith("population")), "")
        year = re.search(r"mid-(\d{4})", population_label)
        basis = (f"ONS published rate, mid-{year.group(1)} population" if year
                 else "ONS published rate")
    out: list[Observation] = []
    for row in rows[header_at + 1:]:
        if len(row) < 7:
            continue
        force_code, force_name = text(row[0]), plain_name(row[1])
        code, name = text(row[2]), plain_name(row[3])
        la_code, la_name = text(row[4]), plain_name(row[5])
        if not (force_code or force_name or name):
            continue
        level = "csp" if name else "pfa"
        for index, key in columns.items():
            value = row[index] if index < len(row) else None
            out.append(Observation(
                level=level, code=code if name else force_code, name=name or force_name,
                force_code=force_code, force_name=force_name, la_code=la_code, la_name=la_name,
                offence=key, period_end=period_end,
                count=None if rates else count_of(value),
                rate=number(value) if rates else None, rate_basis=basis,
            ))
    return out


_FOOTNOTE_TAIL = re.compile(r"(?<=[A-Za-z)\s])(\d{1,2}(?:\s*,\s*\d{1,2})*)\s*$")
_FOOTNOTE_IN_BRACKET = re.compile(r"(?<=[a-z])(\d{1,2}(?:,\d{1,2})*)\)")


def footnoted(value: object) -> tuple[str, tuple[int, ...]]:
    """A label without its footnote digits, and those digits.

    Older ONS tables glue footnote numbers to labels: "ENGLAND AND WALES7,8", "Residential
    burglary6,7", "Total recorded crime (excluding fraud4)". Newer ones write "[note 3]".
    """
    label = plain_name(value)
    digits: list[int] = []
    bracket = _FOOTNOTE_IN_BRACKET.search(label)
    if bracket:
        digits += [int(d) for d in bracket.group(1).split(",")]
        label = label[:bracket.start()] + ")" + label[bracket.end():]
    tail = _FOOTNOTE_TAIL.search(label)
    if tail and not re.search(r"(mid-|\d{4}\s*$)", label):
        digits += [int(d) for d in re.split(r"\s*,\s*", tail.group(1))]
        label = label[:tail.start()]
    return label.strip(), tuple(digits)


def label_key(value: object) -> str | None:
    return key_for_label(footnoted(value)[0])


def area_table(
    rows: list[list[object]], header_at: int, period_end: str, columns: dict[int, str], *,
    rates: dict[int, str] | None = None, basis: str | None = None,
    partial: frozenset[str] = frozenset(),
) -> list[Observation]:
    """Observations from a table keyed by "Area Code, Area Name" (force tables P1, P3, P5 …).

    `rates` columns give published rates (with `basis`); codes in `partial` are totals that
    lack a force, flagged so they are never read as the whole.
    """
    out: list[Observation] = []
    for row in rows[header_at + 1:]:
        code = text(row[0])
        name = footnoted(row[1])[0] if len(row) > 1 else ""
        if not name or not (code or name.lower().startswith("british transport")):
            continue
        flag = "partial" if code in partial else None
        for index, key in columns.items():
            out.append(Observation(
                level="table", code=code, name=name, force_code=code, force_name=name,
                la_code="", la_name="", offence=key, period_end=period_end,
                count=count_of(row[index] if index < len(row) else None), flag=flag,
            ))
        for index, key in (rates or {}).items():
            value = number(row[index] if index < len(row) else None)
            if value is not None:
                out.append(Observation(
                    level="table", code=code, name=name, force_code=code, force_name=name,
                    la_code="", la_name="", offence=key, period_end=period_end, count=None,
                    rate=value, rate_basis=basis, flag=flag,
                ))
    return out


def group_columns(rows: list[list[object]], header_at: int) -> dict[int, str]:
    """Offence columns of a force table, including a group printed one row above the header.

    In the 2018–2019 force tables "Total recorded crime" sits above the offence groups, its
    own header cell left empty.
    """
    header = rows[header_at]
    above = rows[header_at - 1] if header_at else []
    columns: dict[int, str] = {}
    for index in range(max(len(header), len(above))):
        cell = header[index] if index < len(header) else ""
        if not text(cell) and index < len(above):
            cell = above[index]
        label = clean_label(footnoted(cell)[0])
        if "per 1,000 household" in label or label.startswith(("population", "household")):
            continue
        key = ("residential_burglary"
               if label.startswith("residential burglary (per 1,000 population)")
               else label_key(cell))
        if key and key not in columns.values():
            columns[index] = key
    return columns


def partial_totals(rows: list[list[object]], header_at: int, columns: dict[int, str]
                   ) -> frozenset[str]:
    """Codes of the totals that lack a force: a force row with no figure at all.

    December 2019: Greater Manchester supplied nothing, so the England and Wales, England and
    North West rows add up the other forces only.
    """
    partial: set[str] = set()
    region = ""
    for row in rows[header_at + 1:]:
        code = text(row[0])
        if code[:3] in {"E12", "W92"}:
            region = code
        if code[:3] in {"E23", "W15"} and columns and all(
            number(row[i] if i < len(row) else None) is None for i in columns
        ):
            partial |= {"K04000001", "E92000001" if code.startswith("E") else "W92000004"}
            if region:
                partial.add(region)
    return frozenset(partial)


def series_columns(rows: list[list[object]], header_at: int) -> dict[int, str]:
    """Column → period end for a series table: spans in the header row or the row above it.

    Only count columns: never "% involving a knife" or a "% change" column.
    """
    header = rows[header_at]
    above = rows[header_at - 1] if header_at else []
    spans: dict[int, str] = {}
    group = ""
    for index, cell in enumerate(header):
        label = text(cell)
        group = text(above[index]) if index < len(above) and text(above[index]) else group
        if "%" in label or "rate" in label.lower() or "%" in group or "change" in group.lower():
            continue
        period = period_from_span(label)
        if period is None and index < len(above) and label.lower().startswith("number"):
            period = period_from_span(text(above[index]))
        if period:
            spans[index] = period
    return spans


def knife_table(rows: list[list[object]], header_at: int, title: str) -> list[Observation]:
    """Knife crime by force: either one period (named in the title) or a series by period."""
    spans = series_columns(rows, header_at)
    if spans:
        out: list[Observation] = []
        for column, period_end in spans.items():
            out += area_table(rows, header_at, period_end, {column: "knife"},
                              partial=partial_totals(rows, header_at, {column: "knife"}))
        return out
    header = rows[header_at]
    above = rows[header_at - 1] if header_at else []
    subtitle = text(rows[1][0]) if len(rows) > 1 and rows[1] else ""
    period = period_from_title(subtitle) or period_from_title(title)
    first = clean_label(header[2]) if len(header) > 2 else ""
    over = clean_label(above[2]) if len(above) > 2 else ""
    if not period or not (first.startswith("total of selected serious")
                          or (over.startswith("total of selected serious")
                              and first.startswith("number"))):
        return []
    return area_table(rows, header_at, period, {2: "knife"},
                      partial=partial_totals(rows, header_at, {2: "knife"}))


def knife_rates(rows: list[list[object]], header_at: int) -> list[Observation]:
    """Published knife crime rates, per 100,000 population in the tables, converted exactly to
    the per 1,000 every answer uses (a rate ONS publishes is never recomputed)."""
    heading = " ".join(text(cell) for row in rows[:header_at + 2] for cell in row).lower()
    per = 100_000 if "100,000" in heading else 1_000
    out: list[Observation] = []
    for column, period_end in series_columns(rows, header_at).items():
        partial = partial_totals(rows, header_at, {column: "knife"})
        out += [replace(o, rate=o.rate * 1_000 / per) for o in area_table(
            rows, header_at, period_end, {}, rates={column: "knife"},
            basis=f"ONS published rate per {per:,} population, shown per 1,000",
            partial=partial) if o.rate is not None]
    return out


FIREARMS = ExtraOffence(
    "firearms", "Offences involving firearms (excluding conventional air weapons)", None, None)


def firearms_table(rows: list[list[object]], header_at: int) -> list[Observation]:
    out: list[Observation] = []
    for column, period_end in series_columns(rows, header_at).items():
        out += area_table(rows, header_at, period_end, {column: FIREARMS.key})
    return out


def footnotes_below(rows: list[list[object]], header_at: int) -> dict[int, str]:
    """The numbered footnotes printed under an older table ("8. Following the …")."""
    found: dict[int, str] = {}
    for row in rows[header_at + 1:]:
        match = re.match(r"^(\d{1,2})\.\s+(.+)", text(row[0]) if row else "")
        if match:
            found[int(match.group(1))] = match.group(2)
    return found


def force_table(
    rows: list[list[object]], where: str
) -> tuple[str, list[Observation], list[Note]] | None:
    """One "Table P…" sheet of the force tables, any edition since 2018; None if not ours.

    Returns the kind read ("counts", "rates", "knife", "firearms"), the observations and the
    notes its footnotes attach to rows or columns.
    """
    title = text(rows[0][0]) if rows and rows[0] else ""
    lowered = title.lower()
    header_at = find_header(rows, "area code", "area name")
    if header_at is None:
        return None
    period = period_from_title(title)
    if "knife" in lowered and "rate" not in lowered:
        return "knife", knife_table(rows, header_at, title), []
    if "knife" in lowered:
        return "rates", knife_rates(rows, header_at), []
    if "firearm" in lowered and "number of" in lowered:
        return "firearms", firearms_table(rows, header_at), []
    if "offence group" not in lowered or not period:
        return None
    header = [text(cell) for cell in rows[header_at]]
    if "rate of offences" in lowered or "rate per 1,000" in lowered:
        columns = group_columns(rows, header_at)
        population = next((c for c in header if c.lower().startswith("population")), "")
        year = re.search(r"mid-(\d{4})", population)
        basis = (f"ONS published rate, mid-{year.group(1)} population" if year
                 else "ONS published rate")
        observations = area_table(rows, header_at, period, {}, rates=columns, basis=basis)
        kind = "rates"
    elif "number of offences" in lowered:
        columns = group_columns(rows, header_at)
        if "sexual" not in columns.values():
            raise UnreadableFile(f"{where}: no offence columns found in the header row")
        partial = partial_totals(rows, header_at, columns)
        observations = area_table(rows, header_at, period, columns, partial=partial)
        kind = "counts"
    else:
        return None
    return kind, observations, table_notes(rows, header_at, columns, period)


def table_notes(rows: list[list[object]], header_at: int, columns: dict[int, str],
                period: str) -> list[Note]:
    """Footnotes that qualify figures, scoped by the rows and columns that carry their number."""
    footnotes = {n: t for n, t in footnotes_below(rows, header_at).items() if qualifies(t)}
    if not footnotes:
        return []
    header = rows[header_at]
    by_column = {n: key for i, key in columns.items() if i < len(header)
                 for n in footnoted(header[i])[1]}
    notes: list[Note] = []
    for row in rows[header_at + 1:]:
        if len(row) < 2 or not text(row[0]) or re.match(r"^\d{1,2}\.", text(row[0])):
            continue
        name, digits = footnoted(row[1])
        for digit in digits:
            if digit in footnotes:
                start, end = note_periods(footnotes[digit], period)
                notes.append(Note(text(row[0]), name, by_column.get(digit), start, end,
                                  footnotes[digit]))
    return notes


_QUALIFIES = re.compile(
    r"unable to supply|could not supply|not able to supply|undercount|under-count|"
    r"inadvertently|technical issue|not included in the national|were not included", re.I)


def qualifies(note: str) -> bool:
    """True for a note that changes what a figure means (missing data, undercount, error)."""
    return bool(_QUALIFIES.search(note))


_MONTH_RANGE = re.compile(
    r"(january|february|march|april|may|june|july|august|september|october|november|december)"
    r"(?:\s+(\d{4}))?\s+(?:to|-|–)\s+"
    r"(january|february|march|april|may|june|july|august|september|october|november|december)"
    r"\s+(\d{4})", re.I)


def note_periods(note: str, edition_period: str) -> tuple[str, str]:
    """The 12-month period ends a note touches: months missing from a to b affect every year
    ending a … b + 11 months; a note naming no months is about its edition's period."""
    match = _MONTH_RANGE.search(note)
    if not match:
        return edition_period, edition_period
    end_year = int(match.group(4))
    end_month = MONTHS[match.group(3).lower()]
    start_month = MONTHS[match.group(1).lower()]
    start_year = int(match.group(2)) if match.group(2) else (
        end_year if start_month <= end_month else end_year - 1)
    last = end_month + 11
    return (month_end(start_year, start_month).isoformat(),
            month_end(end_year + (last - 1) // 12, (last - 1) % 12 + 1).isoformat())


def appendix_a4(
    rows: list[list[object]], header_at: int
) -> tuple[list[Observation], list[ExtraOffence]]:
    """England and Wales counts by offence from appendix table A4, with its offence tree.

    Code rows sit above the subtotal they belong to, and subtotals above their "TOTAL" row, so
    parents are assigned as the table is read top to bottom.
    """
    header = rows[header_at]
    periods = {i: p for i, cell in enumerate(header) if (p := period_from_span(text(cell)))
               and "%" not in text(cell)}
    observations: list[Observation] = []
    offences: list[ExtraOffence] = []
    pending_codes: list[int] = []
    pending_groups: list[int] = []
    seen: set[str] = set()
    for row in rows[header_at + 1:]:
        code, label = text(row[0]), plain_name(row[1]) if len(row) > 1 else ""
        if not label:
            continue
        if not any(number(cell) is not None for cell in row[2:]):
            continue
        is_total = label.upper().startswith("TOTAL")
        known = key_for_label(label)
        if known and not code and known not in seen:
            key = known
        else:
            key = slug(f"{code} {label}" if code else label)
            while key in seen:
                key += "-x"
        seen.add(key)
        offences.append(ExtraOffence(key, label[0] + label[1:], None, code or None))
        index = len(offences) - 1
        if code:
            pending_codes.append(index)
        else:
            children = pending_codes + (pending_groups if is_total else [])
            for child in children:
                offences[child] = ExtraOffence(offences[child].key, offences[child].label, key,
                                               offences[child].ons_code)
            pending_codes = []
            pending_groups = [] if is_total else [*pending_groups, index]
        for column, period_end in periods.items():
            value = row[column] if column < len(row) else None
            if count_of(value) is None and number(value) is None and text(value) == "":
                continue
            observations.append(Observation(
                level="table", code="K04000001", name="England and Wales", force_code="",
                force_name="", la_code="", la_name="", offence=key, period_end=period_end,
                count=count_of(value),
            ))
    return observations, offences


def appendix_rates(rows: list[list[object]]) -> list[Observation]:
    """England and Wales rates per 1,000 population by offence group (appendix table A7)."""
    header_at = find_header(rows, "offence group")
    if header_at is None:
        return []
    periods = {i: p for i, cell in enumerate(rows[header_at])
               if "%" not in text(cell) and (p := period_from_span(text(cell)))}
    out: list[Observation] = []
    seen: set[str] = set()
    for row in rows[header_at + 1:]:
        key = label_key(row[0]) if row else None
        if key is None or key in seen:
            continue
        seen.add(key)
        for column, period_end in periods.items():
            value = number(row[column] if column < len(row) else None)
            if value is not None:
                out.append(Observation(
                    level="table", code="K04000001", name="England and Wales", force_code="",
                    force_name="", la_code="", la_name="", offence=key, period_end=period_end,
                    count=None, rate=value, rate_basis="ONS published rate, appendix tables"))
    return out


# --- whole files --------------------------------------------------------------------------


def read_file(path: Path) -> FileContents | None:
    """Read one source file; None when no reader recognises it (the caller reports and skips)."""
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm", ".xls", ".ods"}:
        return read_workbook(path)
    if suffix in {".csv", ".txt"}:
        return read_csv(path)
    return None


# Sheets a reader may use; the rest (survey worksheets, single-year-of-age population) are
# large and never read, so they are not even decoded. Which table a sheet holds is still
# decided by its content.
SHEETS_READ = ("table", "cover", "notes", "correction", "mye4")


def _sheets(path: Path) -> Iterator[tuple[str, list[list[object]]]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own types for every kind of damage
        raise UnreadableFile(f"{path.name}: not a readable workbook ({error})") from error
    for name in workbook.sheet_names:
        if not name.strip().lower().startswith(SHEETS_READ) and "notes" not in name.lower():
            continue
        try:
            yield name, workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as error:
            raise UnreadableFile(f"{path.name}, sheet {name!r}: {error}") from error


LOOKED_FOR = {
    "workbook": "sheets titled 'Table P…' with an Area Code/Area Name header (force tables), "
                "'Table A4'/'Table_A5a' with Offence code/Offence category (appendix tables), "
                "a Community Safety Partnership code header (CSP tables) or a 'MYE4' sheet "
                "(population estimates)",
    "csv": "LADyyCD/CSPyyCD columns (a lookup), '12 months ending, PFA, Offence' (the long force "
           "series) or a 'Number of police recorded crimes' table title with a Community Safety "
           "Partnership code header",
}


def why_unread(path: Path) -> str:
    """What the readers looked for in a file none of them recognised, for the build summary."""
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm", ".xls", ".ods"}:
        return f"looked for {LOOKED_FOR['workbook']}; found none"
    if suffix in {".csv", ".txt"}:
        return f"looked for {LOOKED_FOR['csv']}; found none"
    return "not a workbook (.xlsx/.xls/.ods) or a .csv"


def _first_lines(rows: list[list[object]]) -> list[str]:
    return [text(cell) for row in rows for cell in row if text(cell)]


def read_workbook(path: Path) -> FileContents | None:
    sheets = {name.strip(): rows for name, rows in _sheets(path)}
    lowered_names = {name.lower(): name for name in sheets}
    cover_name = next((lowered_names[n] for n in lowered_names if n.startswith("cover")), None)
    notes_name = next((lowered_names[n] for n in lowered_names if n == "notes"), None)
    front = sheets.get(cover_name or notes_name or "", [])
    front_lines = _first_lines(front)
    correction = sheets.get("Correction", [])
    title = front_lines[0] if front_lines else path.stem
    published = published_from(_first_lines(correction)) or published_from(front_lines)
    if "MYE4" in sheets:
        return _population(path, sheets["MYE4"], title, published)
    observations: list[Observation] = []
    offences: list[ExtraOffence] = []
    notes: list[Note] = []
    note_texts: list[NoteText] = []
    markers: list[NoteMarker] = []
    table_offences: dict[str, tuple[str, ...]] = {}
    dataset = ""
    kinds: set[str] = set()
    letters: set[str] = set()
    for name, rows in sheets.items():
        if not rows or not rows[0]:
            continue
        sheet_title = text(rows[0][0])
        table = re.match(r"table[ _]([a-z])\d", sheet_title.lower())
        letter = table.group(1).upper() if table else ""
        where = f"{path.name}, sheet {name!r}"
        lowered = sheet_title.lower()
        period = period_from_title(sheet_title)
        header_at = find_header(rows, "community safety partnership code")
        if header_at is not None and period and (
            "number of police recorded crimes" in lowered or "rate per 1,000" in lowered
        ):
            observations += csp_table(rows, header_at, period,
                                      rates="rate per 1,000" in lowered, where=where)
            dataset = dataset or "csp"
            letters.add(letter)
            continue
        header_at = find_header(rows, "offence code", "offence category")
        if header_at is not None and re.match(r"table[ _]a\d+a?\b", lowered):
            found, offences = appendix_a4(rows, header_at)
            observations += found
            dataset = "appendix"
            letters.add(letter)
            continue
        if re.match(r"table[ _]a\d+\b", lowered) and "rates per 1,000" in lowered:
            observations += appendix_rates(rows)
            continue
        if not re.match(r"table p\d+", lowered):
            continue
        read = force_table(rows, where)
        if read is None:
            continue
        kind, found, found_notes = read
        table_id = re.match(r"table (p\d+)", lowered).group(1).upper()  # type: ignore[union-attr]
        table_offences[table_id] = tuple(sorted({o.offence for o in found}))
        note_texts += [NoteText((table_id,), n, t) for n, t in
                       footnotes_below(rows, find_header(rows, "area code") or 0).items()]
        markers += note_markers(rows, table_id)
        kinds.add(kind)
        letters.add(letter)
        observations += found
        notes += found_notes
        if kind == "counts":
            dataset = "pfa"
        if kind == "firearms" and found:
            offences.append(FIREARMS)
    if not any(o.count is not None or o.rate is not None for o in observations):
        return None
    observations = flag_partial_rates(observations)
    if not dataset:
        dataset = "pfa" if kinds else ""
    if not dataset:
        return None
    latest = max(o.period_end for o in observations)
    names = {"csp": "Recorded crime data by Community Safety Partnership area",
             "pfa": "Police force area data tables",
             "appendix": "Crime in England and Wales: Appendix tables"}
    if correction:
        when = published_from(_first_lines(correction))
        title += f" (corrected{', published ' + long_date(when) if when else ''})"
    edition = Edition(
        key=f"{dataset}-{latest}", title=title_for_period(title, latest), dataset=names[dataset],
        period_end=latest, published=published, file=path.name, sha256=sha256_of(path),
    )
    forces = {(o.force_code, o.force_name) for o in observations
              if o.force_code[:3] in {"E23", "W15"} and o.force_name}
    for sheet_name, rows in sheets.items():
        covers = set(re.findall(r"\b([A-Z])\d", sheet_name))
        if sheet_name.lower().startswith("notes") and (not covers or covers & letters):
            notes += sheet_notes(rows, forces, latest)
            note_texts += notes_sheet_texts(rows, covers)
    unique = list(dict.fromkeys(notes))
    return FileContents(edition, observations, offences=offences, notes=unique,
                        note_texts=note_texts, markers=markers, table_offences=table_offences)


def notes_sheet_texts(rows: list[list[object]], letters: set[str]) -> list[NoteText]:
    """Every numbered note of a Notes sheet, with the tables its section heading names ("Notes
    for tables P5 P6 P7"); before any heading, the sheet's own letters ("Notes - CSP" → C)."""
    tables: tuple[str, ...] = tuple(sorted(letters))
    out: list[NoteText] = []
    for row in rows:
        cells = [text(cell) for cell in row if text(cell)]
        if not cells:
            continue
        if cells[0].lower().startswith("notes for table"):
            tables = tuple(re.findall(r"\b([A-Z]\d+)\b", cells[0]))
        elif len(cells) >= 2 and re.fullmatch(r"\d+(\.0)?", cells[0]):
            raw = next(str(cell).strip() for cell in row if text(cell) == cells[1])
            out.append(NoteText(tables, int(float(cells[0])), raw))
    return out


def note_markers(rows: list[list[object]], table: str) -> list[NoteMarker]:
    """Rows whose area name points at notes: "[note 4]" or digits glued on ("North West5,6")."""
    header_at = find_header(rows, "area code")
    if header_at is None:
        return []
    out: list[NoteMarker] = []
    for row in rows[header_at + 1:]:
        if len(row) < 2 or re.match(r"^\d{1,2}\.", text(row[0])):
            continue
        raw = text(row[1])
        numbers = [int(n) for mark in _NOTE_MARK.findall(raw) for n in re.findall(r"\d+", mark)]
        name, digits = footnoted(row[1])
        out += [NoteMarker(table, n, text(row[0]), name) for n in [*numbers, *digits]]
    return out


def flag_partial_rates(observations: list[Observation]) -> list[Observation]:
    """A rate printed for a partial total is partial too (the rate table cannot tell)."""
    partial = {(o.code, o.period_end) for o in observations if o.flag == "partial"}
    return [replace(o, flag="partial") if o.rate is not None and (o.code, o.period_end) in partial
            else o for o in observations]


def long_date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day.day} {day.strftime('%B')} {day.year}"


def title_for_period(title: str, period_end: str) -> str:
    """The edition title with the period its tables cover.

    The September 2022 appendix cover says "year ending September 2023"; the table titles and
    the figures say 2022, so the title follows the tables.
    """
    stated = period_from_title(title)
    if stated is None or stated == period_end:
        return title
    day = date.fromisoformat(period_end)
    return re.sub(r"year ending\s+[A-Za-z]+\s+\d{4}",
                  f"year ending {day.strftime('%B')} {day.year}", title, count=1,
                  flags=re.IGNORECASE)


def sheet_notes(rows: list[list[object]], forces: set[tuple[str, str]],
                period: str) -> list[Note]:
    """Notes from a Notes sheet that qualify figures, scoped to the forces they name."""
    notes: list[Note] = []
    for row in rows:
        cells = [text(cell) for cell in row if text(cell)]
        if not cells:
            continue
        if len(cells) >= 2 and re.fullmatch(r"\d+(\.0)?", cells[0]):
            sentence = cells[1]
        elif cells[0].lower().startswith("note:"):
            sentence = cells[0][5:].strip()
        else:
            continue
        if not qualifies(sentence):
            continue
        start, end = note_periods(sentence, period)
        offence = offence_in(sentence)
        named = [(code, name) for code, name in sorted(forces)
                 if re.search(rf"\b{re.escape(name)}\b", sentence, re.IGNORECASE)]
        if not forces or re.search(r"\bnational\b", sentence, re.IGNORECASE):
            named.append(("K04000001", "England and Wales"))
        for code, name in named:
            note = Note(code, name, offence, start, end, sentence)
            if note not in notes:
                notes.append(note)
    return notes


def offence_in(sentence: str) -> str | None:
    """The catalogue offence a note names ("Leicestershire's burglary figures" → burglary)."""
    lowered = clean_label(sentence)
    if re.search(r"\bknife\b", lowered):
        return "knife"
    labels = sorted(((label, key) for label, key in _LABELS.items()), key=lambda p: -len(p[0]))
    for label, key in labels:
        if re.search(rf"\b{re.escape(label)}\b", lowered):
            return key
    return None


def _population(
    path: Path, rows: list[list[object]], title: str, published: str | None
) -> FileContents:
    header_at = find_header(rows, "code", "name", "geography")
    if header_at is None:
        raise UnreadableFile(f"{path.name}, sheet 'MYE4': no Code/Name/Geography header row")
    header = [text(cell) for cell in rows[header_at]]
    years = {i: int(m.group(1)) for i, cell in enumerate(header)
             if (m := re.match(r"Mid-(\d{4})", cell))}
    populations = [
        Population(text(row[0]), plain_name(row[1]), text(row[2]), year, people)
        for row in rows[header_at + 1:] if text(row[0])
        for column, year in years.items()
        if (people := count_of(row[column])) is not None
    ]
    latest = max(years.values())
    edition = Edition(
        key=f"population-mid-{latest}", title=title,
        dataset="Mid-year population estimates, England and Wales",
        period_end=f"{latest}-06-30", published=published, file=path.name,
        sha256=sha256_of(path),
    )
    return FileContents(edition, populations=populations)


def read_csv(path: Path) -> FileContents | None:
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("cp1252")
    rows = list(csv.reader(io.StringIO(content)))
    if not rows:
        return None
    first = [clean_label(cell) for cell in rows[0]]
    if any(re.fullmatch(r"lad\d\dcd", c) for c in first) and any(
        re.fullmatch(r"csp\d\dcd", c) for c in first
    ):
        return _lookup(path, rows)
    if first[:2] == ["12 months ending", "pfa"] and "offence" in first:
        return _long_series(path, rows)
    title = text(rows[0][0])
    period = period_from_title(title)
    header_at = find_header(rows, "community safety partnership code")
    if header_at is None or not period or "number of police recorded crimes" not in title.lower():
        return None
    observations = csp_table(rows, header_at, period, rates=False, where=path.name)
    table = re.match(r"(Table \w+)", title)
    edition = Edition(
        key=f"pfa-{period}-{slug(table.group(1)) if table else 'csv'}",
        title=title, dataset="Police force area data tables", period_end=period,
        published=None, file=path.name, sha256=sha256_of(path),
    )
    return FileContents(edition, observations)


def _lookup(path: Path, rows: list[list[str]]) -> FileContents:
    header = [clean_label(cell) for cell in rows[0]]
    year = int(re.fullmatch(r"lad(\d\d)cd", header[0]).group(1)) + 2000  # type: ignore[union-attr]
    at = {name[:3]: i for i, name in enumerate(header) if name.endswith("cd")}
    names = {name[:3]: i for i, name in enumerate(header) if name.endswith("nm")}
    lookups = [
        LookupRow(year, text(r[at["lad"]]), text(r[names["lad"]]), text(r[at["csp"]]),
                  text(r[names["csp"]]), text(r[at["pfa"]]), text(r[names["pfa"]]))
        for r in rows[1:] if len(r) >= len(header) and text(r[at["lad"]])
    ]
    edition = Edition(
        key=f"lookup-{year}",
        title=f"Local Authority District to CSP to Police Force Area lookup ({year})",
        dataset="ONS Open Geography lookup", period_end=f"{year}-12-31", published=None,
        file=path.name, sha256=sha256_of(path),
    )
    return FileContents(edition, lookups=lookups)


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


def _long_series(path: Path, rows: list[list[str]]) -> FileContents:
    header = [clean_label(cell) for cell in rows[0]]
    when, force, offence, total = (header.index(name) for name in (
        "12 months ending", "pfa", "offence", "rolling year total number of offences"))
    counts: dict[tuple[str, str, str], int | None] = {}
    unknown: set[str] = set()
    keys: dict[str, str] = {}
    names: dict[str, str] = {}
    for row in rows[1:]:
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
        counts[name, key, month_end(year, month).isoformat()] = count_of(row[total])
    skip = placeholders(counts)
    derived = derived_totals(counts)
    observations = [
        Observation(level="pfa", code="", name=name, force_code="", force_name=name,
                    la_code="", la_name="", offence=key, period_end=period, count=value)
        for (name, key, period), value in counts.items() if (name, key, period) not in skip
    ] + [
        Observation(level="pfa", code="", name=name, force_code="", force_name=name,
                    la_code="", la_name="", offence=key, period_end=period, count=value,
                    flag="derived")
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
