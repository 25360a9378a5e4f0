"""Readers that turn one ONS or Home Office file into plain records.

Each reader recognises its file by content (sheet titles, header cells), never by file name, so
next quarter's edition with a new name still loads. Readers know nothing of SQLite and nothing of
the other files: reconciling codes across editions is `ingest`'s job.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.offences import clean_label, key_for_label
from bot.periods import month_end

MISSING = {"", "..", "[x]", "[z]", "[u]", "[u1]", "[c]", "x", ":", "-", "[ z ]", "n/a"}

MONTHS = {
    m: i
    for i, m in enumerate(
        ["january", "february", "march", "april", "may", "june", "july", "august",
         "september", "october", "november", "december"], start=1)
}
_MONTH_ABBR = {name[:3]: number for name, number in MONTHS.items()}


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


@dataclass(frozen=True)
class Observation:
    """One published number, with the area exactly as the table printed it."""

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
    if value is None or isinstance(value, bool):
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


def text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return re.sub(r"\s+", " ", str(value)).strip()


def plain_name(value: object) -> str:
    """An area name without note markers or stray spaces ("Leicestershire [note 4] ")."""
    return re.sub(r"\s+", " ", re.sub(r"\[\s*note[^\]]*\]", " ", text(value), flags=re.I)).strip()


def period_from_title(title: str) -> str | None:
    """"... year ending December 2022 [note 1]" → "2022-12-31" (the last day of the 12 months)."""
    match = re.search(r"year ending\s+([A-Za-z]+)\s+(\d{4})", title, re.IGNORECASE)
    if not match or match.group(1).lower() not in MONTHS:
        return None
    return month_end(int(match.group(2)), MONTHS[match.group(1).lower()]).isoformat()


def period_from_span(header: str) -> str | None:
    """"Apr 2021 to \\n Mar 2022" → "2022-03-31"; "Jan 2024 to Dec 2024" likewise."""
    match = re.search(r"to\s+([A-Za-z]{3})[a-z]*\s+(\d{4})", header)
    if not match or match.group(1).lower() not in _MONTH_ABBR:
        return None
    return month_end(int(match.group(2)), _MONTH_ABBR[match.group(1).lower()]).isoformat()


def published_from(lines: Iterable[str]) -> str | None:
    """The publication date a cover sheet states ("published on 27 April 2023"), as ISO."""
    for line in lines:
        match = re.search(r"published (?:on |at [^0-9]*?)?(\d{1,2}) ([A-Za-z]+) (\d{4})", line)
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


def area_table(
    rows: list[list[object]], header_at: int, period_end: str, columns: dict[int, str]
) -> list[Observation]:
    """Observations from a table keyed by "Area Code, Area Name" (force tables P1, P5)."""
    out: list[Observation] = []
    for row in rows[header_at + 1:]:
        code, name = text(row[0]), plain_name(row[1]) if len(row) > 1 else ""
        if not name:
            continue
        for index, key in columns.items():
            out.append(Observation(
                level="table", code=code, name=name, force_code=code, force_name=name,
                la_code="", la_name="", offence=key, period_end=period_end,
                count=count_of(row[index] if index < len(row) else None),
            ))
    return out


def knife_table(rows: list[list[object]], header_at: int) -> list[Observation]:
    """Knife crime by force: either one period (P5, named in the subtitle) or a series (P6)."""
    header = rows[header_at]
    spans = {i: p for i, cell in enumerate(header)
             if "%" not in text(cell) and (p := period_from_span(text(cell)))}
    if spans:
        out: list[Observation] = []
        for column, period_end in spans.items():
            out += area_table(rows, header_at, period_end, {column: "knife"})
        return out
    subtitle = text(rows[1][0]) if len(rows) > 1 else ""
    period = period_from_title(subtitle) or period_from_title(text(rows[0][0]))
    if not period or not clean_label(header[2]).startswith("total of selected serious"):
        return []
    return area_table(rows, header_at, period, {2: "knife"})


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


# --- whole files --------------------------------------------------------------------------


def read_file(path: Path) -> FileContents | None:
    """Read one source file; None when no reader recognises it (the caller reports and skips)."""
    suffix = path.suffix.lower()
    if suffix in {".xlsx", ".xlsm", ".xls", ".ods"}:
        return read_workbook(path)
    if suffix in {".csv", ".txt"}:
        return read_csv(path)
    return None


def _sheets(path: Path) -> Iterator[tuple[str, list[list[object]]]]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own types for every kind of damage
        raise UnreadableFile(f"{path.name}: not a readable workbook ({error})") from error
    for name in workbook.sheet_names:
        try:
            yield name, workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as error:
            raise UnreadableFile(f"{path.name}, sheet {name!r}: {error}") from error


def read_workbook(path: Path) -> FileContents | None:
    sheets = dict(_sheets(path))
    cover = next((rows for name, rows in sheets.items() if name.lower().startswith("cover")), [])
    cover_lines = [text(cell) for row in cover for cell in row if text(cell)]
    title = cover_lines[0] if cover_lines else path.stem
    published = published_from(cover_lines)
    if "MYE4" in sheets:
        return _population(path, sheets["MYE4"], title, published)
    observations: list[Observation] = []
    offences: list[ExtraOffence] = []
    dataset = ""
    for name, rows in sheets.items():
        if not rows or not rows[0]:
            continue
        sheet_title = text(rows[0][0])
        where = f"{path.name}, sheet {name.strip()!r}"
        lowered = sheet_title.lower()
        period = period_from_title(sheet_title)
        header_at = find_header(rows, "community safety partnership code")
        if header_at is not None and period and (
            "number of police recorded crimes" in lowered or "rate per 1,000" in lowered
        ):
            observations += csp_table(rows, header_at, period,
                                      rates="rate per 1,000" in lowered, where=where)
            dataset = dataset or "csp"
            continue
        header_at = find_header(rows, "offence code", "offence category")
        if header_at is not None and lowered.startswith("table a4"):
            found, offences = appendix_a4(rows, header_at)
            observations += found
            dataset = "appendix"
            continue
        header_at = find_header(rows, "area code", "area name")
        if header_at is None:
            continue
        if "number of offences" in lowered and "offence group" in lowered and period:
            observations += area_table(rows, header_at, period, offence_columns(rows[header_at]))
            dataset = "pfa"
        elif "knife and sharp instrument" in lowered and "number of" in lowered:
            observations += knife_table(rows, header_at)
    if not observations:
        return None
    latest = max(o.period_end for o in observations)
    names = {"csp": "Recorded crime data by Community Safety Partnership area",
             "pfa": "Police force area data tables",
             "appendix": "Crime in England and Wales: Appendix tables"}
    edition = Edition(
        key=f"{dataset}-{latest}", title=title, dataset=names[dataset], period_end=latest,
        published=published, file=path.name, sha256=sha256_of(path),
    )
    return FileContents(edition, observations, offences=offences)


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


def _long_series(path: Path, rows: list[list[str]]) -> FileContents:
    header = [clean_label(cell) for cell in rows[0]]
    when, force, offence, total = (header.index(name) for name in (
        "12 months ending", "pfa", "offence", "rolling year total number of offences"))
    observations = []
    unknown: set[str] = set()
    for row in rows[1:]:
        if len(row) <= total:
            continue
        _, month, year = (int(part) for part in row[when].strip().split("-"))
        key = key_for_label(row[offence])
        if key is None:
            unknown.add(row[offence].strip())
            key = slug(row[offence])
        name = plain_name(row[force])
        observations.append(Observation(
            level="pfa", code="", name=name, force_code="", force_name=name, la_code="",
            la_name="", offence=key, period_end=month_end(year, month).isoformat(),
            count=count_of(row[total]),
        ))
    latest = max(o.period_end for o in observations)
    edition = Edition(
        key=f"pfa-series-{latest}", title="Recorded crime data at Police Force Area level",
        dataset="Recorded crime data at Police Force Area level (rolling 12-month totals)",
        period_end=latest, published=None, file=path.name, sha256=sha256_of(path),
    )
    extra = [ExtraOffence(slug(label), label, None, None) for label in sorted(unknown)]
    return FileContents(edition, observations, offences=extra)
