"""Records every reader returns, and the cell-reading helpers they share.

Readers know nothing of SQLite and nothing of the other files: reconciling codes across
editions is `ingest`'s job.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.offences import CATALOGUE, key_for_label
from bot.offences import clean_label as _clean_label
from bot.periods import month_end
from bot.style import without_notes

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
    # Where it was printed, so a reporter can open the file and find it: the sheet (empty for a
    # CSV), the cell in A1 notation, the row and column labels as printed, and for a total the
    # reader added up itself, the cells it sums.
    sheet: str = ""
    cell: str = ""
    row_label: str = ""
    column_label: str = ""
    cells: tuple[str, ...] = ()


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
    sheet: str = ""  # where the estimate is printed, for a rate crimebot works out from it
    cell: str = ""


@dataclass(frozen=True)
class ExtraOffence:
    """An offence row of the appendix tables that the catalogue does not name (e.g. code 19C)."""

    key: str
    label: str
    parent: str | None
    ons_code: str | None


# A file as rows of cells by sheet name, as the file names its sheets; a CSV is one sheet "".
Grid = dict[str, list[list[object]]]


@dataclass(frozen=True)
class Reader:
    """One ONS layout: what it looks for (said in the build summary when nothing matched), how
    to tell a file holds it by content, never by name, and how to read it."""

    looks_for: str
    formats: tuple[str, ...]  # "workbook", "csv"
    recognises: Callable[[Grid], bool]
    read: Callable[[Path, Grid], FileContents | None]


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


@functools.cache  # the same cells recur in every sheet of a layout
def a1(row: int, column: int) -> str:
    """A cell's spreadsheet name from 0-based indexes: (22, 5) → "F23", (0, 26) → "AA1"."""
    letters = ""
    column += 1
    while column:
        column, rest = divmod(column - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return f"{letters}{row + 1}"


def printed_label(rows: list[list[object]], header_at: int, column: int) -> str:
    """A column's heading as printed: the header cell, or the cell above it when the header is
    empty or only says "Number" under a period (the 2018–2019 force tables)."""
    header = text(rows[header_at][column]) if column < len(rows[header_at]) else ""
    above_row = rows[header_at - 1] if header_at else []
    above = text(above_row[column]) if column < len(above_row) else ""
    if not header:
        return above
    if above and header.lower() in {"number", "number of offences"}:
        return f"{above} ({header})"
    return header


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
    return without_notes(string)


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


def _first_lines(rows: list[list[object]]) -> list[str]:
    return [text(cell) for row in rows for cell in row if text(cell)]



def front_matter(path: Path, sheets: Grid) -> tuple[str, str | None]:
    """A workbook's title (first line of its cover, else its Notes sheet) and publication date
    (a Correction sheet's, else the cover's)."""
    by_name = {name.strip().lower(): name for name in sheets}
    front = next((by_name[n] for n in by_name if n.startswith("cover")), by_name.get("notes"))
    front_lines = _first_lines(sheets.get(front, []) if front else [])
    correction = _first_lines(sheets.get(by_name.get("correction", ""), []))
    title = front_lines[0] if front_lines else path.stem
    return title, published_from(correction) or published_from(front_lines)


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


