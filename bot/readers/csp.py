"""Community Safety Partnership tables (counts and rates), in workbooks and as CSV.
"""

from __future__ import annotations

import re

from bot.readers.common import (
    Observation,
    UnreadableFile,
    a1,
    clean_label,
    count_of,
    number,
    offence_columns,
    plain_name,
    printed_label,
    rate_columns,
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


