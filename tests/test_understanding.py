"""The parser: periods, offences and places as reporters type them, and no input breaks it."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.offence_index import OffenceIndex, parse_offence
from bot.period_ask import PeriodAsk, parse_period, resolve_year
from bot.places import display, normalise
from bot.understanding import parse


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
def test_any_text_returns_an_answer_and_never_raises(engine, text):
    answer = engine.ask(text)
    assert answer.status in {"ok", "ambiguous", "not_found", "no_data"}
    assert isinstance(answer.text, str) and answer.text
    if answer.status != "ok":
        assert answer.count is None


CATALOGUE_INDEX = OffenceIndex()


PLACES = ["Wrexham", "Leeds", "Bedfordshire police", "Cardiff", "Caerdydd", "west yorks",
          "Cambrige", "Flintshre", "Harrogate", "England and Wales", "London", "BCP", "Kent",
          "Narnia", "Newcastle", "Manchestr", "Herts", "East Suffolk", ""]
OFFENCES = ["sexual offences", "sex crimes", "burglary", "burglries", "gun crime", "arson",
            "stalking", "violent crime", "crime", "", "knife crime", "fraud", "rape",
            "coercive control", "hate crime", "shoplifting", "total crime", "robbery"]
WHEN = ["", "2022", "2024", "latest", "last year", "year to June 2025", "2021/22", "20222"]


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PLACES), st.sampled_from(OFFENCES), st.sampled_from(WHEN),
       st.sampled_from(["{o} {p} {w}", "{p} {o} {w}", "how many {o} in {p} {w}?"]))
def test_an_ok_answer_names_only_what_was_asked_or_says_what_it_assumed(engine, place, offence,
                                                                        when, template):
    """Whenever the status is ok, the offence and the place come from the question's own words
    (an exact name or a known alias), or an assumption sentence says what was taken instead."""
    question = template.format(o=offence, p=place, w=when)
    answer = engine.ask(question)
    if answer.status != "ok":
        assert answer.count is None
        return
    asked = normalise(question).replace("-", " ")
    area, crime = answer.matched["area"], answer.matched["offence"]
    if area["how"] in {"exact", "alias"}:
        assert area["said"] in asked
    else:
        assert any(answer.area_name and display(answer.area_name) in a
                   for a in answer.assumptions), answer.text
    if crime["how"] in {"exact", "alias"}:
        assert crime["said"] in asked
    else:
        assert answer.assumptions, answer.text
    named = CATALOGUE_INDEX.phrases.get(crime["said"])
    if answer.offence_key != named and crime["how"] in {"exact", "alias"}:
        assert any("ONS" in a for a in answer.assumptions), answer.text
    for sentence in answer.assumptions:
        assert sentence in answer.text


@pytest.mark.parametrize(("text", "how"), [
    ("burglary leeds", "exact"), ("burglary west yorks", "alias"), ("burglary bcp", "alias"),
    ("burglary cambrige", "fuzzy"), ("burglary harrogate", "alias"),
])
def test_every_place_match_says_how_it_was_made(engine, text, how):
    parsed = parse(text, engine.gazetteer)
    assert parsed.areas[0].status == "ok" and parsed.areas[0].how == how


@pytest.mark.parametrize(("text", "key", "how"), [
    ("sexual offences wrexham", "sexual", "exact"), ("sex crimes wrexham", "sexual", "alias"),
    ("burglries leeds", "burglary", "fuzzy"), ("wrexham 2022", None, "default"),
    ("crime in leeds", "all_crime", "default"), ("hate crime leeds", None, "unknown"),
    ("gun crime leeds", "firearms", "alias"),
    ("sexual offenses leeds", "sexual", "exact"),
])
def test_every_offence_match_says_how_it_was_made(engine, text, key, how):
    parsed = parse(text, engine.gazetteer)
    assert (parsed.offence_match.key, parsed.offence_match.how) == (key, how)


@pytest.mark.parametrize(("text", "count"), [
    ("burglary leeds vs bradford", 2), ("compare leeds and bradford burglary", 2),
    ("burglary leeds or bradford", 2), ("burglary leeds, bradford and york", 3),
    ("burglary leeds versus bradford", 2), ("criminal damage and arson leeds", 1),
    ("miscellaneous crimes against society leeds", 1), ("robbery england and wales", 1),
    ("theft bournemouth, christchurch and poole", 1), ("robbery telford and wrekin", 1),
])
def test_lists_and_comparisons_split_only_between_places(engine, text, count):
    assert len(parse(text, engine.gazetteer).areas) == count


def test_junk_years_are_kept_as_junk_not_dropped():
    assert parse_period("burglary leeds 20222")[0] == PeriodAsk("junk", None, None, "20222")
    assert resolve_year(PeriodAsk("junk", said="20222"), ["2024-12-31"], date(2026, 1, 1))[0] \
        is None


# --- everyday typing (issue 16) ---------------------------------------------------------------


@pytest.mark.parametrize(("text", "key", "said"), [
    ("vilent crime leeds", "violence", "vilent crime"),
    ("ofences leeds", "all_crime", "ofences"),
    ("shopliftin leeds", "shoplifting", "shopliftin"),
    ("burgalry leeds", "burglary", "burgalry"),
    ("sexual ofences leeds", "sexual", "sexual ofences"),
    ("robbey leeds", "robbery", "robbey"),
    ("deaths or serious injuries from unlawful driving leeds", "death_driving",
     "deaths or serious injuries from unlawful driving"),
])
def test_one_slip_or_a_description_names_the_offence_and_keeps_what_was_typed(engine, text,
                                                                                key, said):
    match = parse(text, engine.gazetteer).offence_match
    assert (match.key, match.how, match.said) == (key, "fuzzy", said)


def test_a_slip_in_the_offence_and_one_in_the_place_are_both_taken(engine):
    parsed = parse("burgalry leedz", engine.gazetteer)
    assert parsed.offence_match.key == "burglary"
    assert (parsed.areas[0].status, parsed.areas[0].best.name) == ("ok", "Leeds")


@pytest.mark.parametrize("text", ["homes leeds", "burglary leeds", "bolton burglary",
                                  "theft in bradford", "break-ins in york"])
def test_a_word_is_respelt_only_when_it_names_the_offence(engine, text):
    """Place words and words that would not name an offence are left as typed."""
    match = parse(text, engine.gazetteer).offence_match
    assert match.how != "fuzzy"


def test_a_correction_inside_the_question_replaces_the_offence_and_is_stated(engine):
    parsed = parse("burglary in leeds … sorry, robbery", engine.gazetteer)
    assert (parsed.offence_match.key, parsed.offence_match.replaced) == ("robbery", "burglary")
    answer = engine.ask("burglary in leeds … sorry, robbery")
    assert answer.offence_key == "robbery"
    assert answer.text.startswith("Taking your correction: robberies, not ‘burglary’.")


@pytest.mark.parametrize(("text", "asks"), [
    ("how safe is leeds", "safety"), ("is bradford dangerous?", "safety"),
    ("crime rate leeds", "rate"), ("burglary per 1,000 leeds", "rate"), ("burglary leeds", ""),
    ("dangerous driving leeds", ""), ("health and safety offences england and wales", ""),
    ("how dangerous is leeds for burglary", "safety"),
])
def test_safety_and_rate_questions_are_recognised(engine, text, asks):
    engine.ask("warm the store's own offence index")
    assert parse(text, engine.gazetteer, engine.facts.index).offence_match.asks == asks


def test_how_safe_says_what_recorded_crime_can_answer_before_the_figure(engine):
    answer = engine.ask("how safe is Leeds")
    assert answer.status == "ok" and answer.offence_key == "all_crime"
    first = answer.text.split("\n\n")[0]
    assert first.startswith("Recorded crime cannot say how safe a place is")
    assert first.index("cannot say") < first.index("West Yorkshire Police recorded")


def test_a_rate_question_says_what_the_rate_measures(engine):
    answer = engine.ask("crime rate Leeds")
    assert answer.assumptions[0].startswith("The rate asked for is given after the count")
    assert answer.rate_per_1000 is not None


@pytest.mark.parametrize("said", ["1e9", "0", "20222222222222222222", "3.5", "07"])
def test_a_number_that_is_not_a_period_is_junk_never_dropped(said):
    assert parse_period(f"burglary leeds {said}")[0] == PeriodAsk("junk", None, None, said)


@pytest.mark.parametrize("text", ["burglary per 1,000 leeds", "burglary leeds 12 months",
                                  "burglary leeds per 100,000"])
def test_rate_units_and_windows_are_not_junk(text):
    assert parse_period(text)[0] is None


@pytest.mark.parametrize(("text", "names"), [
    ("robbery leeds vs england and wales", ["Leeds", "England and Wales"]),
    ("robbery leeds england and wales", ["Leeds", "England and Wales"]),
    ("robbery england and wales v leeds", ["England and Wales", "Leeds"]),
    ("robbery leeds, bradford and england and wales", ["Leeds", "Bradford",
                                                       "England and Wales"]),
])
def test_england_and_wales_is_one_place_inside_a_comparison(engine, text, names):
    assert [a.best.name for a in parse(text, engine.gazetteer).areas] == names


def test_middlesborough_is_taken_as_middlesbrough_and_stated(engine):
    answer = engine.ask("robbery Middlesborough")
    assert answer.area_name == "Middlesbrough"
    assert answer.text.startswith("Taking ‘middlesborough’ as Middlesbrough.")


def test_misc_is_miscellaneous_crimes_against_society(engine):
    assert parse("misc leeds", engine.gazetteer).offence_match.key == "misc"


@pytest.mark.parametrize(("text", "place", "year", "corrected"), [
    ("robbery in leeds sorry bradford", "Bradford", None, (("bradford", "leeds"),)),
    ("robbery leeds 2023, sorry, 2024", "Leeds", 2024, (("2024", "2023"),)),
    ("burglary leeds 2023 i mean robbery bradford 2024", "Bradford", 2024,
     (("2024", "2023"), ("bradford", "leeds"))),
])
def test_a_correction_of_the_place_or_period_replaces_it_and_is_kept_to_state(engine, text,
                                                                             place, year,
                                                                             corrected):
    parsed = parse(text, engine.gazetteer)
    assert [a.best.name for a in parsed.areas] == [place]
    assert parsed.periods[0].year == year
    assert parsed.offence_match.corrected == corrected


def test_a_rate_question_whose_rate_cannot_be_given_says_so_first(engine):
    """Kent's year to March 2003 is more than two years from any population estimate held."""
    answer = engine.ask("crime rate Kent police year to March 2003")
    assert answer.status == "ok" and answer.rate_per_1000 is None
    assert answer.text.startswith("The rate asked for cannot be given for this figure")
    assert "No rate per 1,000 residents is given" in answer.text
