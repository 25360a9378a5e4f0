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
        return Expected("ok", chosen, self.count(area, offence, chosen),
                        self.count(area, offence, before))

    def same_window(self, area: str, offence: str, period_end: str) -> list[tuple[str, int]]:
        return [(p, c) for p, c in self.counted(area, offence)
                if p[5:7] == period_end[5:7] and p <= period_end]


RECORD_OF = re.compile(r"It is the (highest|lowest) of the (\d+) years to (\w+) held, "
                       r"(\d{4})–(\d{4})")
RECORD_SINCE = re.compile(r"It is the (highest|lowest) for a year to (\w+) since the year to "
                          r"(\w+) (\d{4}) \(([\d,]+)\)")
CHANGE = re.compile(r"(?:That is|it was) (?:up|down)(?: [\d,]+)? from ([\d,]+) in the year to "
                    r"(\w+) (\d{4})")


def claim_errors(oracle: Oracle, area: str, offence: str, period_end: str, count: int,
                 text: str) -> list[str]:
    """Every series or change claim in the text, checked against the store."""
    errors = []
    points = oracle.same_window(area, offence, period_end)
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
    for previous, month, year in CHANGE.findall(text[:text.find("Caveat")]):
        end = next((p for p, _ in oracle.counted(area, offence)
                    if p.startswith(year) and int(p[5:7]) == MONTHS.index(month.lower()) + 1),
                   None)
        if end is None or oracle.count(area, offence, end) != int(previous.replace(",", "")):
            errors.append(f"change from {previous} in {month} {year} is not the store's")
    return errors
