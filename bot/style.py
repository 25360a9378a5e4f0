"""How numbers are printed: the one place a figure is rounded, once, when it is written.

Findings, rankings and the JSON keep every count, rate and percentage as computed (a published
rate of 3.2535 per 1,000 stays 3.2535); only these helpers turn them into text, so a value is
never rounded twice (3.2535 → 3.25 → "3.2").
"""

from __future__ import annotations


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
