"""The ONS notes that qualify figures: numbered footnotes under a table and Notes sheets."""

from __future__ import annotations

import re

from bot.periods import month_end
from bot.places import ENGLAND_AND_WALES, NATIONAL_NAME
from bot.readers.common import (
    _LABELS,
    MONTHS,
    Note,
    NoteMarker,
    NoteText,
    clean_label,
    find_header,
    footnoted,
    text,
)
from bot.style import NOTE_MARK


def footnotes_below(rows: list[list[object]], header_at: int) -> dict[int, str]:
    """The numbered footnotes printed under an older table ("8. Following the …")."""
    found: dict[int, str] = {}
    for row in rows[header_at + 1:]:
        match = re.match(r"^(\d{1,2})\.\s+(.+)", text(row[0]) if row else "")
        if match:
            found[int(match.group(1))] = match.group(2)
    return found



def table_notes(rows: list[list[object]], header_at: int, columns: dict[int, str],
                period: str) -> list[Note]:
    """Footnotes that qualify figures, scoped by the rows and columns that carry their number."""
    footnotes = {n: t for n, t in footnotes_below(rows, header_at).items() if qualifies(t)}
    if not footnotes:
        return []
    header = rows[header_at]
    by_column = {n: key for i, key in columns.items() if i < len(header)
                 for n in footnoted(header[i])[1]}
    notes: list[Note] = []
    for row in rows[header_at + 1:]:
        if len(row) < 2 or not text(row[0]) or re.match(r"^\d{1,2}\.", text(row[0])):
            continue
        name, digits = footnoted(row[1])
        for digit in digits:
            if digit in footnotes:
                start, end = note_periods(footnotes[digit], period)
                notes.append(Note(text(row[0]), name, by_column.get(digit), start, end,
                                  footnotes[digit]))
    return notes


_QUALIFIES = re.compile(
    r"unable to supply|could not supply|not able to supply|undercount|under-count|"
    r"inadvertently|technical issue|not included in the national|were not included", re.I)


def qualifies(note: str) -> bool:
    """True for a note that changes what a figure means (missing data, undercount, error)."""
    return bool(_QUALIFIES.search(note))


_MONTH_RANGE = re.compile(
    r"(january|february|march|april|may|june|july|august|september|october|november|december)"
    r"(?:\s+(\d{4}))?\s+(?:to|-|–)\s+"
    r"(january|february|march|april|may|june|july|august|september|october|november|december)"
    r"\s+(\d{4})", re.I)


def note_periods(note: str, edition_period: str) -> tuple[str, str]:
    """The 12-month period ends a note touches: months missing from a to b affect every year
    ending a … b + 11 months; a note naming no months is about its edition's period."""
    match = _MONTH_RANGE.search(note)
    if not match:
        return edition_period, edition_period
    end_year = int(match.group(4))
    end_month = MONTHS[match.group(3).lower()]
    start_month = MONTHS[match.group(1).lower()]
    start_year = int(match.group(2)) if match.group(2) else (
        end_year if start_month <= end_month else end_year - 1)
    last = end_month + 11
    return (month_end(start_year, start_month).isoformat(),
            month_end(end_year + (last - 1) // 12, (last - 1) % 12 + 1).isoformat())



def sheet_notes(rows: list[list[object]], forces: set[tuple[str, str]],
                period: str) -> list[Note]:
    """Notes from a Notes sheet that qualify figures, scoped to the forces they name."""
    notes: list[Note] = []
    for row in rows:
        cells = [text(cell) for cell in row if text(cell)]
        if not cells:
            continue
        if len(cells) >= 2 and re.fullmatch(r"\d+(\.0)?", cells[0]):
            sentence = cells[1]
        elif cells[0].lower().startswith("note:"):
            sentence = cells[0][5:].strip()
        else:
            continue
        if not qualifies(sentence):
            continue
        start, end = note_periods(sentence, period)
        offence = offence_in(sentence)
        named = [(code, name) for code, name in sorted(forces)
                 if re.search(rf"\b{re.escape(name)}\b", sentence, re.IGNORECASE)]
        if not forces or re.search(r"\bnational\b", sentence, re.IGNORECASE):
            named.append((ENGLAND_AND_WALES, NATIONAL_NAME))
        for code, name in named:
            note = Note(code, name, offence, start, end, sentence)
            if note not in notes:
                notes.append(note)
    return notes


def offence_in(sentence: str) -> str | None:
    """The catalogue offence a note names ("Leicestershire's burglary figures" → burglary)."""
    lowered = clean_label(sentence)
    if re.search(r"\bknife\b", lowered):
        return "knife"
    labels = sorted(((label, key) for label, key in _LABELS.items()), key=lambda p: -len(p[0]))
    for label, key in labels:
        if re.search(rf"\b{re.escape(label)}\b", lowered):
            return key
    return None




def notes_sheet_texts(rows: list[list[object]], letters: set[str]) -> list[NoteText]:
    """Every numbered note of a Notes sheet, with the tables its section heading names ("Notes
    for tables P5 P6 P7"); before any heading, the sheet's own letters ("Notes - CSP" → C)."""
    tables: tuple[str, ...] = tuple(sorted(letters))
    out: list[NoteText] = []
    for row in rows:
        cells = [text(cell) for cell in row if text(cell)]
        if not cells:
            continue
        if cells[0].lower().startswith("notes for table"):
            tables = tuple(re.findall(r"\b([A-Z]\d+)\b", cells[0]))
        elif len(cells) >= 2 and re.fullmatch(r"\d+(\.0)?", cells[0]):
            raw = next(str(cell).strip() for cell in row if text(cell) == cells[1])
            out.append(NoteText(tables, int(float(cells[0])), raw))
    return out


def note_markers(rows: list[list[object]], table: str) -> list[NoteMarker]:
    """Rows whose area name points at notes: "[note 4]" or digits glued on ("North West5,6")."""
    header_at = find_header(rows, "area code")
    if header_at is None:
        return []
    out: list[NoteMarker] = []
    for row in rows[header_at + 1:]:
        if len(row) < 2 or re.match(r"^\d{1,2}\.", text(row[0])):
            continue
        raw = text(row[1])
        numbers = [int(n) for mark in NOTE_MARK.findall(raw) for n in re.findall(r"\d+", mark)]
        name, digits = footnoted(row[1])
        out += [NoteMarker(table, n, text(row[0]), name) for n in [*numbers, *digits]]
    return out
