"""The answer path's bounded reads, on a small hand-built store: a few rows each, the right ones."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.store import Store


def build(path: Path) -> Store:
    conn = sqlite3.connect(path)
    conn.executescript("""
        create table meta (key text primary key, value text);
        insert into meta values ('schema', '5');
        create table sources (id integer primary key, edition text, sheet text, cell text,
                              row_label integer, column_label integer, cells text);
        create table labels (id integer primary key, label text);
        create table areas (code text primary key, name text, kind text, force_code text,
                            offered integer);
        insert into areas values ('E22000001', 'Town', 'csp', 'E23000001', 1);
        create table figures (area text, offence text, period_end text, count integer,
                              edition text, rate real, rate_basis text, flag text);
        create table area_names (name text, code text, source text);
        create table local_authorities (code text, name text, csp_code text, year integer);
        create table population (code text, year integer, people integer, basis text);
        create table place_names (name text, code text, source text);
        create table offence_phrases (phrase text, offence text, label integer);
        create table la_keys (key text, year integer);
        create table offences (key text, label text, parent text, level text);
        insert into offences values ('theft', 'Theft offences', null, 'csp');
        insert into offences values ('burglary', 'Burglary', 'theft', 'csp');
        create table editions (key text, title text, dataset text, period_end text,
                               published text);
        insert into editions values ('old', 't', 'd', '2023-12-31', null);
        insert into editions values ('new', 't', 'd', '2024-12-31', null);
    """)
    rows = [("2021-12-31", 10), ("2022-06-30", 11), ("2022-12-31", 12), ("2023-12-31", 13),
            ("2024-12-31", 14)]
    for period, count in rows:
        flag = "partial" if period == "2023-12-31" else None
        conn.execute("insert into figures values (?, ?, ?, ?, ?, ?, ?, ?)",
                     ("E22000001", "theft", period, count, "new", None, None, flag))
    conn.executescript("""
            create table notes (edition text, area text, offence text, period_from text,
                                period_to text, text text, kind text);
            insert into notes values ('new', 'E23000001', null, '2024-10-01', '2024-12-31',
                                      'The force could not supply some data.', 'exclusion');
            insert into notes values ('new', null, 'burglary', null, null, 'Burglary note.',
                                      '');
            insert into notes values ('old', 'E23000001', 'burglary', '2024-11-30',
                                      '2025-11-30', 'An undercount.', 'undercount');
            create table breaks (area text, offence text, starts text, reason text,
                                 edition text);
            insert into breaks values ('E23000001', 'theft', '2024-04-30', 'A review.', 'new');
            insert into breaks values (null, 'theft', '2019-03-31', 'A new method.', 'new');
            insert into breaks values ('E23000002', 'theft', '2020-03-31', 'Elsewhere.', 'new');
            create table revisions (area text, offence text, period_end text, edition text,
                                    count integer);
            insert into revisions values ('E22000001', 'theft', '2023-12-31', 'new', 13);
            insert into revisions values ('E22000001', 'theft', '2023-12-31', 'old', 15);
        """)
    conn.commit()
    conn.close()
    return Store(path)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return build(tmp_path / "crime.db")


def test_same_window_reads_only_that_window_and_never_a_partial_total(store):
    ends = [f.period_end for f in store.same_window("E22000001", "theft", "2024-12-31")]
    assert ends == ["2021-12-31", "2022-12-31", "2024-12-31"]


def test_notes_apply_through_the_area_s_force_and_only_in_their_period(store):
    assert store.notes_for("E22000001", "burglary", "2024-12-31") == [
        "An undercount.", "The force could not supply some data.", "Burglary note."]
    assert store.notes_for("E22000001", "burglary", "2023-12-31") == ["Burglary note."]


def test_a_note_on_an_offence_also_qualifies_the_group_it_belongs_to(store):
    assert store.notes_for("E22000001", "theft", "2023-12-31") == ["Burglary note."]


def test_a_note_qualifies_only_figures_of_the_edition_that_carries_it(store):
    """The old edition's undercount note does not follow the period into the new edition."""
    assert store.notes_for("E22000001", "burglary", "2024-12-31", "new") == [
        "The force could not supply some data.", "Burglary note."]
    assert [n.kind for n in store.qualifications("E22000001", "burglary", "2024-12-31",
                                                 "old")] == ["undercount"]


def test_breaks_split_a_series_through_its_force_oldest_first(store):
    found = store.breaks("E22000001", "theft")
    assert [(b.area, b.starts, b.reason) for b in found] == [
        (None, "2019-03-31", "A new method."), ("E23000001", "2024-04-30", "A review.")]
    assert store.breaks("E22000001", "burglary") == []


def test_revisions_come_oldest_edition_first(store):
    assert store.revisions("E22000001", "theft", "2023-12-31") == [("old", 15), ("new", 13)]


def test_the_nearest_figure_is_the_closest_in_time(store):
    assert store.nearest_figure("E22000001", "theft", "2022-09-30").period_end == "2022-06-30"


def test_a_store_built_before_editions_recorded_their_source_reads_as_not_recorded(store):
    old = store.edition("old")
    assert old is not None and old.period_end == "2023-12-31"
    assert (old.released, old.source_url, old.fetched_at) == (None, None, None)
