"""Readers that turn one ONS or Home Office file into plain records.

One module per ONS layout, each with a `Reader` saying what it looks for; `READERS` is the one
list `read_file` walks, first match wins. Each reader recognises its file by content (sheet
titles, header cells), never by file name, so next quarter's edition with a new name still
loads. Readers know nothing of SQLite and nothing of the other files: reconciling codes across
editions is `ingest`'s job.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from bot.readers import csp, lookup, population, series, workbook
from bot.readers.common import FileContents, Grid, Reader, UnreadableFile

READERS: tuple[Reader, ...] = (lookup.READER, series.READER, csp.CSV_READER, population.READER,
                               workbook.READER)
FORMATS = {".xlsx": "workbook", ".xlsm": "workbook", ".xls": "workbook", ".ods": "workbook",
           ".csv": "csv", ".txt": "csv"}

# Sheets a reader may use; the rest (survey worksheets, single-year-of-age population) are
# large and never read, so they are not even decoded. Which table a sheet holds is still
# decided by its content.
SHEETS_READ = ("table", "cover", "notes", "correction", "mye4")


def read_file(path: Path) -> FileContents | None:
    """Read one source file; None when no reader recognises it (the caller reports and skips)."""
    loaded = load(path)
    if loaded is None:
        return None
    form, grid = loaded
    for reader in READERS:
        if form in reader.formats and reader.recognises(grid):
            return reader.read(path, grid)
    return None


def load(path: Path) -> tuple[str, Grid] | None:
    """A file's format ("workbook" or "csv") and its cells by sheet; None for other files."""
    form = FORMATS.get(path.suffix.lower())
    if form is None:
        return None
    return form, dict(_sheets(path)) if form == "workbook" else _csv(path)


def why_unread(path: Path) -> str:
    """What the readers looked for in a file none of them recognised, for the build summary."""
    form = FORMATS.get(path.suffix.lower())
    if form is None:
        return "not a workbook (.xlsx/.xls/.ods) or a .csv"
    looked = [reader.looks_for for reader in READERS if form in reader.formats]
    return f"looked for {', or '.join(looked)}; found none"


def _csv(path: Path) -> Grid:
    raw = path.read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("cp1252")
    rows: list[list[object]] = list(csv.reader(io.StringIO(content)))
    return {"": rows} if rows else {}


def _sheets(path: Path) -> Iterator[tuple[str, list[list[object]]]]:
    from python_calamine import CalamineWorkbook

    try:
        book = CalamineWorkbook.from_path(str(path))
    except Exception as error:  # calamine raises its own types for every kind of damage
        raise UnreadableFile(f"{path.name}: not a readable workbook ({error})") from error
    for name in book.sheet_names:
        if not name.strip().lower().startswith(SHEETS_READ) and "notes" not in name.lower():
            continue
        try:
            yield name, book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        except Exception as error:
            raise UnreadableFile(f"{path.name}, sheet {name!r}: {error}") from error
