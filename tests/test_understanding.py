"""The parser: periods, offences and places as reporters type them, and no input breaks it."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.answer import Engine
from bot.understanding import PeriodAsk, parse_offence, parse_period, resolve_year


@pytest.mark.parametrize(("text", "expected"), [
    ("burglary leeds 2022", PeriodAsk("year", None, 2022, "2022")),
    ("burglary leeds 2021/22", PeriodAsk("end", "2022-03-31", None, "2021/22")),
    ("burglary leeds 2021-22", PeriodAsk("end", "2022-03-31", None, "2021-22")),
    ("year to september 2022 burglary", PeriodAsk("end", "2022-09-30", None,
                                                  "year to september 2022")),
    ("12 months to june 2025 theft", PeriodAsk("end", "2025-06-30", None,
                                               "12 months to june 2025")),
    ("theft year ending dec 2023", PeriodAsk("end", "2023-12-31", None, "year ending dec 2023")),
    ("theft last year", PeriodAsk("last_year", None, None, "last year")),
    ("theft latest", PeriodAsk("latest", None, None, "latest")),
])
def test_period_forms(text, expected):
    assert parse_period(text)[0] == expected


def test_no_period_means_none():
    assert parse_period("burglary in leeds")[0] is None


@pytest.mark.parametrize(("text", "key"), [
    ("sex crimes wrexham", "sexual"), ("violent crime bedford", "violence"),
    ("car crime leeds", "vehicle"), ("break-ins in york", "burglary"),
    ("shoplifting", "shoplifting"), ("knife crime newport", "knife"), ("fraud torbay", "fraud"),
    ("residential burglary leeds", "residential_burglary"), ("burglries leeds", "burglary"),
    ("drugs", "drugs"), ("weapons", "weapons"), ("all crime", "all_crime"),
])
def test_newsroom_words_map_to_ons_groups(text, key):
    assert parse_offence(text)[0] == key


def test_bare_year_falls_back_to_latest_period_in_that_year():
    held = ["2021-12-31", "2022-12-31", "2025-06-30"]
    assert resolve_year(PeriodAsk("year", None, 2025), held, date(2026, 1, 1))[0] == "2025-06-30"
    assert resolve_year(PeriodAsk("year", None, 2022), held, date(2026, 1, 1)) == (
        "2022-12-31", "")
    assert resolve_year(PeriodAsk("year", None, 2019), held, date(2026, 1, 1))[0] is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=4096) | st.sampled_from([
    "<b>burglary</b> <i>Leeds</i>", "'; DROP TABLE figures; --", "*bold* _it_ `code`",
    "\u202eWrexham\u202c", "burglary \u200bLeeds", "/crime", "/crime@crimebot", "@crimebot",
    "Wrexham vs", "vs vs vs", "2021/22 vs 2022/23", "year to foo 2022", "2099", "1900/01",
]))
def test_any_text_returns_an_answer_and_never_raises(store, text):
    answer = Engine(store, date(2026, 11, 22)).ask(text)
    assert answer.status in {"ok", "ambiguous", "not_found", "no_data"}
    assert isinstance(answer.text, str) and answer.text
