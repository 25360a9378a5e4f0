"""Charts from the real store: a valid PNG, the right comparison, cached per store generation."""

from __future__ import annotations

import struct
import subprocess
import sys
from datetime import date

import pytest

from bot.charts import ChartError, comparison, counts, index, rates, render_chart
from bot.store import FigureRow

WREXHAM, BEDFORDSHIRE, NATIONAL = "W14000006", "E23000026", "K04000001"


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_a_chart_is_a_png_of_sensible_size(store):
    width, height = png_size(render_chart(store, WREXHAM, "sexual"))
    assert 600 <= width <= 1600 and 400 <= height <= 1200


def test_charts_are_cached_until_the_store_changes(store):
    first = render_chart(store, BEDFORDSHIRE, "violence")
    assert render_chart(store, BEDFORDSHIRE, "violence") is first
    store.generation += 1
    try:
        again = render_chart(store, BEDFORDSHIRE, "violence")
    finally:
        store.generation -= 1
    assert again is not first and again == first


def test_the_national_series_is_charted_without_a_comparison(store):
    png_size(render_chart(store, NATIONAL, "all_crime"))
    series = counts(store.series(NATIONAL, "all_crime"))
    assert comparison(store, NATIONAL, "all_crime", series) is None


def test_nothing_to_chart_is_a_chart_error(store):
    with pytest.raises(ChartError):
        render_chart(store, "E99999999", "sexual")


def test_suppressed_figures_and_partial_totals_are_left_out():
    rows = [FigureRow("2021-12-31", 10, None, None, "e", None),
            FigureRow("2022-12-31", None, None, None, "e", None),
            FigureRow("2023-12-31", 7, None, None, "e", "partial")]
    assert counts(rows) == [(date(2021, 12, 31), 10)]


def test_wrexham_is_compared_as_a_rate_per_1000(store):
    area = counts(store.series(WREXHAM, "sexual"))
    compared = comparison(store, WREXHAM, "sexual", area)
    assert compared is not None and compared.ylabel == "Crimes per 1,000 residents"
    by_day = dict(compared.area)
    assert by_day[date(2022, 12, 31)] == pytest.approx(536 * 1000 / 135389, rel=0.05)
    assert all(area[0][0] <= day <= area[-1][0] for day, _ in compared.national)


def test_no_rate_when_the_population_estimate_is_years_away(store):
    assert rates(store, NATIONAL, [(date(2003, 3, 31), 100)]) == []


def test_the_index_starts_both_series_at_100_on_their_first_common_period():
    area = [(date(2020, 12, 31), 50), (date(2021, 12, 31), 75)]
    national = [(date(2019, 12, 31), 10), (date(2020, 12, 31), 200), (date(2021, 12, 31), 100)]
    assert index(area, national) == ([(date(2020, 12, 31), 100.0), (date(2021, 12, 31), 150.0)],
                                     [(date(2020, 12, 31), 100.0), (date(2021, 12, 31), 50.0)])
    assert index([(date(2020, 12, 31), 0)], national) == ([], [])


def test_answering_text_never_imports_matplotlib(db_path):
    code = ("import sys\nfrom bot.answer import open_engine\nimport bot.telegram, bot.charts\n"
            f"open_engine({str(db_path)!r}).ask('sexual offences Wrexham 2022')\n"
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
