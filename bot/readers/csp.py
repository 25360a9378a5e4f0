"""Community Safety Partnership tables (counts and rates), in workbooks and as CSV."""

from __future__ import annotations

import re
from pathlib import Path

from bot.readers.common import (
    Edition,
    FileContents,
    Grid,
    Observation,
    Reader,
    UnreadableFile,
    a1,
    clean_label,
    count_of,
    find_header,
    number,
    offence_columns,
    period_from_title,
    plain_name,
    printed_label,
    rate_columns,
    sha256_of,
    slug,
    text,
)


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
    printed = {index: printed_label(rows, header_at, index) for index in columns}
    for at, row in enumerate(rows[header_at + 1:], start=header_at + 1):
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
                cell=a1(at, index), row_label=text(row[3]) or text(row[1]),
                column_label=printed[index],
            ))
    return out




def recognises_csv(sheets: Grid) -> bool:
    rows = sheets.get("", [])
    title = text(rows[0][0]) if rows and rows[0] else ""
    return (period_from_title(title) is not None
            and "number of police recorded crimes" in title.lower()
            and find_header(rows, "community safety partnership code") is not None)


def read_csv_table(path: Path, sheets: Grid) -> FileContents:
    """One CSP counts table saved as CSV (the force tables' Table C2 on its own)."""
    rows = sheets[""]
    title = text(rows[0][0])
    period = period_from_title(title)
    header_at = find_header(rows, "community safety partnership code")
    assert period is not None and header_at is not None  # what `recognises_csv` checked
    observations = csp_table(rows, header_at, period, rates=False, where=path.name)
    table = re.match(r"(Table \w+)", title)
    edition = Edition(
        key=f"pfa-{period}-{slug(table.group(1)) if table else 'csv'}",
        title=title, dataset="Police force area data tables", period_end=period,
        published=None, file=path.name, sha256=sha256_of(path),
    )
    return FileContents(edition, observations)


CSV_READER = Reader("a 'Number of police recorded crimes' table title with "
                    "a Community Safety Partnership code header", ("csv",), recognises_csv,
                    read_csv_table)
