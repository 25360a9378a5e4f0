"""Answers a reporter can paste into copy: exact figures from the real store, honest gaps."""

from __future__ import annotations

import sqlite3
from datetime import date

import pytest

from bot.answer import Answer, Engine
from bot.understanding import parse


def ask(engine: Engine, question: str) -> Answer:
    return engine.ask(question)


def test_the_done_when_question_gives_the_full_reporters_answer(engine):
    answer = ask(engine, "sexual offences Wrexham 2022")
    assert answer.status == "ok"
    assert answer.text.startswith(
        "North Wales Police recorded 536 sexual offences in Wrexham in the year to December "
        "2022, ONS figures show.")
    assert ("up from 461 in the year to December 2021 to 536 in the year to December 2022, a "
            "rise of 16%") in answer.text
    assert "per 1,000 residents" in answer.text and "England and Wales rate" in answer.text
    assert "North Wales Police as a whole recorded 2,746" in answer.text
    assert "England and Wales" in answer.text
    assert "victims coming forward" in answer.text
    assert "not been accredited official statistics" in answer.text
    assert "published 27 April 2023" in answer.text
    assert (answer.area_code, answer.count, answer.previous_count) == ("W14000006", 536, 461)
    assert answer.change_pct == pytest.approx(100 * (536 - 461) / 461)


@pytest.mark.parametrize(("question", "code", "offence", "period_end", "count"), [
    ("sexual offences Wrexham 2022", "W14000006", "sexual", "2022-12-31", 536),
    ("How many burglaries were there in Leeds in 2023?", "E22000345", "burglary", "2023-12-31",
     6515),
    ("robbery Bedfordshire police year to December 2024", "E23000026", "robbery",
     "2024-12-31", 586),
    ("sex crimes Wrecsam 2021", "W14000006", "sexual", "2021-12-31", 461),
    ("sexual offences flintshire 2022", "W14000005", "sexual", "2022-12-31", 479),
    ("Sexual offences in Bedford, year ending December 2024", "E22000009", "sexual",
     "2024-12-31", 548),
    ("England and Wales sexual offences 2021/22", "K04000001", "sexual", "2022-03-31", 193357),
    ("England and Wales sexual offences 2021-22", "K04000001", "sexual", "2022-03-31", 193357),
    ("sexual offences england & wales financial year 2021/2022", "K04000001", "sexual",
     "2022-03-31", 193357),
    ("rape england and wales year to march 2020", "K04000001", "rape", "2020-03-31", 59219),
    ("burglaries in Caerdydd 2022", "W14000015", "burglary", "2022-12-31", None),
    ("/crime theft Swansea 2022", "W14000011", "theft", "2022-12-31", 4793),
    ("@crimebot public order Liverpool 2024", "E22000182", "public_order", "2024-12-31", None),
    ("knife crime Gwent police 2024", "W15000002", "knife", "2024-12-31", 399),
    ("sexual offences Wrexham 12 months to June 2025", "W14000006", "sexual", "2025-06-30", 495),
    ("Beds police burglary latest", "E23000026", "burglary", "2025-06-30", None),
])
def test_questions_resolve_to_the_published_figure(engine, question, code, offence,
                                                   period_end, count):
    answer = ask(engine, question)
    assert answer.status == "ok", answer.text
    assert (answer.area_code, answer.offence_key, answer.period_end) == (code, offence,
                                                                          period_end)
    if count is not None:
        assert answer.count == count


def test_typos_still_find_the_place(engine):
    answer = ask(engine, "criminal damage Flintshre")
    assert answer.status == "ok" and answer.area_name == "Flintshire"


def test_bedford_is_the_csp_and_bedfordshire_the_force(engine):
    assert ask(engine, "violent crime Bedford latest").area_code == "E22000009"
    assert ask(engine, "violent crime Bedfordshire latest").area_code == "E23000026"
    assert ask(engine, "violent crime Beds police latest").area_code == "E23000026"


def test_close_names_are_ambiguous_with_candidates(engine):
    answer = ask(engine, "violent crime Newcastle")
    assert answer.status == "ambiguous"
    names = {c.name for c in answer.candidates}
    assert {"Newcastle upon Tyne", "Newcastle-under-Lyme"} <= names
    assert all(c.kind == "csp" for c in answer.candidates)


def test_a_misspelt_county_is_taken_and_the_reply_says_so(engine):
    answer = ask(engine, "burglary Bedfrodshire")
    assert answer.status == "ok" and answer.area_code == "E23000026"
    assert answer.text.startswith("Taking ‘bedfrodshire’ as Bedfordshire.")
    assert answer.matched["area"]["how"] == "fuzzy"


def test_unknown_place_offers_did_you_mean(engine):
    answer = ask(engine, "burglary Atlantis")
    assert answer.status == "not_found"
    assert "couldn't find a place" in answer.text


def test_period_not_held_lists_the_periods_that_are(engine):
    answer = ask(engine, "burglary Leeds 2015")
    assert answer.status == "no_data"
    assert "Periods held: Dec 2021" in answer.text


def test_devon_and_cornwall_gap_is_explained_not_computed(engine):
    answer = ask(engine, "all crime Devon and Cornwall 2022")
    assert answer.status == "no_data"
    assert "unable to supply data for the quarter, October 2022 to December 2022" in answer.text
    later = ask(engine, "all crime Devon and Cornwall 2023")
    assert later.status == "ok" and later.change_pct is None
    assert "not published" in later.text


def test_pre_2017_burglary_is_the_sum_of_the_categories_held(engine):
    answer = ask(engine, "burglary Kent year to June 2012")
    domestic = engine.store.figure("E23000032", "domestic_burglary", "2012-06-30").count
    other = engine.store.figure("E23000032", "non_domestic_burglary", "2012-06-30").count
    assert domestic == 5166
    assert answer.status == "ok" and answer.count == domestic + other


def test_knife_crime_below_force_level_answers_for_the_force_and_says_so(engine):
    answer = ask(engine, "knife crime Newport")
    assert answer.status == "ok" and answer.area_code == "W15000002"
    assert "not for local areas such as Newport" in answer.text


def test_fraud_below_national_level_is_explained(engine):
    answer = ask(engine, "fraud Torbay")
    assert answer.area_code == "K04000001"
    assert "There is no figure for Torbay" in answer.text


def test_last_year_is_the_latest_period_in_the_previous_calendar_year(engine):
    answer = ask(engine, "burglaries in Caerdydd last year")
    assert answer.period_end == "2025-06-30"
    assert "“Last year” is taken as the latest 12-month period ending in 2025" in answer.text


def test_asking_as_of_another_day_leaves_the_shared_engine_on_its_own_day(tiny_engine):
    """One engine serves every chat: a question asked as of another day (a late reply, a test)
    must not move "last year" and "latest" for the questions after it."""
    question = "robbery in Manchester last year"
    own = tiny_engine.ask(question)
    assert own.period_end == "2024-12-31"
    earlier = tiny_engine.ask(question, today=date(2024, 3, 1))
    assert earlier.period_end == "2023-12-31"
    assert "ending in 2023" in earlier.text
    again = tiny_engine.ask(question)
    assert (again.period_end, again.text) == (own.period_end, own.text)
    parsed = parse(question, tiny_engine.gazetteer, tiny_engine.offence_index())
    assert tiny_engine.ask_parsed(parsed, today=date(2024, 3, 1)).period_end == "2023-12-31"
    assert tiny_engine.ask(question).period_end == "2024-12-31"


def test_bare_year_prefers_december(engine):
    assert ask(engine, "shoplifting Manchester 2024").period_end == "2024-12-31"


def test_two_periods_side_by_side_run_earlier_to_later(engine):
    answer = ask(engine, "shoplifting Manchester 2024 vs 2023")
    assert answer.status == "ok" and len(answer.parts) == 2
    assert [p.period_end for p in answer.parts] == ["2023-12-31", "2024-12-31"]
    assert "Side by side" in answer.text
    assert "Change from the year to December 2023 to the year to December 2024" in answer.text


def test_a_comparison_asked_later_first_is_still_a_change_from_earlier_to_later(engine):
    answer = ask(engine, "robbery Kent 2024 vs 2010")
    assert [p.period_end for p in answer.parts] == ["2010-12-31", "2024-12-31"]
    assert [p.count for p in answer.parts] == [913, 1036]
    assert "from the year to December 2010 to the year to December 2024: up 13%" in answer.text


def test_two_areas_side_by_side(engine):
    answer = ask(engine, "Wrexham vs Flintshire sexual offences 2022")
    assert [p.count for p in answer.parts] == [536, 479]


def test_small_counts_give_absolute_change_not_percent(engine):
    answer = ask(engine, "homicide Wrexham 2024")
    assert answer.status == "ok" and answer.change_pct is None
    assert "small numbers, so no percentage is given" in answer.text


def test_no_offence_means_total_recorded_crime_and_says_so(engine):
    answer = ask(engine, "Cardiff 2022")
    assert answer.offence_key == "all_crime"
    assert "No offence was named" in answer.text


def test_series_context_is_honest_about_where_the_series_starts(engine):
    answer = ask(engine, "sexual offences England and Wales 2021/22")
    assert "It is the highest of the 20 years to March held, 2003–2022." in answer.text


def test_buttons_answer_for_exact_area_and_period(engine):
    answer = engine.answer_for("W14000006", "sexual", "2021-12-31")
    assert answer.count == 461 and answer.later_period == "2022-12-31"
    assert engine.answer_for("nowhere", "sexual", None).status == "not_found"


@pytest.mark.parametrize("question", ["", "   ", "🙂🙂", "<b>hi</b>", "'; DROP TABLE figures; --",
                                      "x" * 5000, "\u200b\u202e", "?!?!"])
def test_bad_input_gets_a_friendly_reply(tiny_engine, question):
    answer = ask(tiny_engine, question)
    assert answer.status == "not_found"
    assert answer.count is None and answer.area_code is None
    assert answer.text and "Traceback" not in answer.text


def test_json_contract_for_every_status(engine):
    for question, status in [("sexual offences Wrexham 2022", "ok"),
                             ("violent crime Newcastle", "ambiguous"),
                             ("burglary Atlantis", "not_found"),
                             ("burglary Leeds 2015", "no_data")]:
        data = ask(engine, question).to_json()
        assert data["status"] == status
        assert set(data) >= {"status", "text", "area", "offence", "period", "count", "previous",
                             "change_pct", "rate_per_1000", "candidates", "source",
                             "assumptions", "matched"}
    ok = ask(engine, "sexual offences Wrexham 2022").to_json()
    assert ok["period"] == {"end": "2022-12-31", "label": "the year to December 2022"}
    assert ok["previous"] == {"end": "2021-12-31", "count": 461}
    assert ok["source"]["published"] == "2023-04-27"
    ambiguous = ask(engine, "violent crime Newcastle").to_json()
    assert {"code", "name", "kind"} == set(ambiguous["candidates"][0])


def test_json_says_what_was_assumed_and_how_each_part_was_matched(engine):
    data = ask(engine, "theft Cambrige 2024").to_json()
    assert data["assumptions"] == ["Taking ‘cambrige’ as Cambridge."]
    assert data["matched"]["area"] == {"how": "fuzzy", "said": "cambrige", "score": 94.1}
    assert data["matched"]["offence"]["how"] == "alias"
    exact = ask(engine, "sexual offences Wrexham 2022").to_json()
    assert exact["assumptions"] == []
    assert exact["matched"]["area"]["how"] == "exact"


def test_homicide_gets_no_harassment_caveat(engine):
    answer = ask(engine, "homicide Leeds 2024")
    assert answer.status == "ok" and "harassment" not in answer.text


def test_no_change_or_record_across_the_dorset_boundary_change(engine):
    answer = ask(engine, "robbery Dorset council 2023")
    assert answer.status == "ok" and answer.count == 126
    assert answer.change_pct is None and answer.previous_count is None
    assert "Dorset's figures take in Christchurch" in answer.text
    both = ask(engine, "robbery Dorset council 2022 vs 2023")
    assert "No change is given" in both.text and "Change from" not in both.text


def test_a_local_authority_answered_through_its_area_is_named_first(engine):
    answer = ask(engine, "burglary Harrogate 2024")
    assert answer.area_code == "E22000372"
    assert answer.text.startswith("Harrogate is no longer a council area of its own; ONS now "
                                  "counts it in North Yorkshire. North Yorkshire Police recorded")


def test_london_is_the_region_and_exact_full_names_are_never_ambiguous(engine):
    assert ask(engine, "burglary London 2024").area_code == "E12000007"
    for question, code in [("robbery Buckinghamshire 2022", "E06000060"),
                           ("robbery BCP 2022", "E06000058"),
                           ("robbery East Suffolk 2022", "E07000244"),
                           ("robbery West Northamptonshire 2022", "E06000062")]:
        answer = ask(engine, question)
        assert (answer.status, answer.area_code) == ("ok", code)


def test_a_rate_is_only_computed_from_a_population_estimate_within_two_years(engine):
    old = ask(engine, "robbery Kent 2008")
    assert old.status == "ok" and old.rate_per_1000 is None
    assert "No rate per 1,000 residents is given: the nearest population estimate held " \
        "(mid-2011) is more than 2 years from the period." in old.text
    recent = ask(engine, "robbery Kent 2012")
    assert recent.rate_per_1000 is not None and "computed from the mid-2012 population" in \
        recent.text


def test_a_word_we_do_not_know_is_never_total_crime(engine):
    answer = ask(engine, "hate crime Leeds")
    assert answer.status == "not_found" and answer.offence_key is None and answer.count is None


def test_gun_crime_is_the_force_level_firearms_measure_and_says_so(engine):
    answer = ask(engine, "gun crime Leeds 2024")
    assert answer.status == "ok" and answer.offence_key == "firearms"
    assert answer.area_code == "E23000010" and answer.count == 390
    assert answer.previous_count == 612
    assert answer.text.startswith("ONS publishes offences involving firearms")
    assert "not for local areas such as Leeds" in answer.text


def test_a_year_before_not_held_gives_the_latest_like_for_like_change(engine):
    answer = ask(engine, "has burglary gone up in Leeds?")
    assert answer.period_end == "2025-06-30" and answer.previous_count is None
    assert ("The latest like-for-like change held is for the year to December 2024: it was up "
            "from 6,515 in the year to December 2023") in answer.text


def test_residential_burglary_before_2017_is_answered_with_the_pre_2017_category(engine):
    answer = ask(engine, "domestic burglary Kent year to June 2012")
    assert (answer.status, answer.offence_key, answer.count) == ("ok", "domestic_burglary", 5166)
    assert answer.text.startswith("ONS split burglary differently before April 2017")
    assert ask(engine, "domestic burglary Kent 2024").offence_key == "residential_burglary"


def test_a_total_missing_a_force_is_labelled_incomplete_with_no_change_record_or_rate(engine):
    answer = ask(engine, "sexual offences England and Wales year ending December 2019")
    assert answer.status == "ok" and answer.count == 153_794
    assert "the England and Wales total excludes Greater Manchester, so it is not the whole " \
        "of England and Wales, and no change, record or rate is given for it" in answer.text
    assert answer.change_pct is None and answer.rate_per_1000 is None
    assert "highest" not in answer.text and "lowest" not in answer.text


def test_a_partial_national_total_is_never_the_england_and_wales_figure_beside_a_force(engine):
    answer = ask(engine, "burglary Kent year ending December 2019")
    assert answer.status == "ok"
    assert "England and Wales recorded" not in answer.text
    assert "nearest: " in answer.text and "153,794" not in answer.text


def _sql(db_path, query: str, *params: object) -> list[tuple]:
    with sqlite3.connect(db_path) as conn:
        return conn.execute(query, params).fetchall()


def _district_rows(db_path, council: str) -> list[str]:
    """The CSP rows the newest ONS lookup gives for a council, read straight from the store."""
    return sorted(code for (code,) in _sql(
        db_path, "select csp_code from local_authorities where code = ? and year = "
        "(select max(year) from local_authorities where year < 9999)", council))


@pytest.mark.parametrize(("question", "council", "period_end", "rows"), [
    ("burglary Buckinghamshire 2024", "E06000060", "2024-12-31", 4),
    ("burglary Buckinghamshire", "E06000060", None, 4),
    ("burglary BCP 2024", "E06000058", "2024-12-31", 3),
    ("burglary East Suffolk 2024", "E07000244", "2024-12-31", 2),
    ("burglary West Northamptonshire latest", "E06000062", None, 2),
])
def test_a_council_printed_as_its_districts_is_asked_back_with_the_district_rows(
        engine, db_path, question, council, period_end, rows):
    answer = ask(engine, question)
    expected = _district_rows(db_path, council)
    assert len(expected) == rows
    assert answer.status == "ambiguous" and answer.count is None
    assert (answer.area_code, answer.period_end) == (council, period_end)
    assert sorted(c.code for c in answer.candidates) == expected
    assert sorted(c["code"] for c in answer.to_json()["candidates"]) == expected
    (last_own,) = _sql(db_path, "select max(period_end) from figures where area = ? and "
                                "offence = 'burglary' and count is not null", council)[0]
    assert last_own < (period_end or max(
        p for code in expected for (p,) in _sql(
            db_path, "select period_end from figures where area = ? and offence = 'burglary' "
                     "and count is not null", code)))
    assert "Adding the districts up would not be an ONS figure" in answer.text
    for code in expected:
        pressed = engine.answer_for(code, "burglary", period_end)
        assert pressed.status == "ok" and pressed.area_code == code


def test_the_districts_are_named_in_plain_words(engine):
    assert ask(engine, "burglary Buckinghamshire 2024").text.startswith(
        "From the year to December 2023 ONS prints Buckinghamshire as its former districts: "
        "Aylesbury Vale, Chiltern, South Bucks and Wycombe. It publishes no burglary figure for "
        "Buckinghamshire as a whole after the year to December 2022.")
    latest = ask(engine, "burglary Buckinghamshire").text
    assert latest.startswith("ONS's latest burglary figure for Buckinghamshire as a whole is for "
                             "the year to December 2022; newer figures, up to the year to June "
                             "2025, exist only for its districts.")
    assert "with Christchurch counted in Dorset" in ask(engine, "burglary BCP 2024").text


def test_a_council_with_no_row_of_its_own_is_asked_back_as_its_districts(engine, db_path):
    answer = ask(engine, "burglary Cumberland 2024")
    assert answer.status == "ambiguous"
    assert sorted(c.code for c in answer.candidates) == _district_rows(db_path, "E06000063")
    assert answer.text.startswith("ONS prints Cumberland as its former districts: Allerdale, "
                                  "Carlisle and Copeland.")


@pytest.mark.parametrize(("question", "name", "offence", "council"), [
    ("burglary Wycombe 2024", "Wycombe", "burglary", "Buckinghamshire"),
    ("theft Wycombe 2024", "Wycombe", "theft", "Buckinghamshire"),
    ("robbery Corby 2024", "Corby", "robbery", "North Northamptonshire"),
    ("burglary Allerdale 2024", "Allerdale", "burglary", "Cumberland"),
])
def test_a_district_row_answers_and_names_its_council_first(engine, db_path, question, name,
                                                             offence, council):
    ((code, count),) = _sql(
        db_path, "select a.code, f.count from areas a join figures f on f.area = a.code "
                 "where a.name = ? and a.kind = 'csp' and f.offence = ? and "
                 "f.period_end = '2024-12-31'", name, offence)
    answer = ask(engine, question)
    assert (answer.status, answer.area_code, answer.count) == ("ok", code, count)
    assert answer.text.startswith(f"{name} is now part of {council} council, but ONS still "
                                  f"prints it as its own row. ")
    assert f" recorded {count:,} " in answer.text.split("\n\n")[0]


def test_a_district_row_before_its_first_period_points_to_its_council(engine):
    answer = ask(engine, "burglary Wycombe 2022")
    assert answer.status == "no_data" and answer.count is None
    assert ("For the year to December 2022 ONS printed Buckinghamshire as a whole, not Wycombe "
            "on its own") in answer.text
