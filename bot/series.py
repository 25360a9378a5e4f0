"""A figure's series context: the year before, the like-for-like change, the record among the
same 12-month window, and ONS's notes that stop a comparison (breaks, undercounts, methods,
boundary changes).

Every rule here reads the store a bounded query at a time; `bot.facts` asks for it when it builds
a Finding, and the desk and rankings use the same boundary and undercount rules so a digest or a
list never claims a change an answer would refuse.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.finding import Change, Qualified, Record
from bot.periods import year_before
from bot.store import AreaRow, Break, FigureRow, NoteRow, Store

# Boundary changes the tables make without a new code: figures either side are not the same
# place, so no change or record is computed across them. (code, first period on the new
# boundary) → what changed.
BOUNDARY_CHANGES: dict[str, tuple[str, str]] = {
    "E22000367": ("2023-12-31", "Dorset's figures take in Christchurch from the year to "
                                "December 2023 (the December 2024 edition), so earlier Dorset "
                                "figures cover a smaller area"),
}


def break_between(breaks: tuple[Break, ...] | list[Break], earlier: str,
                  later: str) -> Break | None:
    """The latest break ONS states between two period ends of one series, else None."""
    found = [b for b in breaks if earlier < b.starts <= later]
    return found[-1] if found else None


def boundary_between(code: str, earlier: str, later: str) -> str:
    """What changed, when a boundary change falls between two period ends of one area, else ""."""
    change = BOUNDARY_CHANGES.get(code)
    return change[1] if change and earlier < change[0] <= later else ""


def crosses_boundary(code: str, earlier: str, later: str) -> bool:
    """True when a boundary change falls between two period ends of the same area."""
    return bool(boundary_between(code, earlier, later))


def undercounts(store: Store, code: str, offence: str) -> Callable[[FigureRow], bool]:
    """Whether ONS's notes call a figure of this series an undercount."""
    return lambda figure: any(
        n.kind == "undercount"
        for n in store.qualifications(code, offence, figure.period_end, figure.edition))


def notes_text(store: Store, code: str, offence: str, period_end: str) -> str:
    """ONS's notes on one figure, as one line."""
    return " ".join(store.notes_for(code, offence, period_end))


class Series:
    """The series-context rules over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # (area, offence) → that series' undercount notes, for one store generation
        self._undercount_notes: dict[tuple[str, str], tuple[NoteRow, ...]] = {}
        self._generation = -1

    @staticmethod
    def previous(figure: FigureRow, previous: FigureRow | None) -> tuple[str, Change | None]:
        if previous is None:
            return "not_held", None
        if previous.count is None:
            return "not_published", None
        if previous.flag == "partial":
            return "partial", None
        count = figure.count or 0
        if previous.count <= 0 or count < 0:
            return "small_or_negative", None
        pct = 100.0 * (count - previous.count) / previous.count
        if min(count, previous.count) < 50:
            pct = None
        return "held", Change(previous.period_end, previous.count, figure.period_end, count, pct)

    def like_for_like(self, code: str, key: str, counted: list[str], period_end: str,
                       figure: FigureRow, breaks: tuple[Break, ...]) -> Change | None:
        """The latest change held between a period and the same window a year earlier, for a
        figure whose own year before is not held ("has it gone up?" still gets an answer).
        Never across a break, between methods, from a partial or an undercounted figure, nor
        from a span a break separates from the figure asked about."""
        held = set(counted)
        for later in reversed(counted):
            if later >= period_end or year_before(later) not in held:
                continue
            if boundary_between(code, year_before(later), later) or \
                    break_between(breaks, year_before(later), period_end):
                continue
            a = self.store.figure(code, key, year_before(later))
            b = self.store.figure(code, key, later)
            if a is None or b is None or not self.comparable(code, key, a, b) or \
                    a.flag != figure.flag:
                continue
            if a.count and b.count is not None and a.count > 0:
                pct = 100.0 * (b.count - a.count) / a.count
                return Change(a.period_end, a.count, b.period_end, b.count,
                              pct if min(a.count, b.count) >= 50 else None)
        return None

    def record(self, code: str, key: str, figure: FigureRow,
                breaks: tuple[Break, ...] = ()) -> Record | None:
        """Highest/lowest among held figures of the same 12-month window, stopping at a
        boundary change, a break ONS states, a change of method or an undercounted figure,
        naming the years inside the span that are not held."""
        points = self.store.same_window(code, key, figure.period_end)
        change = BOUNDARY_CHANGES.get(code)
        if change:
            points = [p for p in points if (p.period_end >= change[0]) ==
                      (figure.period_end >= change[0])]
        if breaks:
            points = [p for p in points if not break_between(breaks, p.period_end,
                                                             figure.period_end)]
        for index in range(len(points) - 2, -1, -1):
            if not self.comparable(code, key, points[index], figure):
                points = points[index + 1:]
                break
        if len(points) < 3 or figure.count is None or points[-1].period_end != figure.period_end:
            return None
        count, earlier = figure.count, points[:-1]
        higher = [p for p in earlier if (p.count or 0) >= count]
        lower = [p for p in earlier if (p.count or 0) <= count]
        if not higher:
            kind, since = "highest", None
        elif not lower:
            kind, since = "lowest", None
        elif higher[-1].period_end < lower[-1].period_end:
            kind, since = "highest", higher[-1]
        else:
            kind, since = "lowest", lower[-1]
        start = since or points[0]
        if since is not None and points.index(since) > len(points) - 3:
            return None
        years = {int(p.period_end[:4]) for p in points}
        first_year, last_year = int(start.period_end[:4]), int(figure.period_end[:4])
        missing = tuple(f"{y}{figure.period_end[4:]}" for y in range(first_year + 1, last_year)
                        if y not in years)
        return Record(kind, since.period_end if since else None,
                      since.count if since else None, points[0].period_end, len(points),
                      missing)

    def notes(self, area: AreaRow, key: str, period_end: str,
               edition: str | None = None) -> tuple[str, ...]:
        """The notes printed after the figures; breaks and method changes are stated in the
        lead instead, and only when they stop a comparison."""
        return tuple(dict.fromkeys(
            n.text for n in self.store.qualifications(area.code, key, period_end, edition)
            if n.kind not in {"break", "method"}))

    def undercounts(self, code: str, key: str, figure: FigureRow) -> tuple[NoteRow, ...]:
        """The notes calling this figure an undercount: the series' undercount notes, read
        once per store generation, filtered to the figure's period and edition (a record walks
        the whole same-window series, and a query per point grew with the store)."""
        if self._generation != self.store.generation:
            self._undercount_notes, self._generation = {}, self.store.generation
        notes = self._undercount_notes.get((code, key))
        if notes is None:
            if len(self._undercount_notes) >= 4096:
                self._undercount_notes.clear()
            notes = self._undercount_notes[(code, key)] = tuple(
                self.store.undercounts(code, key))
        if not notes:
            return ()
        end, edition = figure.period_end, figure.edition
        return tuple(n for n in notes
                     if (n.period_from is None or n.period_from <= end)
                     and (n.period_to is None or n.period_to >= end)
                     and (edition is None or n.edition == edition))

    def comparable(self, code: str, key: str, a: FigureRow, b: FigureRow) -> bool:
        """True when ONS's notes allow setting two figures of one series side by side: both
        whole, on the same method, neither an undercount."""
        if "partial" in {a.flag, b.flag} or (a.flag == "old_method") != (b.flag == "old_method"):
            return False
        return not (self.undercounts(code, key, a) or self.undercounts(code, key, b))

    def between(self, code: str, key: str, earlier_end: str | None,
                 later_end: str | None) -> Qualified | None:
        """What stops a side-by-side change of one area's two figures, if anything."""
        if not earlier_end or not later_end:
            return None
        earlier = self.store.figure(code, key, earlier_end)
        later = self.store.figure(code, key, later_end)
        if earlier is None or later is None:
            return None
        broken = break_between(self.store.breaks(code, key), earlier_end, later_end)
        faulty = tuple(n.text for n in self.undercounts(code, key, later)) + tuple(
            n.text for n in self.undercounts(code, key, earlier))
        differs = (earlier.flag == "old_method") != (later.flag == "old_method")
        if not (broken or faulty or differs):
            return None
        return Qualified(broken=broken, faulty=faulty, method_differs=differs,
                         old_method=next(iter(self.store.method_notes(key)), "")
                         if differs else "")

    def qualified(self, area: AreaRow, key: str, figure: FigureRow,
                  previous: FigureRow | None, breaks: tuple[Break, ...],
                  forces: dict[str, str]) -> Qualified:
        """ONS's qualifications of this figure, from the store's notes and breaks."""
        notes = self.store.qualifications(area.code, key, figure.period_end, figure.edition)
        broken = None
        if previous is not None and previous.count is not None:
            broken = break_between(breaks, previous.period_end, figure.period_end)
        excluded: tuple[str, ...] = ()
        why = ""
        if figure.flag == "partial":
            # Imported for partial totals only: the note-reading module (its patterns and
            # ingest's records) is otherwise no part of an answer's start.
            from bot.qualifications import names_in

            by_name = {name: code for code, name in forces.items() if code != area.code}
            for note in notes:
                if note.kind == "exclusion":
                    named = tuple(forces[c] for c in names_in(note.text, by_name))
                    if named:
                        excluded, why = named, note.text
                        break
        held_before = previous is not None and previous.count is not None
        differs = held_before and previous is not None and (
            (previous.flag == "old_method") != (figure.flag == "old_method"))
        old_method = ""
        if figure.flag == "old_method" or differs:
            old_method = next(iter(self.store.method_notes(key)), "")
        return Qualified(
            broken=broken, faulty=tuple(n.text for n in notes if n.kind == "undercount"),
            faulty_previous=bool(held_before and previous is not None
                                 and self.undercounts(area.code, key, previous)),
            excluded=excluded, excluded_why=why, old_method=old_method,
            method_differs=bool(differs))
