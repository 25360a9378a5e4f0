"""Workbooks of crime tables (force, CSP and appendix tables): each sheet is read by the table
reader its title and header call for, and the workbook is one edition.
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.readers.appendix import appendix_a4, appendix_rates
from bot.readers.common import (
    Edition,
    ExtraOffence,
    FileContents,
    Grid,
    Note,
    NoteMarker,
    NoteText,
    Observation,
    Reader,
    _first_lines,
    find_header,
    front_matter,
    long_date,
    period_from_title,
    published_from,
    sha256_of,
    text,
    title_for_period,
)
from bot.readers.csp import csp_table
from bot.readers.force import FIREARMS, flag_partial_rates, force_table
from bot.readers.notes import footnotes_below, note_markers, notes_sheet_texts, sheet_notes


def on_sheet(sheet: str, found: list[Observation]) -> list[Observation]:
    """The sheet a table's observations were read from; the table readers see only its rows."""
    for observation in found:
        observation.sheet = sheet
    return found


def recognises(sheets: Grid) -> bool:
    """Any "Table …" sheet: which tables it holds, if any, is decided sheet by sheet."""
    return any(name.strip().lower().startswith("table") for name in sheets)


def read_workbook(path: Path, named: Grid) -> FileContents | None:
    sheets = {name.strip(): rows for name, rows in named.items()}
    as_named = {name.strip(): name for name in named}  # cited as the workbook names it
    correction = sheets.get("Correction", [])
    title, published = front_matter(path, named)
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
            observations += on_sheet(as_named[name], csp_table(rows, header_at, period,
                                                     rates="rate per 1,000" in lowered,
                                                     where=where))
            dataset = dataset or "csp"
            letters.add(letter)
            continue
        header_at = find_header(rows, "offence code", "offence category")
        if header_at is not None and re.match(r"table[ _]a\d+a?\b", lowered):
            found, offences = appendix_a4(rows, header_at)
            observations += on_sheet(as_named[name], found)
            dataset = "appendix"
            letters.add(letter)
            continue
        if re.match(r"table[ _]a\d+\b", lowered) and "rates per 1,000" in lowered:
            observations += on_sheet(as_named[name], appendix_rates(rows))
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
        observations += on_sheet(as_named[name], found)
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




READER = Reader(
    "sheets titled 'Table P…' with an Area Code/Area Name header (force "
    "tables), 'Table A4'/'Table_A5a' with Offence code/Offence category (appendix tables) or a "
    "Community Safety Partnership code header (CSP tables)", ("workbook",), recognises,
    read_workbook)
