"""The what's-new digest: records and changes checked against the store with plain SQL."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.answer import Engine
from bot.desk import (
    MAX_CHANGES,
    MAX_RECORDS,
    MIN_RUN,
    SMALL,
    Digest,
    build_digest,
    digest_buttons,
    digest_text,
    item_text,
    newest_edition,
    same_window_run,
)
from bot.offences import BY_KEY
from bot.periods import year_before
from bot.store import Break, FigureRow
from bot.subscriptions import PatchArea, Subscriptions, parse_patch
from bot.telegram.alerts import digest_due, on_demand
from bot.telegram.render import digest_html
from tests.fake_telegram import parse_html

PATCH = "Wrexham, Flintshire, North Wales Police"
# A patch of the tiny store built in code (tests/fixtures.py), for tests that need only a store.
TINY_PATCH = "Manchester, Bolton, Greater Manchester Police"
DECEMBER_2024 = "pfa-2024-12-31"


@pytest.fixture(scope="module")
def sql(db_path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)


def areas(engine: Engine, text: str) -> tuple[PatchArea, ...]:
    parsed = parse_patch(text, engine.gazetteer)
    assert parsed.complete, text
    return parsed.areas


@dataclass(frozen=True)
class Case:
    """A store, plain SQL on it and the December 2024 digest of a patch of it."""

    engine: Engine
    sql: sqlite3.Connection
    december: Digest


@pytest.fixture(scope="module", params=["tiny", "real"])
def case(request: pytest.FixtureRequest) -> Case:
    """The digest rules checked with plain SQL on the tiny store built in code (always) and on
    the real store (when the ONS files are present)."""
    tiny = request.param == "tiny"
    engine = request.getfixturevalue("tiny_engine" if tiny else "engine")
    path = request.getfixturevalue("tiny_db" if tiny else "db_path")
    patch = areas(engine, TINY_PATCH if tiny else PATCH)
    return Case(engine, sqlite3.connect(f"file:{path}?mode=ro", uri=True),
                build_digest(engine.store, patch, DECEMBER_2024))


def offences_for(kind: str) -> list[str]:
    levels = {"local"} if kind == "csp" else {"local", "force"}
    return [k for k, o in BY_KEY.items() if o.level in levels]


def counts(sql: sqlite3.Connection, area: str, offence: str) -> dict[str, int]:
    return dict(sql.execute("select period_end, count from figures where area = ? and "
                            "offence = ? and count is not null", (area, offence)).fetchall())


def broken(sql: sqlite3.Connection, area: str, offence: str, before: str, end: str) -> bool:
    """True when ONS states a break between two period ends: nothing is compared across it."""
    return sql.execute("select 1 from breaks where (area = ? or area is null) and offence = ? "
                       "and starts > ? and starts <= ?", (area, offence, before, end)
                       ).fetchone() is not None


# --- same-window series -------------------------------------------------------------------------


def row(end: str, count: int | None) -> FigureRow:
    return FigureRow(end, count, None, None, "test", None)


def test_a_run_uses_the_same_window_only_and_stops_at_a_gap():
    series = [row("2018-12-31", 900), row("2019-06-30", 10), row("2019-12-31", 100),
              row("2021-12-31", 300), row("2022-06-30", 5), row("2022-12-31", 200),
              row("2023-12-31", 250)]
    run = same_window_run(series, "2023-12-31")
    assert [f.period_end for f in run] == ["2021-12-31", "2022-12-31", "2023-12-31"]


def test_a_run_does_not_pass_through_a_figure_ons_did_not_publish():
    series = [row("2020-12-31", 50), row("2021-12-31", None), row("2022-12-31", 60)]
    assert [f.period_end for f in same_window_run(series, "2022-12-31")] == ["2022-12-31"]


# --- digests against the store ------------------------------------------------------------------


def test_rises_and_falls_are_the_largest_changes_with_big_enough_counts(case):
    sql, december = case.sql, case.december
    period = "2024-12-31"
    changes: dict[tuple[str, str], float] = {}
    for area in december.patch:
        for offence in offences_for(area.kind):
            held = counts(sql, area.code, offence)
            now, before = held.get(period), held.get(year_before(period))
            if now is not None and before is not None and min(now, before) >= SMALL \
                    and now != before \
                    and not broken(sql, area.code, offence, year_before(period), period):
                changes[(area.code, offence)] = 100.0 * (now - before) / before
    rises = sorted((v for v in changes.values() if v > 0), reverse=True)[:MAX_CHANGES]
    falls = sorted(v for v in changes.values() if v < 0)[:MAX_CHANGES]
    assert [i.change_pct for i in december.rises] == pytest.approx(rises, abs=0.05)
    assert [i.change_pct for i in december.falls] == pytest.approx(falls, abs=0.05)
    for item in (*december.rises, *december.falls):
        assert item.change_pct == pytest.approx(changes[(item.area_code, item.offence_key)],
                                                abs=0.05)
        held = counts(sql, item.area_code, item.offence_key)
        assert (item.count, item.previous) == (held[period], held["2023-12-31"])


def test_records_are_same_window_records_over_the_unbroken_run_held(case):
    sql, december = case.sql, case.december
    period = "2024-12-31"
    expected: dict[tuple[str, str], tuple[str, int, str]] = {}
    for area in december.patch:
        for offence in offences_for(area.kind):
            held = counts(sql, area.code, offence)
            if held.get(period, 0) < SMALL:
                continue
            run, end = [], period
            while end in held:
                run.append(held[end])
                if broken(sql, area.code, offence, year_before(end), end):
                    break
                end = year_before(end)
            if len(run) < MIN_RUN:
                continue
            start = f"{int(period[:4]) - len(run) + 1}{period[4:]}"
            if run[0] > max(run[1:]):
                expected[(area.code, offence)] = ("record_high", len(run), start)
            elif run[0] < min(run[1:]):
                expected[(area.code, offence)] = ("record_low", len(run), start)
    assert expected, "the December 2024 edition sets records for this patch"
    assert len(december.records) == min(MAX_RECORDS, len(expected))
    for item in december.records:
        assert expected[(item.area_code, item.offence_key)] == (
            item.kind, item.run_years, item.run_from)
    text = digest_text(december)
    first = december.records[0]
    assert f"the {'highest' if first.kind == 'record_high' else 'lowest'} of the " \
           f"{first.run_years} years to December held" in text


def test_the_default_edition_is_the_newest_for_the_patch_and_says_what_is_not_held(
        engine, store):
    patch = areas(engine, PATCH)
    newest = newest_edition(store, patch)
    assert newest is not None and newest.period_end == max(
        e.period_end for e in store.editions() if e.key.startswith("pfa-"))
    digest = build_digest(store, patch)
    assert digest.edition_key == newest.key
    assert not digest.records and not digest.rises
    assert "No figures for the year to June 2024 are held" in digest_text(digest)


def test_totals_open_the_digest_for_each_area(case):
    sql, december = case.sql, case.december
    for total in december.totals:
        held = counts(sql, total.area_code, "all_crime")
        assert (total.count, total.previous) == (held["2024-12-31"], held["2023-12-31"])
    assert [t.area_code for t in december.totals] == [a.code for a in december.patch]


def test_missing_figures_are_said_not_compared(engine):
    digest = build_digest(engine.store, areas(engine, "Devon and Cornwall police, Plymouth"),
                          "csp-2022-12-31")
    assert not digest.items and not digest.totals
    assert any(m.startswith("Devon and Cornwall Police: ONS published no figures") for m in
               digest.missing)
    assert any(m.startswith("Plymouth: ONS published no figures") for m in digest.missing)


def test_an_unknown_edition_is_said(engine):
    digest = build_digest(engine.store, areas(engine, "Leeds"), "pfa-1999-12-31")
    assert digest.period_end is None
    assert "not held" in digest_text(digest)


def test_every_item_has_a_button_that_opens_its_full_answer(case):
    engine, december = case.engine, case.december
    buttons = digest_buttons(december)
    assert buttons and len(buttons) == len({(i.area_code, i.offence_key) for i in
                                            december.items})
    for button in buttons:
        answer = engine.answer_for(button.area, button.offence, button.period)
        assert answer.status == "ok" and answer.period_end == button.period
        assert answer.area_code == button.area


@pytest.mark.parametrize(("patch", "edition"), [
    (PATCH, DECEMBER_2024), (PATCH, None), ("Leeds, West Yorkshire Police", DECEMBER_2024),
    ("Devon and Cornwall police, Plymouth", "csp-2022-12-31"),
])
def test_every_digest_is_valid_telegram_html(engine, patch, edition):
    text = digest_html(build_digest(engine.store, areas(engine, patch), edition))
    plain, _ = parse_html(text)
    assert len(plain.encode("utf-16-le")) // 2 <= 4096


def test_a_twenty_area_patch_still_fits_one_message(engine):
    forces = [a for a in engine.store.areas() if a.kind == "pfa"][:20]
    patch = tuple(PatchArea(a.code, a.name, a.kind) for a in forces)
    text = digest_html(build_digest(engine.store, patch, DECEMBER_2024))
    assert len(text.encode("utf-16-le")) // 2 <= 4096
    parse_html(text)


# --- alerts -------------------------------------------------------------------------------------


def test_digests_go_to_subscribed_groups_once_even_across_a_restart(
        tiny_engine, tiny_store, tmp_path):
    path = tmp_path / "desk.db"
    subs = Subscriptions(path)
    subscribed, quiet, no_patch = -100, -200, -300
    subs.set_patch(subscribed, parse_patch(TINY_PATCH, tiny_engine.gazetteer), may_change=True)
    subs.subscribe(subscribed, may_change=True)
    subs.set_patch(quiet, parse_patch("Blackpool", tiny_engine.gazetteer), may_change=True)
    subs.subscribe(no_patch, may_change=True)
    due = digest_due(subs, tiny_store)
    assert [(d.chat, d.edition) for d in due] == [
        (subscribed, newest_edition(tiny_store, areas(tiny_engine, TINY_PATCH)).key)]
    parse_html(due[0].text)
    assert subs.mark_sent(due[0].chat, due[0].edition)
    assert digest_due(subs, tiny_store) == []
    subs.close()
    reopened = Subscriptions(path)
    assert digest_due(reopened, tiny_store) == []
    reopened.close()


def test_a_group_subscribed_at_the_current_edition_waits_for_the_next(
        tiny_engine, tiny_store, tmp_path):
    subs = Subscriptions(tmp_path / "desk.db")
    patch = parse_patch(TINY_PATCH, tiny_engine.gazetteer)
    subs.set_patch(-1, patch, may_change=True)
    current = newest_edition(tiny_store, patch.areas)
    subs.subscribe(-1, may_change=True, baseline=current.key if current else None)
    assert digest_due(subs, tiny_store) == []
    subs.close()


def test_crimebot_digest_prints_the_patch_digest(db_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "digest", "--db", str(db_path), "--patch", PATCH,
         "--edition", DECEMBER_2024], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.startswith("New ONS figures: the year to December 2024")
    assert "Largest rises" in result.stdout and "<b>" not in result.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "bot", "digest", "--db", str(db_path), "--patch", "Atlantis"],
        capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1 and "atlantis" in bad.stderr


def test_new_on_demand_gives_the_newest_digest_or_asks_for_a_patch(
        tiny_engine, tiny_store, tmp_path):
    subs = Subscriptions(tmp_path / "desk.db")
    text, buttons = on_demand(subs, tiny_store, -5)
    assert "no patch yet" in text and buttons == ()
    subs.set_patch(-5, parse_patch(TINY_PATCH, tiny_engine.gazetteer), may_change=True)
    text, _ = on_demand(subs, tiny_store, -5)
    newest = newest_edition(tiny_store, areas(tiny_engine, TINY_PATCH))
    assert newest is not None
    assert text == digest_html(build_digest(tiny_store, areas(tiny_engine, TINY_PATCH)))
    parse_html(text)
    subs.close()


# --- what the strict fake Bot API accepts ---------------------------------------------------------


async def test_due_digests_rankings_and_stories_are_accepted_by_telegram(
        engine, store, tmp_path, fake):
    from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

    from bot.rankings import parse_ranking, rank, ranking_buttons
    from bot.story import build_story
    from bot.telegram import ACTION_ANSWER, decode_callback, encode_callback
    from bot.telegram.render import ranking_html, story_html
    from tests.conftest import E2E_TOKEN

    group = -1009876543210
    fake.add_chat(group)
    subs = Subscriptions(tmp_path / "desk.db")
    subs.set_patch(group, parse_patch("Leeds, West Yorkshire Police, Bradford",
                                      engine.gazetteer), may_change=True)
    subs.subscribe(group, may_change=True)
    digest = build_digest(store, subs.patch(group), DECEMBER_2024)
    ask = parse_ranking("where does Leeds rank for robbery in Yorkshire and the Humber 2024",
                        engine.gazetteer)
    assert ask is not None
    ranking = rank(store, ask)
    messages = [(digest_html(digest), digest_buttons(digest)),
                (ranking_html(ranking), ranking_buttons(ranking)),
                (story_html(build_story(engine.ask("sexual offences Leeds 2024"))), ())]
    async with Bot(E2E_TOKEN, base_url=fake.base_url,
                   base_file_url=fake.base_file_url) as bot:
        for text, buttons in messages:
            rows = []
            for button in buttons:
                data = encode_callback(ACTION_ANSWER, button.area, button.offence, button.period)
                pressed = decode_callback(data)
                assert pressed is not None and (pressed.area, pressed.period) == (
                    button.area, button.period)
                rows.append([InlineKeyboardButton(button.label, callback_data=data)])
            await bot.send_message(group, text, parse_mode="HTML",
                                   reply_markup=InlineKeyboardMarkup(rows) if rows else None)
    assert len(fake.sent) == 3
    assert all(any(e["type"] == "bold" for e in sent.entities) for sent in fake.sent)
    assert fake.sent[0].plain_text.startswith("New ONS figures: the year to December 2024")
    assert "▶ 1. Leeds" in fake.sent[1].plain_text
    subs.close()


def test_a_run_stops_at_a_boundary_change_of_the_same_code():
    series = [row("2021-12-31", 900), row("2022-12-31", 950), row("2023-12-31", 1200),
              row("2024-12-31", 1300)]
    run = same_window_run(series, "2024-12-31", "E22000367")
    assert [f.period_end for f in run] == ["2023-12-31", "2024-12-31"]
    assert len(same_window_run(series, "2024-12-31", "E22000001")) == 4


def test_dorset_sets_no_record_across_its_boundary_change(engine):
    digest = build_digest(engine.store, areas(engine, "Dorset council"), DECEMBER_2024)
    assert digest.totals and not digest.records


def test_a_digest_compares_nothing_ons_calls_an_undercount_and_says_so(engine):
    """Leicestershire's burglary undercount (December 2024 notes) also undercounts its theft
    and total crime: no change, no record, and the line says why."""
    digest = build_digest(engine.store, areas(engine, "Leicestershire Police"), DECEMBER_2024)
    total = next(i for i in digest.totals if i.area_code == "E23000021")
    assert total.previous is None and total.change_pct is None
    assert "ONS says this figure is an undercount, so no change is given" in item_text(total)
    flagged = {"burglary", "theft", "all_crime", "residential_burglary",
               "non_residential_burglary"}
    assert not [i for i in (*digest.records, *digest.rises, *digest.falls)
                if i.area_code == "E23000021" and i.offence_key in flagged]


def test_a_run_stops_at_a_break_ons_states():
    review = Break("E23000001", "knife", "2024-04-30", "A review.", "pfa-2024-12-31")
    series = [row(f"{year}-12-31", 100 + year) for year in range(2019, 2025)]
    assert [f.period_end for f in same_window_run(series, "2024-12-31", "E23000001",
                                                  [review])] == ["2024-12-31"]
    assert len(same_window_run(series, "2023-12-31", "E23000001", [review])) == 5
