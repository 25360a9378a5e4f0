"""Rankings a reporter can trust: checked against figures computed here with plain SQL."""

from __future__ import annotations

import csv
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answer import Engine
from bot.places import name_key
from bot.rankings import (
    REGION_FORCES,
    SMALL,
    Entry,
    Ranking,
    _positions,
    parse_ranking,
    rank,
    ranking_buttons,
)
from bot.telegram.render import ranking_html
from tests.fake_telegram import parse_html


@pytest.fixture(scope="module")
def sql(db_path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)


@pytest.fixture(scope="module")
def tiny_sql(tiny_db) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{tiny_db}?mode=ro", uri=True)


def ranking(engine: Engine, question: str) -> Ranking:
    ask = parse_ranking(question, engine.gazetteer)
    assert ask is not None, question
    return rank(engine.store, ask, engine.today)


def sql_rates(sql: sqlite3.Connection, force: str, offence: str, period: str
              ) -> dict[str, float]:
    """Published rate where ONS gives one, else count per 1,000 of the latest estimate held."""
    year = int(period[:4])
    rows = sql.execute(
        "select f.area, f.count, f.rate, (select p.people from population p where p.code = f.area "
        "and p.year <= ? order by p.year desc limit 1) from figures f join areas a on "
        "a.code = f.area where a.kind = 'csp' and a.offered and a.force_code = ? and "
        "f.offence = ? and f.period_end = ? and f.count is not null",
        (year, force, offence, period)).fetchall()
    return {area: rate if rate is not None else 1000.0 * count / people
            for area, count, rate, people in rows if rate is not None or people}


def assert_order(entries: tuple[Entry, ...], expected: dict[str, float], descending: bool):
    assert {e.code for e in entries} == set(expected)
    for entry in entries:
        assert entry.value == pytest.approx(expected[entry.code])
    values = [expected[e.code] for e in entries]
    assert values == sorted(values, reverse=descending)


# --- parsing -----------------------------------------------------------------------------------


def test_the_issue_examples_parse_as_rankings(engine):
    kent = parse_ranking("which area in Kent has the highest burglary rate", engine.gazetteer)
    assert kent and kent.offence == "burglary" and kent.measure == "rate" and kent.highest_first
    assert kent.within and kent.within.best and kent.within.best.code == "E23000032"
    rises = parse_ranking("top 10 shoplifting rises 2024", engine.gazetteer)
    assert rises and (rises.offence, rises.measure, rises.limit, rises.period.year) == (
        "shoplifting", "change", 10, 2024)
    wrexham = parse_ranking("where does Wrexham rank for sexual offences in Wales",
                            engine.gazetteer)
    assert wrexham and wrexham.offence == "sexual"
    assert wrexham.focus and wrexham.focus.best and wrexham.focus.best.code == "W14000006"
    assert wrexham.within and wrexham.within.best and wrexham.within.best.code == "W92000004"
    lowest = parse_ranking("lowest violent crime rate in North Wales", engine.gazetteer)
    assert lowest and lowest.offence == "violence" and not lowest.highest_first
    assert lowest.within and lowest.within.best and lowest.within.best.code == "W15000001"


@pytest.mark.parametrize("question", [
    "sexual offences Wrexham 2022", "burglaries in Caerdydd last year",
    "what's the most recent burglary figure for Leeds", "shoplifting Manchester 2024 vs 2023", "",
    "what is the most common crime in Leeds", "top crimes in Cardiff 2024",
])
def test_ordinary_questions_are_left_to_the_answer_engine(engine, question):
    assert parse_ranking(question, engine.gazetteer) is None


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_text_parses_or_is_declined_without_raising(tiny_engine, text):
    ask = parse_ranking(text, tiny_engine.gazetteer)
    if ask is not None:
        assert rank(tiny_engine.store, ask, tiny_engine.today).status in {
            "ok", "ambiguous", "not_found", "no_data"}


# --- rankings against SQL ---------------------------------------------------------------------


def test_kent_burglary_rates_rank_as_the_published_figures_say(engine, sql):
    result = ranking(engine, "which area in Kent has the highest burglary rate in 2024")
    assert result.status == "ok" and result.period_end == "2024-12-31"
    expected = sql_rates(sql, "E23000032", "burglary", "2024-12-31")
    assert_order(result.ranked, expected, descending=True)
    assert all(not e.computed_rate for e in result.ranked), "ONS publishes these rates"
    assert "mid-2022 population" in result.rate_basis


def test_local_rates_rank_as_computed_from_the_population(tiny_engine, tiny_sql):
    """The tiny store publishes no local rates, so each is count per 1,000 of the estimate."""
    result = ranking(tiny_engine, "which area in Greater Manchester has the highest burglary rate")
    assert result.status == "ok" and result.period_end == "2024-12-31"
    expected = sql_rates(tiny_sql, "E23000005", "burglary", "2024-12-31")
    assert len(expected) == 3
    assert_order(result.ranked, expected, descending=True)
    assert {e.computed_rate for e in result.ranked} == {"computed from the mid-2023 population"}


def test_latest_rates_are_computed_from_the_population_and_say_which_year(engine, sql):
    result = ranking(engine, "lowest violent crime rate in North Wales")
    assert result.period_end == "2025-06-30"
    expected = sql_rates(sql, "W15000001", "violence", "2025-06-30")
    assert_order(result.ranked, expected, descending=False)
    assert {e.computed_rate for e in result.ranked} == {"computed from the mid-2023 population"}
    assert "computed from the mid-2023 population" in ranking_html(result)


def test_top_ten_shoplifting_rises_match_sql_and_skip_small_counts(engine, sql):
    result = ranking(engine, "top 10 shoplifting rises 2024")
    rows = sql.execute(
        "select a.code, 100.0 * (n.count - o.count) / o.count from areas a "
        "join figures n on n.area = a.code and n.offence = 'shoplifting' "
        "and n.period_end = '2024-12-31' join figures o on o.area = a.code and "
        "o.offence = 'shoplifting' and o.period_end = '2023-12-31' where a.kind = 'csp' and "
        "a.offered and n.count >= ? and o.count >= ?", (SMALL, SMALL)).fetchall()
    expected = dict(rows)
    assert_order(result.ranked, expected, descending=True)
    top = sorted(expected.values(), reverse=True)[:10]
    assert [e.value for e in result.ranked[:10]] == pytest.approx(top)
    small = {code for (code,) in sql.execute(
        "select a.code from areas a join figures n on n.area = a.code and n.offence = "
        "'shoplifting' and n.period_end = '2024-12-31' join figures o on o.area = a.code and "
        "o.offence = 'shoplifting' and o.period_end = '2023-12-31' where a.kind = 'csp' and "
        "a.offered and min(n.count, o.count) < ?", (SMALL,))}
    assert small, "the store has small local counts to test with"
    assert small <= {e.code for e in result.not_ranked}
    assert all("unreliable" in e.reason for e in result.not_ranked if e.code in small)
    lines = ranking_html(result).split("\n")
    assert len([line for line in lines if line[:1].isdigit() or line[:1] == "="]) == 10
    assert f"({len(result.ranked)} areas ranked.)" in lines


def test_wrexham_is_placed_among_welsh_areas_and_highlighted(engine, sql):
    result = ranking(engine, "where does Wrexham rank for sexual offences in Wales 2024")
    welsh = {code for (code,) in sql.execute(
        "select f.area from figures f join areas a on a.code = f.area where a.kind = 'csp' and "
        "a.offered and a.force_code like 'W15%' and f.offence = 'sexual' and "
        "f.period_end = '2024-12-31'")}
    assert {e.code for e in result.ranked} | {e.code for e in result.not_ranked} == welsh
    focus = result.focus
    assert focus is not None and focus.code == "W14000006"
    (rate,) = sql.execute("select rate from figures where area = 'W14000006' and offence = "
                          "'sexual' and period_end = '2024-12-31'").fetchone()
    above = [e for e in result.ranked if round(e.value or 0, 1) > round(rate, 1)]
    assert focus.position == len(above) + 1
    assert "<b>▶ " in ranking_html(result) and "Wrexham" in ranking_html(result)


def test_devon_and_cornwall_december_2022_is_listed_as_not_available(engine):
    result = ranking(engine, "which force has the highest burglary rate in 2022")
    assert result.level == "pfa" and result.period_end == "2022-12-31"
    assert "E23000035" not in {e.code for e in result.ranked}
    missing = {e.code: e.reason for e in result.not_ranked}
    assert "not available" in missing["E23000035"]
    assert "Devon and Cornwall: not available" in ranking_html(result)


def test_forces_in_a_region_are_its_forces_only(tiny_engine):
    result = ranking(tiny_engine, "top 5 burglary falls among forces in the North West")
    assert result.scope_code == "E12000002" and result.level == "pfa"
    assert {e.code for e in result.ranked} <= set(REGION_FORCES["E12000002"])
    assert all((e.value or 0) <= 0 for e in result.ranked[:3])


def test_the_force_to_region_table_agrees_with_the_ons_long_series(sources, store):
    names = {name_key(a.name): a.code for a in store.areas() if a.kind == "pfa"}
    regions = {name_key(a.name): a.code for a in store.areas() if a.kind == "region"}
    from_file: dict[str, set[str]] = {}
    with (sources / "rec-crime-pfa.csv").open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            force, region = name_key(row["PFA"]), name_key(row["Region"])
            if force in names and region in regions:
                from_file.setdefault(regions[region], set()).add(names[force])
    assert from_file == {region: set(forces) for region, forces in REGION_FORCES.items()}


def test_an_area_outside_the_scope_is_told_so(engine):
    result = ranking(engine, "where does Leeds rank for burglary in Wales")
    assert result.status == "no_data" and "not part of Wales" in result.message


def test_an_unknown_place_is_named_back(tiny_engine):
    result = ranking(tiny_engine, "highest burglary rate in Atlantis")
    assert result.status == "not_found" and "atlantis" in result.message


def test_a_national_only_offence_is_not_ranked(tiny_engine):
    result = ranking(tiny_engine, "top 10 areas for rape")
    assert result.status == "no_data" and "England and Wales as a whole" in result.message


def test_equal_figures_share_a_place():
    entries = [Entry(c, c, 100, value=v) for c, v in
               [("a", 4.04), ("b", 3.96), ("c", 3.0), ("d", 5.0)]]
    ranked = _positions(entries, "rate", highest_first=True)
    assert [(e.code, e.position, e.tied) for e in ranked] == [
        ("d", 1, False), ("a", 2, True), ("b", 2, True), ("c", 4, False)]


# --- text -------------------------------------------------------------------------------------


@pytest.mark.parametrize("question", [
    "which area in Kent has the highest burglary rate", "top 10 shoplifting rises 2024",
    "where does Wrexham rank for sexual offences in Wales", "lowest violent crime rate in Wales",
    "which force has the most burglaries", "highest burglary rate in <b>Atlantis & co",
    "highest knife crime rate in Wales", "where does Newcastle rank for burglary",
])
def test_every_ranking_is_valid_telegram_html(engine, question):
    text = ranking_html(ranking(engine, question))
    plain, _ = parse_html(text)
    assert 0 < len(plain.encode("utf-16-le")) // 2 <= 4096


def test_crimebot_rank_prints_the_list(db_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "rank", "--db", str(db_path),
         "which area in Kent has the highest burglary rate 2024"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.startswith("Burglary: local areas in Kent by rate per 1,000 residents")
    assert "<b>" not in result.stdout


def test_hostile_inputs_never_break_a_ranking_or_its_html(tiny_engine):
    corpus = Path(__file__).with_name("hostile_inputs.txt").read_text(encoding="utf-8")
    lines = [*corpus.split("\n"), "top " * 1000, "highest\x00rate\u2028in Kent", "\ud800 top"]
    for line in lines:
        ask = parse_ranking(line, tiny_engine.gazetteer)
        if ask is None:
            continue
        text = ranking_html(rank(tiny_engine.store, ask, tiny_engine.today))
        parse_html(text)
        assert len(text.encode("utf-16-le", "surrogatepass")) // 2 <= 4096, line[:40]


def test_a_record_question_is_not_taken_for_a_ranking(engine):
    assert parse_ranking("is burglary in Leeds the highest since 2010", engine.gazetteer) is None


def test_a_very_long_list_is_cut_to_fit_one_message(engine):
    result = ranking(engine, "top 999 burglary rates 2024")
    assert len(result.ranked) > 300
    text = ranking_html(result)
    parse_html(text)
    assert len(text) <= 4096 and f"({len(result.ranked)} areas ranked.)" in text


def test_many_areas_left_out_for_the_same_reason_are_counted_not_listed(engine):
    result = ranking(engine, "top 10 homicide rises 2024")
    assert len(result.not_ranked) > 100
    text = ranking_html(result)
    small = [e for e in result.not_ranked if e.reason.startswith("fewer than 50")]
    assert len(small) > 100
    assert f"{len(small)} areas: fewer than 50 offences" in text


def test_ranking_buttons_open_the_asked_area_first(engine):
    result = ranking(engine, "where does Wrexham rank for sexual offences in Wales 2024")
    buttons = ranking_buttons(result)
    assert buttons[0].area == "W14000006" and len(buttons) == 4
    for button in buttons:
        answer = engine.answer_for(button.area, button.offence, button.period)
        assert (answer.status, answer.area_code, answer.period_end) == (
            "ok", button.area, "2024-12-31")


def test_a_rate_ons_withheld_is_not_made_up(engine, sql):
    result = ranking(engine, "highest shoplifting rate in London 2024")
    assert result.scope_name == "London" and result.level == "csp"
    (published,) = sql.execute(
        "select rate from figures where area = 'E22000180' and offence = 'shoplifting' and "
        "period_end = '2024-12-31'").fetchone()
    assert published is None, "ONS gives the City of London no rate"
    assert "E22000180" not in {e.code for e in result.ranked}
    assert "ONS publishes no rate" in {e.code: e.reason for e in result.not_ranked}["E22000180"]
    assert all(not e.computed_rate for e in result.ranked)


def test_a_change_across_a_boundary_change_is_not_ranked(engine):
    result = ranking(engine, "biggest burglary rises in Dorset 2023")
    assert result.period_end == "2023-12-31"
    reasons = {e.code: e.reason for e in result.not_ranked}
    assert "boundary changed" in reasons["E22000367"]


def test_an_area_ons_never_gives_a_rate_is_not_given_one_in_a_computed_period(engine):
    result = ranking(engine, "which areas have the highest burglary rate")
    assert result.period_end == "2025-06-30" and all(e.computed_rate for e in result.ranked)
    assert "E22000180" in {e.code for e in result.not_ranked}


def test_stray_words_are_not_searched_as_places(tiny_engine):
    ask = parse_ranking("which borough suffers the worst knife crime", tiny_engine.gazetteer)
    assert ask is not None and ask.focus is None and ask.within is None
    misspelt = parse_ranking("highest burglary rate in Atlantis", tiny_engine.gazetteer)
    assert misspelt is not None and misspelt.within is not None
    assert misspelt.within.status == "not_found"


def test_every_word_that_makes_a_ranking_passes_the_cheap_check_before_rankings_is_imported():
    from bot.rankings import _TRIGGER
    from bot.reply import MAYBE_RANKING

    pattern = _TRIGGER.pattern
    words = pattern[pattern.index("(") + 1:pattern.index(")")].split("|")
    assert len(words) > 10
    assert [w for w in words if not MAYBE_RANKING.search(w)] == []


def test_every_area_a_ranking_could_not_rank_is_listed_with_its_reason(engine, sql):
    """The City of London's force has no June 2025 burglary figure: it is listed, not dropped."""
    result = ranking(engine, "which force has the highest burglary rate")
    forces = {code for (code,) in sql.execute(
        "select code from areas where kind = 'pfa' and offered and (code like 'E23%' or code "
        "like 'W15%')")}
    listed = {e.code for e in (*result.ranked, *result.not_ranked)}
    assert listed == forces
    held = {code for (code,) in sql.execute(
        "select area from figures where offence = 'burglary' and period_end = ?",
        (result.period_end,))}
    missing = sorted(forces - held)
    assert missing, "the store should hold a force without this period's figure"
    for entry in result.not_ranked:
        if entry.code in missing:
            assert entry.reason == "no figure for the year to June 2025 is held"
    assert "City of London: no figure for the year to June 2025 is held" in ranking_html(result)


def test_rankings_compute_rates_under_the_answers_population_rule(engine, sql):
    """A 2003 period is more than two years from any population estimate held, so neither the
    answer nor the ranking computes a rate for it."""
    result = ranking(engine, "which force had the highest burglary rate in 2003")
    assert result.ranked == ()
    reasons = {e.reason for e in result.not_ranked if e.count is not None}
    assert any("more than 2 years from the period" in r for r in reasons)
    answer = engine.ask("burglary Kent police year to March 2003")
    assert answer.rate_per_1000 is None


@pytest.mark.parametrize(("question", "key", "said"), [
    ("which area in Kent has the highest burgalry rate", "burglary", "burgalry"),
    ("which force has the highest vilent crime rate", "violence", "vilent"),
])
def test_a_slipped_offence_word_is_ranked_as_that_offence_and_stated(engine, question, key,
                                                                     said):
    result = ranking(engine, question)
    assert result.offence_key == key
    assert any(n.startswith(f"Taking ‘{said}’ as ") for n in result.notes)


def test_an_offence_spelled_right_needs_no_statement(engine):
    result = ranking(engine, "which area in Kent has the highest burglary rate")
    assert not any(n.startswith("Taking") for n in result.notes)
