"""ONS Open Geography lookups: local authority → CSP → police force area."""

from __future__ import annotations

import re
from pathlib import Path

from bot.readers.common import (
    Edition,
    FileContents,
    Grid,
    LookupRow,
    Reader,
    clean_label,
    sha256_of,
    text,
)


def recognises(sheets: Grid) -> bool:
    first = [clean_label(cell) for cell in sheets.get("", [[]])[0]]
    return (any(re.fullmatch(r"lad\d\dcd", c) for c in first)
            and any(re.fullmatch(r"csp\d\dcd", c) for c in first))


def read_lookup(path: Path, sheets: Grid) -> FileContents:
    rows = sheets[""]
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




READER = Reader("LADyyCD/CSPyyCD columns (a lookup)", ("csv",), recognises,
                read_lookup)
