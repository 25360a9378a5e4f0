"""The tiny store built in code holds what tests/fixtures.py promises, in the real schema.

The tests that run on it stand in for the real store only while it keeps a revision, a derived
and a partial figure, a break, notes and populations; these checks fail the day an ingest change
quietly drops one, rather than letting those tests pass on an emptier store.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bot.schema import SCHEMA, SCHEMA_VERSION
from bot.store import Store
from tests.fixtures import (
    DERIVED_LANCASHIRE_2021,
    FIRST_PRINTED_GM_ROBBERY_2023,
    FORCE_COUNTS,
    GREATER_MANCHESTER,
    LANCASHIRE,
    NORTH_WEST,
    PEOPLE,
)


def test_it_has_every_table_of_the_real_schema(tiny_db: Path):
    with sqlite3.connect(tiny_db) as conn:
        tables = {name for (name,) in conn.execute(
            "select name from sqlite_master where type = 'table'")}
        (schema,) = conn.execute("select value from meta where key = 'schema'").fetchone()
    assert set(SCHEMA) <= tables and schema == SCHEMA_VERSION


def test_a_revised_figure_keeps_both_editions_and_the_newer_count(tiny_store: Store):
    code, period = GREATER_MANCHESTER.code, "2023-12-31"
    figure = tiny_store.figure(code, "robbery", period)
    assert figure is not None
    assert (figure.count, figure.edition) == (
        FORCE_COUNTS[GREATER_MANCHESTER, "robbery"][1], "pfa-2024-12-31")
    assert dict(tiny_store.revisions(code, "robbery", period))["pfa-2023-12-31"] \
        == FIRST_PRINTED_GM_ROBBERY_2023


def test_derived_and_partial_figures_are_flagged(tiny_store: Store):
    derived = tiny_store.figure(LANCASHIRE.code, "all_crime", "2021-12-31")
    partial = tiny_store.figure(NORTH_WEST.code, "robbery", "2022-12-31")
    assert derived is not None and (derived.count, derived.flag) == (
        DERIVED_LANCASHIRE_2021, "derived")
    assert partial is not None and partial.flag == "partial"


def test_the_break_notes_and_summed_populations_are_held(tiny_store: Store):
    (knife,) = tiny_store.breaks(GREATER_MANCHESTER.code, "knife")
    assert knife.starts == "2024-04-30"
    assert tiny_store.notes_for(NORTH_WEST.code, "robbery", "2022-12-31")
    held = tiny_store.population(GREATER_MANCHESTER.code, 2023)
    assert held is not None
    assert held[1] == PEOPLE["E08000003"] + PEOPLE["E08000001"] + PEOPLE["E08000006"]
    assert held[2] == "sum of local authority estimates"
