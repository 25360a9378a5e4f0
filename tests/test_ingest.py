"""The store holds exactly what ONS published, knows its editions, and is never half-built."""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from bot.ingest import IngestError, build
from bot.store import Store


def count(store: Store, area: str, offence: str, period_end: str) -> int | None:
    figure = store.figure(area, offence, period_end)
    assert figure is not None, f"no figure for {area} {offence} {period_end}"
    return figure.count


def code_of(store: Store, name: str, kind: str) -> str:
    matches = [a.code for a in store.areas() if a.name == name and a.kind == kind]
    assert len(matches) == 1, (name, kind, matches)
    return matches[0]


@pytest.mark.parametrize(("name", "kind", "period_end", "expected"), [
    ("Wrexham", "csp", "2022-12-31", 536),
    ("Wrexham", "csp", "2021-12-31", 461),
    ("Flintshire", "csp", "2022-12-31", 479),
    ("Bedford", "csp", "2024-12-31", 548),
    ("England and Wales", "england_and_wales", "2022-03-31", 193357),
])
def test_sexual_offence_counts_match_the_published_tables(store, name, kind, period_end, expected):
    assert count(store, code_of(store, name, kind), "sexual", period_end) == expected


def test_csp_figures_keep_the_edition_they_came_from(store):
    wrexham = code_of(store, "Wrexham", "csp")
    assert store.figure(wrexham, "sexual", "2022-12-31").edition == "csp-2022-12-31"
    assert store.figure(wrexham, "sexual", "2024-12-31").edition == "pfa-2024-12-31"
    assert store.figure(wrexham, "sexual", "2025-06-30").edition == "pfa-2025-06-30-table-c2"


def test_published_rates_are_stored_with_their_population_basis(store):
    figure = store.figure(code_of(store, "Wrexham", "csp"), "sexual", "2022-12-31")
    assert figure.rate is not None and 3 < figure.rate < 5
    assert "mid-2021" in figure.rate_basis


def test_force_subtotal_rows_become_force_figures(store):
    assert store.area("W15000001").name == "North Wales"
    assert store.area("W15000001").kind == "pfa"
    assert count(store, "W15000001", "sexual", "2024-12-31") is not None


def test_every_csp_of_the_2023_lookup_is_an_area(store, sources):
    lookup = next(sources.glob("*December__2023*Lookup*.csv"))
    with lookup.open(encoding="utf-8-sig") as handle:
        codes = {row["CSP23CD"] for row in csv.DictReader(handle)}
    held = {a.code for a in store.areas()}
    assert len(codes) == 314
    assert codes <= held


def test_force_series_covers_every_period_of_the_long_file(store):
    periods = [f.period_end for f in store.series("E23000026", "sexual")]
    expected = [f"{y}-03-31" for y in range(2003, 2007)] + [
        f"{y}-{md}" for y in range(2007, 2019)
        for md in ("03-31", "06-30", "09-30", "12-31")]
    assert set(expected) <= set(periods)
    assert "2017-12-30" not in periods


def test_missing_markers_are_null_never_zero(store):
    devon = store.figure("E23000035", "all_crime", "2022-12-31")
    assert devon is not None and devon.count is None


def test_negative_counts_are_kept_as_published(db_path):
    with sqlite3.connect(db_path) as conn:
        negatives = conn.execute("select count(*) from figures where count < 0").fetchone()[0]
    assert negatives > 0


def test_unassigned_rows_are_kept_but_never_offered(store):
    unassigned = [a for a in store.areas() if a.kind == "unassigned"]
    assert len(unassigned) >= 40
    assert not any(a.offered for a in unassigned)
    gwent = next(a for a in unassigned if "Gwent" in a.name)
    assert gwent.force_code == "W15000002"


def test_a_code_printed_against_another_place_is_not_merged(store, built):
    _, report = built
    stroud = store.figure("E22000097", "sexual", "2021-12-31")
    west_northants = store.figure("E06000062", "sexual", "2021-12-31")
    assert west_northants is not None and west_northants.count > 300
    assert stroud is None or stroud.count != west_northants.count
    assert any("West Northamptonshire" in note and "E22000097" in note for note in report.notes)


def test_renamed_csp_keeps_its_code_and_newest_name(store):
    assert store.area("E22000145").name == "Folkestone and Hythe"


def test_appendix_holds_rape_for_england_and_wales(store):
    revised = dict(store.revisions("K04000001", "rape", "2022-03-31"))
    assert revised["appendix-2022-09-30"] == 69905
    assert count(store, "K04000001", "rape", "2022-03-31") == revised["appendix-2025-06-30"]
    assert store.offence_labels()["rape"][1] == "sexual"


def test_population_is_added_up_for_forces(store):
    year, people, basis = store.population("W15000001", 2022)
    assert year == 2022 and 600_000 < people < 800_000
    assert basis == "sum of local authority estimates"


def test_reingesting_gives_the_same_store(sources, db_path, tmp_path):
    again = tmp_path / "again.db"
    build([sources], again)
    assert hashlib.sha256(again.read_bytes()).digest() == hashlib.sha256(
        db_path.read_bytes()).digest()


def test_a_truncated_workbook_fails_and_leaves_the_store_byte_for_byte(sources, db_path, tmp_path):
    store_path = tmp_path / "crime.db"
    shutil.copy(db_path, store_path)
    before = store_path.read_bytes()
    broken = tmp_path / "src"
    shutil.copytree(sources, broken)
    workbook = broken / "policeforceareatablesyedecember2024.xlsx"
    workbook.write_bytes(workbook.read_bytes()[:100_000])
    with pytest.raises(IngestError, match=r"policeforceareatablesyedecember2024\.xlsx"):
        build([broken], store_path)
    assert store_path.read_bytes() == before
    assert not list(tmp_path.glob(".crime.db.building-*"))


def test_a_file_no_reader_recognises_is_reported_and_skipped(built):
    _, report = built
    assert "SOURCES.md" in report.skipped


def test_cli_ingest_prints_a_summary_and_fails_cleanly(sources, tmp_path):
    db = tmp_path / "cli.db"
    ok = subprocess.run([sys.executable, "-m", "bot", "ingest", "--source", str(sources),
                         "--db", str(db)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    held = len(Store(Path(db)).editions())
    assert "Areas:" in ok.stdout and f"Editions ({held})" in ok.stdout
    assert held >= 9
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"PK\x03\x04 not really a workbook")
    failed = subprocess.run([sys.executable, "-m", "bot", "ingest", "--source", str(bad),
                             "--db", str(db)], capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert "bad.xlsx" in failed.stderr and "Traceback" not in failed.stderr
    assert Store(Path(db)).latest_period() == "2025-06-30"


def test_ingest_without_sources_offline_fails_fast_saying_pass_source(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CRIMEBOT_SOURCES"}
    env["CRIMEBOT_ONS_TIMEOUT"] = "3"
    result = subprocess.run([sys.executable, "-m", "bot", "ingest", "--db",
                             str(tmp_path / "x.db")], capture_output=True, text=True,
                            timeout=120, env=env)
    if result.returncode == 0:
        pytest.skip("this machine can reach ONS")
    assert "--source" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "x.db").exists()


def test_cli_history_lists_the_figure_in_every_edition_held(db_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "history", "sexual offences England and Wales 2021/22",
         "--db", str(db_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "England and Wales" in lines[0] and "2022-03-31" in lines[0]
    assert "193,566" in lines[1] and "year ending September 2022" in lines[1]
    assert "ons_source_crime_data.xlsx, sheet Table A4, cell" in lines[2]
    assert lines[3].split() == [
        "released", "26", "January", "2023;", "shipped", "with", "crimebot,", "from", "the",
        "ONS", "page", "https://www.ons.gov.uk/peoplepopulationandcommunity/crimeandjustice/"
        "datasets/crimeinenglandandwalesappendixtables"]
    assert "193,357" in lines[4] and "year ending June 2025" in lines[4]
    assert "appendixtablesyejune2025.xlsx, sheet Table_A5a, cell" in lines[5]
    assert "released 23 October 2025; shipped with crimebot" in lines[6]


def test_cli_history_of_a_figure_with_a_note_shows_the_note(db_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "history", "burglary Leicestershire police 2024",
         "--db", str(db_path)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Note: There is an undercount for Leicestershire" in result.stdout


def test_no_edition_name_in_the_store_carries_an_ons_note_marker(store):
    """Edition names reach every surface (history, digests, /sources, charts): ONS's "[note n]"
    markers are dropped once, when the store is written. The June 2025 CSP table's own title
    carries three of them."""
    titles = {e.key: e.title for e in store.editions()}
    assert titles["pfa-2025-06-30-table-c2"].endswith("England and Wales, year ending June 2025")
    assert not [t for t in titles.values() if "[note" in t.lower()]
