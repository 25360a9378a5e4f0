"""`crimebot browse`: Datasette serving the real store on 127.0.0.1 with crimebot's metadata."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.read()


@pytest.fixture(scope="module")
def site(db_path: Path) -> Iterator[str]:
    pytest.importorskip("datasette", reason='Datasette is the [browse] extra: '
                                            'pip install -e ".[browse]"')
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "bot", "browse", "--db", str(db_path), "--port", str(port)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a wait for start-up, not a timed assertion
        while True:
            try:
                fetch(f"{base}/-/versions.json")
                break
            except (urllib.error.URLError, ConnectionError):
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"crimebot browse did not start: {server.stderr.read()}")
                time.sleep(0.2)
        yield f"{base}/{db_path.stem}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def kent_robbery(db_path: Path) -> dict:
    from bot.store import Store

    return Store(db_path).labelled("E23000032", "robbery", "2024-12-31")[0]


def test_a_table_is_served_as_json_with_provenance(site: str, db_path: Path):
    rows = json.loads(fetch(f"{site}/figures_labelled.json?_shape=array&area_code=E23000032"
                            "&offence_key=robbery&period_end=2024-12-31"))
    assert rows == [kent_robbery(db_path)]
    assert rows[0]["area"] == "Kent" and rows[0]["sheet"] == "Table P1"


def test_the_canned_queries_answer_a_desks_first_questions(site: str):
    series = json.loads(fetch(f"{site}/place_series.json?_shape=array&area=Kent"))
    robbery = [row for row in series if row["offence"] == "Robbery"]
    assert len(robbery) > 20 and all(row["file"] for row in robbery)
    revisions = json.loads(fetch(f"{site}/revisions.json?_shape=array&area=Kent"
                                 "&offence=robbery&period_end=2018-03-31"))
    assert [row["file"] for row in revisions] == [
        "policeforceareatablesyearendingmarch2018v2.xlsx", "rec-crime-pfa.csv"]
    assert all(row["cell"] for row in revisions)
    every = json.loads(fetch(f"{site}/offence_period.json?_shape=array&offence=robbery"
                             "&period_end=2024-12-31"))
    assert "Kent" in {row["area"] for row in every}


def test_the_metadata_names_the_licence_and_sources(site: str):
    served = json.loads(fetch(site.rsplit("/", 1)[0] + "/-/metadata.json"))
    assert served["license"] == "Open Government Licence v3.0"
    assert served["source_url"].startswith("https://www.ons.gov.uk/")
    database = next(iter(served["databases"].values()))
    assert {"place_series", "offence_period", "revisions"} <= set(database["queries"])
    assert database["tables"]["figures_labelled"]["columns"]["cell"]


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                             "(Debian: apt-get install chromium)")
def test_a_browser_shows_the_figure_and_its_cells(site: str, db_path: Path, tmp_path: Path):
    from bot.store import Store

    printed = Store(db_path).revision_sources("E23000032", "robbery", "2018-03-31")
    page = f"{site}/revisions?area=Kent&offence=robbery&period_end=2018-03-31"
    with tempfile.TemporaryDirectory(prefix="crimebot-chromium-") as profile:
        flags = [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page], capture_output=True,
                             text=True, timeout=180).stdout
        shot = tmp_path / "revisions.png"
        subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1400,1000",
                        page], capture_output=True, timeout=180)
    assert len(printed) == 2
    for count, source in printed:
        assert f">{count}<" in dom and f">{source.file}<" in dom and f">{source.cell}<" in dom
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 10_000
