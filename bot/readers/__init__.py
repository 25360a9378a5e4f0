"""Readers that turn one ONS or Home Office file into plain records.

Each reader recognises its file by content (sheet titles, header cells), never by file name, so
next quarter's edition with a new name still loads. Readers know nothing of SQLite and nothing of
the other files: reconciling codes across editions is `ingest`'s job.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

from bot.readers.common import (
    Edition,
    FileContents,
    clean_label,
    find_header,
    period_from_title,
    sha256_of,
    slug,
    text,
)
from bot.readers.csp import csp_table
from bot.readers.lookup import read_lookup
from bot.readers.series import read_series
from bot.readers.workbook import read_workbook


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
        return read_lookup(path, rows)
    if first[:2] == ["12 months ending", "pfa"] and "offence" in first:
        return read_series(path, rows)
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


