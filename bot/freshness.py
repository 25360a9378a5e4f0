"""How far the store lags ONS's publishing calendar, so a deployment that stopped learning shows.

ONS publishes police recorded crime quarterly, in January, April, July and October, each edition
covering the twelve months to the end of the quarter four months before (the year to March
comes out in July). The release day moves within the month, so an edition counts as due at the
end of its month, plus a grace (CRIMEBOT_STALE_GRACE_DAYS) for a late release or a refresh that
runs weekly. `crimebot doctor`, `/healthz` and the heartbeat all show the same `Freshness`.

Pure: dates in, a verdict out; the store and the clock are the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.periods import label, month_end

PUBLICATION_LAG_MONTHS = 4
QUARTER_MONTHS = 3
MOST_BEHIND = 400  # a century of quarters: more is a broken clock, not a late refresh


def _months_later(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return month_end(index // 12, index % 12 + 1)


def next_quarter_end(after: date) -> date:
    """The first calendar quarter's end (31 March, 30 June, …) strictly after `after`."""
    end = month_end(after.year, (after.month - 1) // QUARTER_MONTHS * QUARTER_MONTHS
                    + QUARTER_MONTHS)
    return end if end > after else _months_later(end, QUARTER_MONTHS)


def due_by(period_end: date) -> date:
    """The last day of the month ONS publishes the edition covering the year to `period_end`."""
    return _months_later(period_end, PUBLICATION_LAG_MONTHS)


@dataclass(frozen=True)
class Freshness:
    """The newest held edition against the calendar: `behind` editions are overdue."""

    period_end: date
    released: date | None
    next_period_end: date
    next_due: date
    behind: int
    grace_days: int
    today: date

    @property
    def late(self) -> bool:
        return self.behind > 0

    @property
    def age_days(self) -> int | None:
        """Days since the newest edition was released (None when no release date is held)."""
        return (self.today - self.released).days if self.released else None

    def line(self) -> str:
        """One line for `crimebot doctor`, saying what to do when it is late."""
        released = (f"released {self.released:%-d %B %Y} ({self.age_days} days ago)"
                    if self.released else "release date not recorded")
        held = f"newest edition covers {label(self.period_end)}, {released}"
        upcoming = f"{label(self.next_period_end)}, due by {self.next_due:%-d %B %Y}"
        if not self.late:
            return f"{held}; ONS's next edition ({upcoming}) is not yet overdue"
        return (f"{held}: {self.behind} edition(s) behind ONS's quarterly calendar, the first "
                f"({upcoming}) with {self.grace_days} days' grace; check that `crimebot "
                "refresh` runs and succeeds (its journal or `docker compose logs refresh`)")

    def as_json(self) -> dict[str, Any]:
        """The fields `/healthz` and the heartbeat carry, for monitors to alert on `stale`."""
        return {
            "newest_period": self.period_end.isoformat(),
            "newest_released": self.released.isoformat() if self.released else None,
            "newest_age_days": self.age_days,
            "next_edition_due": self.next_due.isoformat(),
            "editions_behind": self.behind,
            "stale": self.late,
        }


def freshness(period_end: str, released: str | None, today: date,
              grace_days: int) -> Freshness:
    """Where the newest held edition (its period and release date, ISO) stands on `today`."""
    held = date.fromisoformat(period_end)
    grace = timedelta(days=grace_days)
    upcoming = next_quarter_end(held)
    behind, quarter = 0, upcoming
    while due_by(quarter) + grace < today and behind < MOST_BEHIND:
        behind += 1
        quarter = next_quarter_end(quarter)
    return Freshness(held, date.fromisoformat(released[:10]) if released else None, upcoming,
                     due_by(upcoming), behind, grace_days, today)
