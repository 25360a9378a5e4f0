"""Series charts for the bot's chart button: an area's counts and how it compares nationally.

matplotlib is imported inside the renderer, never at module level, so that answering a text
question (the common case) does not pay its import time or memory. The figure is built with the
object-oriented API (no pyplot), which keeps no global state and is safe to run in a worker
thread off the event loop.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from bot import periods
from bot.store import FigureRow, Store

NATIONAL = "K04000001"
NATIONAL_NAME = "England and Wales"
MAX_POPULATION_GAP_YEARS = 2


class ChartError(ValueError):
    """There is nothing to draw (no counts held for that area and offence)."""


@dataclass(frozen=True)
class Comparison:
    """The lower panel: the area against England and Wales on one comparable scale."""

    ylabel: str
    area: list[tuple[date, float]]
    national: list[tuple[date, float]]


def counts(rows: list[FigureRow]) -> list[tuple[date, int]]:
    """The held counts as (period end, count), oldest first.

    Suppressed figures (None) are left out, and so are partial totals (a national total missing
    a force): drawn on the line they would look like a fall that never happened.
    """
    return [(date.fromisoformat(r.period_end), r.count) for r in rows
            if r.count is not None and r.flag != "partial"]


def computed_rate(count: int, period_year: int,
                  population: tuple[int, int, str] | None) -> tuple[float | None, str]:
    """The one rule for a rate we work out ourselves, shared by the answer text and the charts.

    A rate per 1,000 residents needs a mid-year population estimate within
    MAX_POPULATION_GAP_YEARS of the period: the store falls back to its nearest estimate, which
    for a 2003 period can be 2011's, and a rate on a population that far off would be wrong.
    Returns (rate, basis) or (None, why not).
    """
    if population is None or population[1] <= 0:
        return None, "no population estimate is held for the area"
    year, people, _ = population
    if abs(year - period_year) > MAX_POPULATION_GAP_YEARS:
        return None, (f"the nearest population estimate held (mid-{year}) is more than "
                      f"{MAX_POPULATION_GAP_YEARS} years from the period")
    return 1000.0 * count / people, f"computed from the mid-{year} population"


def rates(store: Store, code: str, points: list[tuple[date, int]]) -> list[tuple[date, float]]:
    """Crimes per 1,000 residents, or [] when any period lacks a near enough population estimate
    (then the chart compares trends with an index instead)."""
    out = []
    for day, count in points:
        rate, _ = computed_rate(count, day.year, store.population(code, day.year))
        if rate is None:
            return []
        out.append((day, rate))
    return out


def index(area: list[tuple[date, int]], national: list[tuple[date, int]],
          ) -> tuple[list[tuple[date, float]], list[tuple[date, float]]]:
    """Both series over their common periods, each scaled so the first common period is 100.

    An index compares trends when no rate can be worked out; a zero base cannot be scaled, so it
    gives no comparison at all rather than a misleading one.
    """
    national_by_day = dict(national)
    common = [(day, count, national_by_day[day]) for day, count in area if day in national_by_day]
    if not common or not common[0][1] or not common[0][2]:
        return [], []
    _, base_area, base_national = common[0]
    return ([(day, a * 100 / base_area) for day, a, _ in common],
            [(day, n * 100 / base_national) for day, _, n in common])


def comparison(store: Store, area_code: str, offence_key: str,
               area: list[tuple[date, int]]) -> Comparison | None:
    """Rate per 1,000 when populations allow (it compares levels), otherwise an index (trends)."""
    if area_code == NATIONAL:
        return None
    first, last = area[0][0], area[-1][0]
    national = [(day, n) for day, n in counts(store.series(NATIONAL, offence_key))
                if first <= day <= last]
    if not national:
        return None
    area_rates, national_rates = rates(store, area_code, area), rates(store, NATIONAL, national)
    if area_rates and national_rates:
        return Comparison("Crimes per 1,000 residents", area_rates, national_rates)
    area_index, national_index = index(area, national)
    if not area_index:
        return None
    return Comparison(f"Index ({periods.short(area_index[0][0])} = 100)",
                      area_index, national_index)


def source_line(store: Store, rows: list[FigureRow]) -> str:
    """Name the edition the latest figure came from, as the reporting guide asks."""
    latest = [r for r in rows if r.count is not None][-1]
    edition = store.edition(latest.edition)
    title = edition.title if edition else latest.edition
    return "\n".join(textwrap.wrap(f"Source: ONS police recorded crime, {title}", 110))


def render_chart(store: Store, area_code: str, offence_key: str) -> bytes:
    """A PNG of the area's series; cached until the store is swapped for a new edition."""
    return _render(store, area_code, offence_key, store.generation)


@lru_cache(maxsize=128)
def _render(store: Store, area_code: str, offence_key: str, generation: int) -> bytes:
    """`generation` is only part of the cache key: a refreshed store gives a new one."""
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    rows = store.series(area_code, offence_key)
    points = counts(rows)
    if not points:
        raise ChartError(f"no counts held for {offence_key} in {area_code}")
    area = store.area(area_code)
    area_name = area.name if area else area_code
    label = store.offence_labels().get(offence_key, (offence_key, None))[0]
    compare = comparison(store, area_code, offence_key, points)

    fig = Figure(figsize=(8, 6.5 if compare else 4.8), dpi=100, layout="constrained")
    axes = fig.subplots(2 if compare else 1, 1, sharex=True, squeeze=False)[:, 0]
    days, values = zip(*points, strict=True)
    axes[0].plot(days, values, marker="o", color="#1f4e79")
    axes[0].set_ylabel("Recorded crimes (12 months)")
    axes[0].set_ylim(bottom=min(0, *values))
    axes[0].yaxis.set_major_formatter("{x:,.0f}")
    if compare:
        for series, name, style in ((compare.area, area_name, "o-"),
                                    (compare.national, NATIONAL_NAME, "s--")):
            x, y = zip(*series, strict=True)
            axes[1].plot(x, y, style, label=name)
        axes[1].set_ylabel(compare.ylabel)
        axes[1].legend(loc="best", fontsize="small")
    for ax in axes:
        ax.grid(True, alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    axes[-1].xaxis.set_major_formatter(DateFormatter("%b %Y"))
    fig.suptitle(f"{area_name}: {label}\n{periods.short(days[0])} to {periods.short(days[-1])}",
                 fontsize="large")
    fig.supxlabel(source_line(store, rows), fontsize="x-small", color="#555555")

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
