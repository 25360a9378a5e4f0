"""ONS's notes → what they do to the figures: breaks, exclusions, undercounts, method changes.

The readers hand over every numbered note as printed (`NoteText`) and the table rows that point
at one (`NoteMarker`); this module reads what each note *says* and scopes it: to the areas it
names (force names matched against the store's areas, else the rows marked with it), to the
offences of the tables it is written for, and to the period it starts. Nothing here lists forces
or dates by hand, so next quarter's notes are read the same way.

Kinds a note can be:
- "break": the series is not comparable either side of a date ("not directly comparable with
  previous years", "previous data have not been revised", "data for recent years are not
  comparable prior to the year ending March 2018").
- "method": a new method replaced the series and earlier editions' figures were amended
  (knife crime under NDQIS): figures only an older edition holds are old-method figures.
- "exclusion": a force's figures are missing from the totals ("unable to supply … not
  included in the National and Regional totals").
- "undercount": ONS says a figure is wrong and will be fixed ("undercount", "technical issue").
- "revision": figures were corrected; nothing to obey.
- "": anything else (definitions, sources, rounding).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.periods import MONTH_NAMES, month_end
from bot.periods import label as period_label

if TYPE_CHECKING:  # the readers' records; the answer path (facts) never loads the readers
    from bot.readers.common import NoteMarker, NoteText
    from bot.store import Store

MONTHS = {name.lower(): number for number, name in enumerate(MONTH_NAMES, start=1)}

_EXCLUSION = re.compile(r"unable to supply|could not supply|not able to supply|"
                        r"not included in the national|were not included", re.I)
_BREAK = re.compile(r"not (?:directly )?comparable(?! (?:to|with) data for other)|"
                    r"ha(?:ve|s) not been revised|been revised, but", re.I)
_METHOD = re.compile(r"new methodology", re.I)
_AMENDED = re.compile(r"\b(?:amended|revised)\b", re.I)
_REVISION = re.compile(r"ha(?:ve|s)(?: now)? been (?:revised|amended|corrected)|"
                       r"inadvertently", re.I)
_UNDERCOUNT = re.compile(r"undercount|under-count|technical issue|\berrors?\b", re.I)
_STILL_TO_FIX = re.compile(r"will be (?:fixed|rectified|corrected)", re.I)
# A note about a sub-category the table does not hold on its own ("the category of assault
# with injury … is not directly comparable") does not break the table's total.
_SUBCATEGORY = re.compile(r"\bthe category of\b", re.I)

_MONTH = r"(january|february|march|april|may|june|july|august|september|october|november|" \
         r"december)"
_STARTS = (
    (re.compile(rf"prior to the year ending {_MONTH} (\d{{4}})", re.I), 0),
    (re.compile(rf"\bfrom {_MONTH} (\d{{4}})", re.I), 0),
    (re.compile(rf"\byears? (?:to|ending) {_MONTH} (\d{{4}})", re.I), 0),
    (re.compile(rf"\bin {_MONTH} (\d{{4}})", re.I), 1),
)


def kind_of(text: str) -> str:
    """What a note does to the figures it qualifies (see the module docstring)."""
    if _EXCLUSION.search(text):
        return "exclusion"
    if _METHOD.search(text) and _AMENDED.search(text):
        return "method"
    if _BREAK.search(text):
        return "break"
    if _UNDERCOUNT.search(text) and (_STILL_TO_FIX.search(text) or not _REVISION.search(text)):
        return "undercount"
    if _REVISION.search(text):
        return "revision"
    return ""


def starts_of(text: str) -> str | None:
    """The period end of the first 12-month period a break touches, from the note's wording:
    "prior to the year ending March 2018" → that year; "from April 2024" → the year to April
    2024 (the first with a month on the new basis); "reviewed … in December 2017" → the month
    after the review."""
    for pattern, months_after in _STARTS:
        match = pattern.search(text)
        if match:
            year, month = int(match.group(2)), MONTHS[match.group(1).lower()] + months_after
            if month > 12:
                year, month = year + 1, month - 12
            return month_end(year, month).isoformat()
    return None


def names_in(text: str, places: dict[str, str]) -> list[str]:
    """Codes of the places (name → code) a note names, longest names first so "Greater
    Manchester" is not also read as "Manchester"."""
    found: list[str] = []
    rest = text
    for name in sorted(places, key=len, reverse=True):
        pattern = re.compile(rf"\b{re.escape(name)}\b", re.I)
        if pattern.search(rest):
            found.append(places[name])
            rest = pattern.sub(" ", rest)
    return found


_WHY = re.compile(r"review|audit|revis|methodolog|comparable|recording", re.I)


def first_sentence(text: str) -> str:
    """One short clause of why, from the note itself: its first sentence that says what
    changed (a review, an audit, a revision, a new method), else its first sentence."""
    sentences = [s.strip().rstrip(".") for s in re.split(r"(?<=[a-z0-9)])\.\s", text.strip())]
    sentence = next((s for s in sentences if _WHY.search(s)), sentences[0])
    return _SPACES.sub(" ", sentence.replace("; ", ": "))


_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class BreakRow:
    """A comparability break as stored (see `bot.store.Break`)."""

    area: str | None
    offence: str
    starts: str
    reason: str
    edition: str


@dataclass(frozen=True)
class MethodChange:
    """An edition whose note says its series is on a new method and older figures were
    amended: the same offence's figures from older editions are on the old method, except for
    the areas the note says did not move (`exempt`)."""

    offence: str
    edition: str
    reason: str
    exempt: tuple[str, ...]


def _applies(note: NoteText, table: str) -> bool:
    return not note.tables or any(table == t or (len(t) == 1 and table.startswith(t))
                                  for t in note.tables)


def offences_of(note: NoteText, table_offences: dict[str, tuple[str, ...]]) -> set[str]:
    """The offences of the tables a note is written for."""
    return {o for table, keys in table_offences.items() if _applies(note, table) for o in keys}


def breaks_in(edition: str, notes: Iterable[NoteText], markers: Iterable[NoteMarker],
              table_offences: dict[str, tuple[str, ...]], places: dict[str, str]
              ) -> list[BreakRow]:
    """Every break the notes of one edition state, one row per area and offence."""
    marked: dict[int, set[str]] = {}
    for marker in markers:
        marked.setdefault(marker.number, set()).add(marker.area_code)
    out: list[BreakRow] = []
    for note in notes:
        if kind_of(note.text) != "break" or _SUBCATEGORY.search(note.text):
            continue
        offences = sorted(offences_of(note, table_offences))
        lines = [line for line in note.text.splitlines() if _BREAK.search(line)] or [note.text]
        for line in lines:
            starts = starts_of(line) if len(lines) > 1 else starts_of(note.text)
            if starts is None:
                continue
            areas: list[str | None] = list(names_in(line, places))
            if not areas:
                areas = sorted(code for code in marked.get(note.number, set())
                               if code) or [None]
            reason = first_sentence(line if len(lines) > 1 else note.text)
            out += [BreakRow(area, offence, starts, reason, edition)
                    for area in areas for offence in offences]
    return list(dict.fromkeys(out))


def method_changes(edition: str, notes: Iterable[NoteText],
                   table_offences: dict[str, tuple[str, ...]], places: dict[str, str]
                   ) -> list[MethodChange]:
    """The offences an edition says it publishes on a new method, with older data amended."""
    out: list[MethodChange] = []
    for note in notes:
        if kind_of(note.text) != "method":
            continue
        exempt = tuple(sorted(names_in(note.text, places)))
        out += [MethodChange(offence, edition, first_sentence(note.text), exempt)
                for offence in sorted(offences_of(note, table_offences))]
    return list(dict.fromkeys(out))


# How `crimebot notes` names each kind of note.
NOTE_KIND_NAMES = {"undercount": "undercount", "exclusion": "total leaves a force out",
              "break": "not comparable", "method": "new method", "revision": "revised",
              "": "note"}


def notes_listing(store: Store, words: list[str]) -> list[str]:
    """Every break and note the store holds, one line each, kept when it mentions every word
    (an area, an offence, an edition): what `crimebot notes` prints."""
    names = {a.code: a.name for a in store.areas()}
    notes, breaks = store.all_notes()
    wanted = [w.lower() for w in words]

    def keep(line: str) -> bool:
        return all(w in line.lower() for w in wanted)

    out = [line for b in breaks if keep(line := (
        f"break · {b.offence} · {names.get(b.area or '', 'every area the note covers')} · "
        f"not compared across {period_label(b.starts)} · {b.edition}: {b.reason}"))]
    for n in notes:
        when = (f"{n.period_from} … {n.period_to}" if n.period_from else "every period")
        line = (f"{NOTE_KIND_NAMES.get(n.kind, n.kind)} · {n.offence or 'every offence'} · "
                f"{names.get(n.area or '', 'every area')} · {when} · {n.edition}: "
                + " ".join(n.text.split()))
        if keep(line):
            out.append(line)
    return out
