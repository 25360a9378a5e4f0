"""House style: how numbers, changes, periods, windows and sources are written, in one place.

Findings, rankings and the JSON keep every count, rate and percentage as computed (a published
rate of 3.2535 per 1,000 stays 3.2535); only these helpers turn them into text, so a value is
never rounded twice (3.2535 → 3.25 → "3.2"). Answers, rankings, digests, stories and charts all
write a window, a change and a source line through here, so one surface cannot drift from
another.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from bot.periods import MONTH_NAMES
from bot.periods import label as period_label

if TYPE_CHECKING:
    from bot.store import EditionRow

# ONS's "[note 4]" markers, in titles, labels and names.
NOTE_MARK = re.compile(r"\[\s*note[^\]]*\]", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def count(value: int) -> str:
    """"22,088"."""
    return f"{value:,}"


def percent(value: float) -> str:
    """The size of a change, without its sign: "16%", or "0.4%" below one per cent."""
    size = abs(value)
    return f"{size:.0f}%" if round(size, 1) >= 1 else f"{size:.1f}%"


def signed_percent(value: float) -> str:
    """A change with its sign, for tables: "+16%", "−3%"."""
    sign = "+" if value > 0 else "−" if value < 0 else ""
    return f"{sign}{abs(value):.0f}%"


def rate(value: float) -> str:
    """A rate per 1,000: one decimal place, two below 0.95 so small rates keep a figure."""
    return f"{value:.1f}" if value >= 0.95 else f"{value:.2f}"


def change(value: float) -> str:
    """A change in words with its size: "up 16%", "down 3%"."""
    return f"{'up' if value > 0 else 'down'} {percent(value)}"


def without_notes(text: str) -> str:
    """Text without ONS's note markers, spaces made single: "Leicestershire [note 4] " →
    "Leicestershire"."""
    return _SPACES.sub(" ", NOTE_MARK.sub(" ", text)).strip()


def month(period_end: str) -> str:
    """"2024-12-31" → "December": the month a 12-month period ends in."""
    return MONTH_NAMES[int(period_end[5:7]) - 1]


def window(period_end: str) -> str:
    """"2024-12-31" → "years to December": the name of a 12-month window."""
    return month_window(int(period_end[5:7]))


def month_window(number: int, *, abbreviated: bool = False) -> str:
    """12 → "years to December" ("years to Dec" where space is short, on a chart)."""
    name = MONTH_NAMES[number - 1]
    return f"years to {name[:3] if abbreviated else name}"


def capitalised(text: str) -> str:
    """The first letter up, the rest as written ("years to June" → "Years to June")."""
    return text[:1].upper() + text[1:]


def period_words(period_end: str) -> str:
    """"2024-12-31" → "year to December 2024", for a phrase that supplies its own article."""
    return period_label(period_end).removeprefix("the ")


def ending(period_end: str) -> str:
    """"2024-12-31" → "year ending December 2024", as ONS names an edition."""
    return period_label(period_end).replace("the year to", "year ending")


def edition_name(edition: EditionRow | None, key: str | None = None) -> str:
    """The edition as its tables name it: the dataset and "year ending <month year>" from the
    period the tables cover (a cover title can be wrong, and titles carry "[note n]")."""
    if edition is None:
        return key or ""
    return f"{without_notes(edition.dataset)}, {ending(edition.period_end)}"


def source_line(edition: EditionRow | None) -> str:
    """The source line every answer, ranking, digest and story ends with."""
    if edition is None:
        return "Source: ONS police recorded crime."
    published = (f", published {date.fromisoformat(edition.published):%-d %B %Y}"
                 if edition.published else "")
    dataset = without_notes(edition.dataset)
    if edition.key.startswith("pfa-series"):
        return (f"Source: ONS / Home Office police recorded crime — {dataset}, the ONS open "
                f"data series of rolling 12-month totals by police force area, which ends with "
                f"{period_label(edition.period_end)}{published}.")
    return f"Source: ONS / Home Office police recorded crime — {dataset}, edition " \
           f"{ending(edition.period_end)}{published}."
