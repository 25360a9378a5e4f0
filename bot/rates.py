"""The one rule for a rate per 1,000 residents, shared by the answer text and the charts.

Kept apart from `bot.charts`, so answering a question never loads the charting
module, and the chart's rates cannot drift from the rate the text gives.
"""

from __future__ import annotations

from bot.store import FigureRow, Store

MAX_POPULATION_GAP_YEARS = 2


def computed_rate(count: int, period_year: int,
                  population: tuple[int, int, str] | None) -> tuple[float | None, str]:
    """A rate we work out ourselves, or (None, why not).

    A rate per 1,000 residents needs a mid-year population estimate within
    MAX_POPULATION_GAP_YEARS of the period: the store falls back to its nearest estimate, which
    for a 2003 period can be 2011's, and a rate on a population that far off would be wrong.
    """
    if population is None or population[1] <= 0:
        return None, "no population estimate is held for the area"
    year, people, _ = population
    if abs(year - period_year) > MAX_POPULATION_GAP_YEARS:
        return None, (f"the nearest population estimate held (mid-{year}) is more than "
                      f"{MAX_POPULATION_GAP_YEARS} years from the period")
    return 1000.0 * count / people, f"computed from the mid-{year} population"


def rate_of(store: Store, code: str, figure: FigureRow) -> tuple[float | None, str, str]:
    """(rate, basis, why none): ONS's published rate where there is one, else one computed
    under `computed_rate`'s rule. Unrounded: each surface rounds for display."""
    if figure.rate is not None:
        return figure.rate, figure.rate_basis or "ONS published rate", ""
    if figure.count is None:
        return None, "", "the figure was not published"
    year = int(figure.period_end[:4])
    rate, why = computed_rate(figure.count, year, store.population(code, year))
    if rate is None:
        return None, "", why
    return rate, why, ""
