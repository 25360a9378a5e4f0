"""ONS mid-year population estimates (sheet MYE4).
"""

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
    count_of,
    find_header,
    front_matter,
    plain_name,
    sha256_of,
    text,
)


def recognises(sheets: Grid) -> bool:
    return any(name.strip() == "MYE4" for name in sheets)


def read_population(path: Path, sheets: Grid) -> FileContents:
    rows = next(rows for name, rows in sheets.items() if name.strip() == "MYE4")
    title, published = front_matter(path, sheets)
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




READER = Reader("population estimates", "a 'MYE4' sheet (population estimates)", ("workbook",),
                recognises, read_population)
