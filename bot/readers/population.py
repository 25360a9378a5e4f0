"""ONS mid-year population estimates (sheet MYE4)."""

from __future__ import annotations

import re
from pathlib import Path

from bot.readers.common import (
    Edition,
    FileContents,
    Grid,
    Population,
    Reader,
    UnreadableFile,
    a1,
    count_of,
    find_header,
    front_matter,
    plain_name,
    sha256_of,
    text,
)


def recognises(sheets: Grid) -> bool:
    return any(name.strip() == "MYE4" for name in sheets)


def estimates(rows: list[list[object]], header_at: int, sheet: str) -> list[Population]:
    """The wide MYE4 table (one column per mid-year) as one estimate per area and year.

    pandas' melt is the wide-to-long step; pandas is imported here, when a population file is
    read, so nothing that answers questions ever loads it.
    """
    import pandas as pd

    header = [text(cell) for cell in rows[header_at]]
    years = {label: int(label[4:8]) for label in header if re.match(r"Mid-\d{4}", label)}
    column = {label: header.index(label) for label in years}
    frame = pd.DataFrame([row[:len(header)] for row in rows[header_at + 1:]], columns=header)
    frame["row"] = frame.index + header_at + 1  # the sheet row, for the cell an estimate is in
    code, name, geography = header[:3]
    frame = frame[frame[code].map(text) != ""]
    long = frame[[code, name, geography, "row", *years]].melt(
        id_vars=[code, name, geography, "row"], var_name="year", value_name="people")
    long["people"] = long["people"].map(count_of)
    return [Population(text(c), plain_name(n), text(g), years[y], int(people), sheet,
                       a1(row, column[y]))
            for c, n, g, row, y, people in long.dropna(subset=["people"]).itertuples(index=False)]


def read_population(path: Path, sheets: Grid) -> FileContents:
    sheet, rows = next((name, rows) for name, rows in sheets.items() if name.strip() == "MYE4")
    title, published = front_matter(path, sheets)
    header_at = find_header(rows, "code", "name", "geography")
    if header_at is None:
        raise UnreadableFile(f"{path.name}, sheet 'MYE4': no Code/Name/Geography header row")
    populations = estimates(rows, header_at, sheet)
    latest = max(p.year for p in populations)
    edition = Edition(
        key=f"population-mid-{latest}", title=title,
        dataset="Mid-year population estimates, England and Wales",
        period_end=f"{latest}-06-30", published=published, file=path.name,
        sha256=sha256_of(path),
    )
    return FileContents(edition, populations=populations)




READER = Reader("a 'MYE4' sheet (population estimates)", ("workbook",),
                recognises, read_population)
