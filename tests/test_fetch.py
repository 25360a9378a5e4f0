"""`crimebot fetch` against a fake ONS site: discovery, a verified archive, and nothing lost."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.fetch import DISCOVERY, archive_sources, fetch, load_manifest, verify
from bot.ops import discovery_record, refresh_check
from bot.sources import DATASETS, DownloadError, Settings
from tests.fake_ons import EDITIONS, LOOKUPS, FakeONS

ALL_FILES = set(EDITIONS) | set(LOOKUPS)


def settings(site: FakeONS) -> Settings:
    return Settings(base=site.base, lookup_urls=tuple(site.lookup_urls.split()), timeout=10)


def archived_names(archive: Path) -> set[str]:
    return {entry["name"] for entry in load_manifest(archive)}


def test_first_fetch_gets_every_file_named_by_its_hash_with_a_manifest(sources, tmp_path):
    archive = tmp_path / "archive"
    with FakeONS(sources) as site:
        report = fetch(archive, settings(site))
    assert report.errors == []
    assert set(report.fetched) == ALL_FILES
    entries = load_manifest(archive)
    assert {e["name"] for e in entries} == ALL_FILES
    for entry in entries:
        original = (sources / entry["name"]).read_bytes()
        assert entry["sha256"] == hashlib.sha256(original).hexdigest()
        assert (archive / entry["file"]).read_bytes() == original
        assert entry["file"].startswith(entry["sha256"])
        assert entry["fetched_at"] and entry["url"].startswith(site.base)
    appendix = next(e for e in entries if e["name"] == "appendixtablesyejune2025.xlsx")
    assert appendix["dataset"] == "appendix"
    assert appendix["edition"].endswith("/yearendingjune2025")
    assert appendix["release_date"].startswith("2025-10-23")


def test_a_new_edition_between_two_runs_is_fetched_alone(sources, tmp_path):
    archive = tmp_path / "archive"
    with FakeONS(sources, leave_out=("appendixtablesyejune2025.xlsx",)) as site:
        fetch(archive, settings(site))
        site.add("appendixtablesyejune2025.xlsx", "appendix", "yearendingjune2025", "2025-10-23")
        site.requests.clear()
        report = fetch(archive, settings(site))
    assert report.fetched == ["appendixtablesyejune2025.xlsx"]
    assert [r for r in site.requests if r.startswith("/file")] == [
        "/file?uri=/peoplepopulationandcommunity/crimeandjustice/datasets/"
        "crimeinenglandandwalesappendixtables/yearendingjune2025/appendixtablesyejune2025.xlsx"]
    assert report.held == len(ALL_FILES) - 1


def test_a_missing_edition_is_reported_and_the_rest_fetched(sources, tmp_path):
    archive = tmp_path / "archive"
    with FakeONS(sources) as site:
        site.edition_of("pfatablesdec19.xlsx").missing = True
        report = fetch(archive, settings(site))
        assert any("yearendingdecember2019" in e and "404" in e for e in report.errors)
        assert archived_names(archive) == ALL_FILES - {"pfatablesdec19.xlsx"}
        site.edition_of("pfatablesdec19.xlsx").missing = False
        again = fetch(archive, settings(site))
    assert again.errors == [] and again.fetched == ["pfatablesdec19.xlsx"]


def test_a_truncated_download_is_not_archived_and_the_next_fetch_resumes(sources, tmp_path):
    archive = tmp_path / "archive"
    name = "policeforceareatablesyedecember2024.xlsx"
    with FakeONS(sources) as site:
        site.truncate.add(name)
        report = fetch(archive, settings(site))
        assert any(name in e for e in report.errors)
        assert name not in archived_names(archive)
        assert list((archive / ".partial").iterdir())
        site.requests.clear()
        again = fetch(archive, settings(site))
    assert again.fetched == [name] and again.errors == []
    entry = next(e for e in load_manifest(archive) if e["name"] == name)
    assert (archive / entry["file"]).read_bytes() == (sources / name).read_bytes()
    assert verify(archive) == []


def test_a_correction_under_the_same_name_is_a_new_version_beside_the_old(sources, tmp_path):
    archive = tmp_path / "archive"
    name = "policeforceareatablesyejune25final.csv"
    original = (sources / name).read_bytes()
    corrected = original.replace(b"Wrexham", b"Wrecsam", 1)
    with FakeONS(sources) as site:
        fetch(archive, settings(site))
        site.correct(name, corrected, "2025-11-06T09:30:00.000Z")
        report = fetch(archive, settings(site))
    assert report.fetched == [name]
    versions = [e for e in load_manifest(archive) if e["name"] == name]
    assert [(archive / v["file"]).read_bytes() for v in versions] == [original, corrected]
    links = archive_sources(archive, tmp_path)
    assert (tmp_path / name).read_bytes() == corrected
    assert len([p for p in links if p.name.endswith(name)]) == 1


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_offline_fetch_fails_fast_saying_pass_source(tmp_path):
    offline = Settings(base=f"http://127.0.0.1:{closed_port()}", lookup_urls=(), timeout=3)
    started = time.monotonic()
    with pytest.raises(DownloadError, match="--source"):
        fetch(tmp_path / "archive", offline)
    assert time.monotonic() - started < 10


def crimebot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          timeout=300, env=env)


def test_fetch_then_ingest_gives_the_same_store_as_the_source_folder(sources, db_path, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"CRIMEBOT_SOURCES", "CRIMEBOT_DB"}}
    with FakeONS(sources) as site:
        env |= {"CRIMEBOT_ONS_BASE": site.base, "CRIMEBOT_LOOKUP_URLS": site.lookup_urls}
        fetched = crimebot("fetch", "--archive", str(tmp_path / "a"), "--db",
                           str(tmp_path / "x.db"), env=env)
    assert fetched.returncode == 0, fetched.stderr
    built = crimebot("ingest", "--archive", str(tmp_path / "a"), "--db", str(tmp_path / "x.db"),
                     env=env)
    assert built.returncode == 0, built.stderr
    fetched_store, shipped_store = tables_of(tmp_path / "x.db"), tables_of(db_path)
    assert fetched_store.pop("editions") != shipped_store.pop("editions")
    assert fetched_store == shipped_store  # every figure, area and note the same
    provenance = editions_of(tmp_path / "x.db")
    manifest = {e["file"].split(".")[0]: e for e in load_manifest(tmp_path / "a")}
    assert set(provenance) == set(editions_of(db_path))
    for key, (sha, released, url, fetched_at) in provenance.items():
        entry = manifest[sha]
        assert (released, url, fetched_at) == (
            (entry["release_date"] or "")[:10] or None, entry["url"], entry["fetched_at"]), key
        assert url.startswith(site.base), key
    assert provenance["appendix-2025-06-30"][1] == "2025-10-23"
    asked = crimebot("ask", "--json", "--db", str(tmp_path / "x.db"),
                     "sexual offences Wrexham 2022", env=env)
    answer = json.loads(asked.stdout)
    assert answer["count"] == 536
    csp = manifest[provenance["csp-2022-12-31"][0]]
    assert answer["source"] | {"edition": None} == {
        "edition": None, "published": "2023-04-27", "released": "2023-04-27",
        "url": f"{site.base}/file?uri=/peoplepopulationandcommunity/crimeandjustice/datasets/"
               "recordedcrimedatabycommunitysafetypartnershiparea/yearendingdecember2022/"
               "ons_csp_recorded_crime_ye_dec2022.xlsx",
        "fetched_at": csp["fetched_at"]}


def tables_of(path: Path) -> dict[str, list[tuple]]:
    with closing(sqlite3.connect(path)) as conn:
        names = [r[0] for r in conn.execute("select name from sqlite_master where type='table'")]
        return {name: sorted(conn.execute(f"select * from [{name}]").fetchall(), key=repr)
                for name in names}


def editions_of(path: Path) -> dict[str, tuple]:
    with closing(sqlite3.connect(path)) as conn:
        return {key: rest for key, *rest in conn.execute(
            "select key, sha256, released, source_url, fetched_at from editions")}


def test_refresh_keeps_the_store_and_archive_when_ons_is_unreachable(sources, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"CRIMEBOT_SOURCES", "CRIMEBOT_DB"}}
    env |= {"CRIMEBOT_ARCHIVE": str(tmp_path / "a"), "CRIMEBOT_DB": str(tmp_path / "x.db")}
    with FakeONS(sources) as site:
        env |= {"CRIMEBOT_ONS_BASE": site.base, "CRIMEBOT_LOOKUP_URLS": site.lookup_urls}
        first = crimebot("refresh", "--quiet", env=env)
    assert first.returncode == 0, first.stderr
    before = (tmp_path / "x.db").read_bytes()
    env["CRIMEBOT_ONS_BASE"] = f"http://127.0.0.1:{closed_port()}"
    env["CRIMEBOT_ONS_TIMEOUT"] = "3"
    offline = crimebot("refresh", "--quiet", env=env)
    assert offline.returncode == 1
    assert "--source" in offline.stderr and "Traceback" not in offline.stderr
    assert (tmp_path / "x.db").read_bytes() == before
    assert len(load_manifest(tmp_path / "a")) == len(ALL_FILES)


@pytest.mark.usefixtures("sources")
def test_a_first_refresh_offline_builds_from_the_shipped_files_and_a_later_one_keeps_the_store(
        tmp_path):
    """A new deployment that cannot reach ONS still answers (from data/ons, said on stderr);
    once a store exists, a refresh that fetched nothing never swaps in the older shipped files.

    It builds the real store from the shipped files, so a run without the ONS files skips it."""
    env = {k: v for k, v in os.environ.items() if k not in {"CRIMEBOT_SOURCES", "CRIMEBOT_DB"}}
    env |= {"CRIMEBOT_ARCHIVE": str(tmp_path / "a"), "CRIMEBOT_DB": str(tmp_path / "x.db"),
            "CRIMEBOT_ONS_BASE": f"http://127.0.0.1:{closed_port()}",
            "CRIMEBOT_ONS_TIMEOUT": "3"}
    first = crimebot("refresh", "--quiet", env=env)
    assert first.returncode == 1  # the fetch failed, and the exit code says so
    assert "building from the ONS files shipped with crimebot" in first.stderr
    assert editions_of(tmp_path / "x.db"), "the store was built"
    before = (tmp_path / "x.db").read_bytes()
    again = crimebot("refresh", "--quiet", env=env)
    assert again.returncode == 1 and "shipped" not in again.stderr
    assert "Traceback" not in again.stderr
    assert (tmp_path / "x.db").read_bytes() == before


def test_refresh_fed_from_a_local_folder_ingests_it_without_asking_ons(sources, db_path, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "CRIMEBOT_DB"}
    env |= {"CRIMEBOT_SOURCES": str(sources), "CRIMEBOT_DB": str(tmp_path / "x.db"),
            "CRIMEBOT_ARCHIVE": str(tmp_path / "a"),
            "CRIMEBOT_ONS_BASE": f"http://127.0.0.1:{closed_port()}", "CRIMEBOT_ONS_TIMEOUT": "3"}
    refreshed = crimebot("refresh", "--quiet", env=env)
    assert refreshed.returncode == 0, refreshed.stderr
    assert (tmp_path / "x.db").read_bytes() == db_path.read_bytes()
    assert not (tmp_path / "a").exists()


# --- the live site's shapes: /data retired, HTML pages only (issue 18) ---------------------------


def lines_of(report) -> dict[str, str]:
    """Each dataset's one line, discovered or not, by dataset name."""
    return {line.split(":", 1)[0]: line for line in report.dataset_lines() + report.errors}


def comparable(entry: dict, base: str) -> tuple:
    """A manifest line as two fake sites on different ports would agree on it."""
    return (entry["dataset"], entry["edition"], entry["name"], entry["sha256"],
            (entry["release_date"] or "")[:10], entry["url"].removeprefix(base), entry["version"])


@pytest.mark.parametrize("view", ["gone", "html", "redirect", "other json"])
def test_where_data_views_are_retired_the_html_pages_give_the_same_archive(sources, tmp_path,
                                                                          view):
    by_json, by_html = tmp_path / "json", tmp_path / "html"
    with FakeONS(sources) as site:
        fetch(by_json, settings(site))
        json_base = site.base
    with FakeONS(sources, views=view) as site:
        report = fetch(by_html, settings(site))
        html_base = site.base
    assert report.errors == []
    assert set(report.fetched) == ALL_FILES
    assert sorted(comparable(e, html_base) for e in load_manifest(by_html)) == sorted(
        comparable(e, json_base) for e in load_manifest(by_json))
    pfa = lines_of(report)["pfa"]
    assert "via the HTML pages" in pfa and "6 edition(s), 6 file(s)" in pfa


def test_with_data_gone_entirely_every_dataset_says_html_and_what_was_new(sources, tmp_path):
    archive = tmp_path / "archive"
    with FakeONS(sources, views="gone",
                 leave_out=("appendixtablesyejune2025.xlsx",)) as site:
        fetch(archive, settings(site))
        site.add("appendixtablesyejune2025.xlsx", "appendix", "yearendingjune2025", "2025-10-23")
        site.requests.clear()
        report = fetch(archive, settings(site))
    assert report.fetched == ["appendixtablesyejune2025.xlsx"]
    # The JSON view is tried once per dataset, then the HTML pages are read.
    assert [r for r in site.requests if r.endswith("/data")] == [
        f"{uri}/data" for uri in DATASETS.values()]
    lines = lines_of(report)
    assert set(lines) == {"pfa", "csp", "appendix", "pfa-series", "population"}
    assert lines["appendix"] == (
        "appendix: via the HTML pages (/peoplepopulationandcommunity/crimeandjustice/datasets/"
        "crimeinenglandandwalesappendixtables/data answered 404), 2 edition(s), 2 file(s); "
        "new: yearendingjune2025/appendixtablesyejune2025.xlsx")
    assert lines["pfa"].endswith("nothing new")
    entry = next(e for e in load_manifest(archive) if e["name"] == "appendixtablesyejune2025.xlsx")
    assert entry["release_date"] == "2025-10-23"  # from "Release date: 23 October 2025"
    assert entry["url"] == (f"{site.base}/file?uri=/peoplepopulationandcommunity/crimeandjustice/"
                            "datasets/crimeinenglandandwalesappendixtables/yearendingjune2025/"
                            "appendixtablesyejune2025.xlsx")


def test_a_landing_page_linking_only_the_current_edition_brings_the_new_one(sources, tmp_path):
    archive = tmp_path / "archive"
    newest = "policeforceareatablesyejune25final.csv"
    with FakeONS(sources, views="gone", leave_out=(newest,)) as site:
        fetch(archive, settings(site))
        site.landing["pfa"] = "current"
        site.add(newest, "pfa", "yearendingjune2025", "2025-10-23")
        report = fetch(archive, settings(site))
    assert report.fetched == [newest] and report.errors == []
    assert "1 edition(s), 1 file(s); new: yearendingjune2025/" + newest in lines_of(report)["pfa"]
    assert archived_names(archive) == ALL_FILES


def test_an_edition_page_with_two_files_gives_both_under_that_edition(sources, tmp_path):
    second = "ons_mid2022_population_estimates_lad.xlsx"
    with FakeONS(sources, views="gone", leave_out=(second,)) as site:
        site.add(second, "population", "mid2023", "2024-07-15")
        report = fetch(tmp_path / "archive", settings(site))
    assert report.errors == []
    population = [e for e in load_manifest(tmp_path / "archive") if e["dataset"] == "population"]
    assert sorted(e["name"] for e in population) == sorted(
        ["LAD23_Mid_Year_pop_2011_to_2023.xlsx", second])
    assert {e["edition"].rsplit("/", 1)[-1] for e in population} == {"mid2023"}
    assert {e["release_date"] for e in population} == {"2024-07-15"}


def test_a_correction_seen_on_the_html_page_is_fetched_as_a_new_version(sources, tmp_path):
    archive = tmp_path / "archive"
    name = "policeforceareatablesyejune25final.csv"
    corrected = (sources / name).read_bytes().replace(b"Wrexham", b"Wrecsam", 1)
    with FakeONS(sources, views="gone") as site:
        fetch(archive, settings(site))
        site.correct(name, corrected, "2025-11-06T09:30:00.000Z")
        report = fetch(archive, settings(site))
    assert report.fetched == [name]
    assert [e["version"] for e in load_manifest(archive) if e["name"] == name] == ["0:", "1:"]


def test_a_dataset_whose_pages_changed_shape_is_named_and_the_others_still_fetched(sources,
                                                                                  tmp_path):
    archive = tmp_path / "archive"
    with FakeONS(sources, views="gone") as site:
        site.reshaped.add("csp")
        report = fetch(archive, settings(site))
    csp = "ons_csp_recorded_crime_ye_dec2022.xlsx"
    assert archived_names(archive) == ALL_FILES - {csp}
    assert report.errors == [
        "csp: NOT DISCOVERED: /peoplepopulationandcommunity/crimeandjustice/datasets/"
        "recordedcrimedatabycommunitysafetypartnershiparea/data answered 404, and the HTML page "
        f"{site.base}/peoplepopulationandcommunity/crimeandjustice/datasets/"
        "recordedcrimedatabycommunitysafetypartnershiparea links no edition pages or downloads "
        "under /peoplepopulationandcommunity/crimeandjustice/datasets/"
        "recordedcrimedatabycommunitysafetypartnershiparea: ONS may have changed its pages; "
        "nothing fetched for it"]
    assert not report.blind
    assert set(lines_of(report)) == {"pfa", "csp", "appendix", "pfa-series", "population"}


def test_fetch_prints_one_line_per_dataset_and_fails_only_when_something_failed(sources,
                                                                               tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"CRIMEBOT_SOURCES", "CRIMEBOT_DB"}}
    args = ("fetch", "--archive", str(tmp_path / "a"), "--db", str(tmp_path / "x.db"))
    with FakeONS(sources, views="redirect") as site:
        env |= {"CRIMEBOT_ONS_BASE": site.base, "CRIMEBOT_LOOKUP_URLS": site.lookup_urls}
        first = crimebot(*args, env=env)
        again = crimebot(*args, env=env)
        site.reshaped.add("pfa-series")
        broken = crimebot(*args, env=env)
    assert first.returncode == 0, first.stderr
    assert "pfa: via the HTML pages (/peoplepopulationandcommunity/crimeandjustice/datasets/" \
           "policeforceareadatatables/data is not JSON), 6 edition(s)" in first.stdout
    assert again.returncode == 0 and again.stderr == ""
    assert again.stdout.count("nothing new") == 5
    assert broken.returncode == 1
    assert broken.stderr.count("\n") == 1 and "pfa-series: NOT DISCOVERED" in broken.stderr
    assert broken.stdout.count("nothing new") == 4


def test_a_refresh_that_discovers_nothing_anywhere_fails_with_one_line(sources, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"CRIMEBOT_SOURCES", "CRIMEBOT_DB"}}
    env |= {"CRIMEBOT_ARCHIVE": str(tmp_path / "a"), "CRIMEBOT_DB": str(tmp_path / "x.db")}
    with FakeONS(sources, views="gone") as site:
        env |= {"CRIMEBOT_ONS_BASE": site.base, "CRIMEBOT_LOOKUP_URLS": site.lookup_urls}
        first = crimebot("refresh", "--quiet", env=env)
        nothing_new = crimebot("refresh", "--quiet", env=env)
        site.reshaped.update(DATASETS)
        blind = crimebot("refresh", "--quiet", env=env)
    assert first.returncode == 0, first.stderr
    assert nothing_new.returncode == 0 and nothing_new.stderr == ""
    assert blind.returncode == 1
    assert blind.stderr.count("\n") == 1, blind.stderr
    assert blind.stderr.startswith("crimebot fetch: discovery failed for all 5 datasets, so no "
                                   "new edition can arrive: pfa: ")
    assert "ONS may have changed its pages" in blind.stderr
    assert len(load_manifest(tmp_path / "a")) == len(ALL_FILES)  # the archive is untouched


def doctor_line(archive: Path, now: datetime | None = None) -> str:
    record = discovery_record(archive / DISCOVERY)
    return refresh_check(record, archive / DISCOVERY, now or datetime.now(UTC)).line()


def test_doctor_shows_what_the_last_discovery_learnt_and_when_it_stopped(sources, tmp_path):
    archive = tmp_path / "archive"
    assert doctor_line(archive).startswith("WARN  refresh: no discovery record at")
    with FakeONS(sources) as site:
        site.views["pfa"] = site.views["csp"] = "gone"
        fetch(archive, settings(site))
        assert doctor_line(archive).startswith("ok    refresh: last discovery ")
        assert doctor_line(archive).endswith(
            "(0 days ago): all 5 datasets discovered (2 via HTML pages, 3 via /data JSON)")
        later = datetime.now(UTC) + timedelta(days=9)
        assert doctor_line(archive, later).endswith(
            "(9 days ago): all 5 datasets discovered (2 via HTML pages, 3 via /data JSON); none "
            "since: is the refresh timer running?")
        site.reshaped.add("csp")
        fetch(archive, settings(site))
        assert "1 of 5 datasets not discovered: csp: NOT DISCOVERED: " in doctor_line(archive)
    offline = Settings(base=f"http://127.0.0.1:{closed_port()}", lookup_urls=(), timeout=3)
    with pytest.raises(DownloadError):
        fetch(archive, offline)
    assert doctor_line(archive).startswith("WARN  refresh: last discovery ")
    assert "could not reach ONS" in doctor_line(archive)


def test_an_edition_whose_json_view_is_gone_is_read_from_its_page(sources, tmp_path):
    archive = tmp_path / "archive"
    name = "pfatablesdec19.xlsx"
    with FakeONS(sources) as site:
        site.edition_of(name).view_gone = True
        report = fetch(archive, settings(site))
    assert report.errors == [] and archived_names(archive) == ALL_FILES
    assert "pfa: via the /data JSON views, 6 edition(s)" in lines_of(report)["pfa"]
    entry = next(e for e in load_manifest(archive) if e["name"] == name)
    assert entry["release_date"] == "2020-04-23"
