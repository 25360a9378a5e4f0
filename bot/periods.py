"""Twelve-month periods: every figure is a rolling total named by the last day of its 12 months.

Kept tiny and dependency-free because ingest, understanding and answer all speak in these dates.
"""

from __future__ import annotations

import calendar
from datetime import date

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


def month_end(year: int, month: int) -> date:
    """The last day of a month: ONS prints 30-12-2017 once, but it means 31 December 2017."""
    return date(year, month, calendar.monthrange(year, month)[1])


def label(end: str | date) -> str:
    """"2022-12-31" → "the year to December 2022", the phrase reporters use."""
    day = date.fromisoformat(end) if isinstance(end, str) else end
    return f"the year to {MONTH_NAMES[day.month - 1]} {day.year}"


def short(end: str | date) -> str:
    """"2022-12-31" → "Dec 2022", for buttons."""
    day = date.fromisoformat(end) if isinstance(end, str) else end
    return f"{MONTH_NAMES[day.month - 1][:3]} {day.year}"


def year_before(end: str) -> str:
    """The same 12-month window one year earlier."""
    day = date.fromisoformat(end)
    return month_end(day.year - 1, day.month).isoformat()


def ye(end: str | date) -> str:
    """"2022-12-31" → "YE Dec 2022": a period as ONS abbreviates it on chart ticks, never the
    calendar month after it ends."""
    return f"YE {short(end)}"
