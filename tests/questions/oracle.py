"""What a question should answer, worked out with plain SQL on the store — never the engine.

Why a second implementation: a test that asks the engine what the figure is and then checks the
engine's answer against itself can never fail. This oracle only knows the store's tables and the
reporting guide's period rules, so a wrong area, offence, period or year-before shows up.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")


@dataclass(frozen=True)
class Expected:
    status: str
    period_end: str | None = None
    count: int | None = None
    previous_count: int | None = None


class Oracle:
    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def counted(self, area: str, offence: str) -> list[tuple[str, int]]:
        return self.conn.execute(
            "select period_end, count from figures where area = ? and offence = ? and count "
            "is not null order by period_end", (area, offence)).fetchall()

    def count(self, area: str, offence: str, period_end: str) -> int | None:
        row = self.conn.execute("select count from figures where area = ? and offence = ? and "
                                "period_end = ?", (area, offence, period_end)).fetchone()
        return row[0] if row else None

    def expect(self, area: str, offence: str, period: str) -> Expected:
        """period: "latest", "year:2022" or "end:2025-06-30"."""
        held = [p for p, _ in self.counted(area, offence)]
        if not held:
            return Expected("no_data")
        if period == "latest":
            chosen: str | None = held[-1]
        elif period.startswith("end:"):
            chosen = period[4:] if period[4:] in held else None
        else:
            year = period[5:]
            in_year = [p for p in held if p.startswith(f"{year}-")]
            chosen = (f"{year}-12-31" if f"{year}-12-31" in in_year
                      else in_year[-1] if in_year else None)
        if chosen is None:
            return Expected("no_data")
        before = f"{int(chosen[:4]) - 1}{chosen[4:]}"
        if before.endswith("-02-29"):
            before = before[:-2] + "28"
        previous = self.count(area, offence, before)
        if previous is not None and self.flag(area, offence, before) != "partial" and \
                not self.comparable(area, offence, before, chosen):
            previous = None
        if self.flag(area, offence, chosen) == "partial":
            previous = None
        return Expected("ok", chosen, self.count(area, offence, chosen), previous)

    # --- ONS's qualifications, read straight from the breaks, notes and flags tables ---------

    def breaks(self, area: str, offence: str) -> list[str]:
        """Start periods of the breaks ONS states for this series (the area or its force)."""
        return [s for (s,) in self.conn.execute(
            "select starts from breaks where offence = ? and (area is null or area = ? or area "
            "= (select force_code from areas where code = ?))", (offence, area, area))]

    def _family(self, offence: str) -> set[str]:
        parents = dict(self.conn.execute("select key, parent from offences").fetchall())
        family, node = {offence}, parents.get(offence)
        while node and node not in family:
            family.add(node)
            node = parents.get(node)
        grew = {offence}
        while grew:
            grew = {k for k, p in parents.items() if p in grew} - family
            family |= grew
        return family

    def flag(self, area: str, offence: str, period_end: str) -> str | None:
        row = self.conn.execute("select flag from figures where area = ? and offence = ? and "
                                "period_end = ?", (area, offence, period_end)).fetchone()
        return row[0] if row else None

    def undercount(self, area: str, offence: str, period_end: str) -> bool:
        """ONS's note in the figure's own edition calls it an undercount."""
        row = self.conn.execute("select edition from figures where area = ? and offence = ? and "
                                "period_end = ?", (area, offence, period_end)).fetchone()
        if row is None:
            return False
        family = self._family(offence)
        return any(o is None or o in family for (o,) in self.conn.execute(
            "select offence from notes where kind = 'undercount' and edition = ? and "
            "(area is null or area = ? or area = (select force_code from areas where code = ?)) "
            "and (period_from is null or period_from <= ?) and (period_to is null or "
            "period_to >= ?)", (row[0], area, area, period_end, period_end)))

    def comparable(self, area: str, offence: str, earlier: str, later: str) -> bool:
        """Whether ONS allows a change or a record between two figures: no break between them,
        neither partial nor an undercount, both on the same method."""
        if any(earlier < starts <= later for starts in self.breaks(area, offence)):
            return False
        flags = [self.flag(area, offence, p) for p in (earlier, later)]
        if "partial" in flags or (flags[0] == "old_method") != (flags[1] == "old_method"):
            return False
        return not (self.undercount(area, offence, earlier)
                    or self.undercount(area, offence, later))

    def comparable_window(self, area: str, offence: str,
                          period_end: str) -> list[tuple[str, int]]:
        """The same-window figures a record may range over: back from `period_end` to the
        first one ONS's notes say does not compare (a record never spans it)."""
        points = [(p, c) for p, c in self.same_window(area, offence, period_end)
                  if self.flag(area, offence, p) != "partial"]
        if self.flag(area, offence, period_end) == "partial" or \
                self.undercount(area, offence, period_end):
            return []
        for index in range(len(points) - 2, -1, -1):
            if not self.comparable(area, offence, points[index][0], period_end):
                return points[index + 1:]
        return points

    def held_end(self, area: str, offence: str, month: str, year: str) -> str | None:
        return next((p for p, _ in self.counted(area, offence)
                     if p.startswith(year) and int(p[5:7]) == MONTHS.index(month.lower()) + 1),
                    None)

    def same_window(self, area: str, offence: str, period_end: str) -> list[tuple[str, int]]:
        return [(p, c) for p, c in self.counted(area, offence)
                if p[5:7] == period_end[5:7] and p <= period_end]


RECORD_OF = re.compile(r"It is the (highest|lowest) of the (\d+) years to (\w+) held, "
                       r"(\d{4})–(\d{4})")
RECORD_SINCE = re.compile(r"It is the (highest|lowest) for a year to (\w+) since the year to "
                          r"(\w+) (\d{4}) \(([\d,]+)\)")
CHANGE = re.compile(r"(?:That is|it was) (?:up|down)(?: [\d,]+,)? from ([\d,]+) in the year to "
                    r"(\w+) (\d{4}) to ([\d,]+) in the year to (\w+) (\d{4})")


def claim_errors(oracle: Oracle, area: str, offence: str, period_end: str, count: int,
                 text: str) -> list[str]:
    """Every series or change claim in the text, checked against the store."""
    errors = []
    points = oracle.comparable_window(area, offence, period_end)
    for kind, n, month, first, last in RECORD_OF.findall(text):
        if MONTHS.index(month.lower()) + 1 != int(period_end[5:7]) or last != period_end[:4]:
            errors.append(f"record of a different window: {month} {last}")
        counts = [c for _, c in points]
        if int(n) != len(points) or first != points[0][0][:4]:
            errors.append(f"record over {n} years from {first}, store holds {len(points)}")
        best = max(counts) if kind == "highest" else min(counts)
        if best != count:
            errors.append(f"{kind} of all, but the store's {kind} is {best}")
    for kind, month, since_month, since_year, since_count in RECORD_SINCE.findall(text):
        if month != since_month or MONTHS.index(month.lower()) + 1 != int(period_end[5:7]):
            errors.append("record across different windows")
        since_end = next((p for p, _ in points if p.startswith(since_year)), None)
        if since_end is None or oracle.count(area, offence, since_end) != int(
                since_count.replace(",", "")):
            errors.append(f"since {since_year}: count not in the store")
            continue
        between = [c for p, c in points if since_end < p < period_end]
        beaten = (lambda c: c >= count) if kind == "highest" else (lambda c: c <= count)
        if not beaten(int(since_count.replace(",", ""))) or any(beaten(c) for c in between):
            errors.append(f"{kind} since {since_year} is not true")
    for previous, month, year, later, later_month, later_year in CHANGE.findall(
            text[:text.find("Caveat")]):
        end = oracle.held_end(area, offence, month, year)
        end_later = oracle.held_end(area, offence, later_month, later_year)
        if end is None or oracle.count(area, offence, end) != int(previous.replace(",", "")):
            errors.append(f"change from {previous} in {month} {year} is not the store's")
        elif end_later is None or oracle.count(area, offence, end_later) != int(
                later.replace(",", "")):
            errors.append(f"change to {later} in {later_month} {later_year} is not the store's")
        elif not oracle.comparable(area, offence, end, end_later):
            errors.append(f"change from {month} {year} to {later_month} {later_year} crosses "
                          "what ONS says is not comparable")
    return errors
