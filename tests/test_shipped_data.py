"""The ONS files ship with the project: every one listed with its hash, page and licence."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.sources import SHIPPED
from bot.sources import SOURCES_ROW as ROW

ROOT = Path(__file__).resolve().parent.parent


def _listed() -> dict[str, re.Match[str]]:
    return {m["name"]: m for m in ROW.finditer((SHIPPED / "SOURCES.md").read_text())}


def test_every_shipped_file_is_listed_with_its_hash_size_page_and_release():
    files = {p.name for p in SHIPPED.iterdir() if p.suffix in {".xlsx", ".csv", ".xls", ".ods"}}
    listed = _listed()
    assert files == set(listed), "data/ons and SOURCES.md disagree"
    for name, row in listed.items():
        data = (SHIPPED / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha"], name
        assert int(row["bytes"].replace(",", "")) == len(data), name
        assert row["released"].strip(), name


def test_sources_carries_the_open_government_licence_attribution():
    text = (SHIPPED / "SOURCES.md").read_text()
    assert ("Contains public sector information licensed under the Open Government Licence "
            "v3.0.") in text


def test_the_shared_folder_holds_nothing_the_project_does_not_ship():
    shared = ROOT.parent / "shared" / "data" / "ons"
    if not shared.is_dir():
        pytest.skip("no ../shared/data/ons beside this checkout to compare with")
    for path in shared.iterdir():
        if path.suffix in {".xlsx", ".csv", ".xls", ".ods"}:
            shipped = SHIPPED / path.name
            assert shipped.exists(), f"{path.name} is in ../shared/data/ons but not in data/ons"
            assert shipped.read_bytes() == path.read_bytes(), path.name


@pytest.mark.usefixtures("sources")
def test_a_bare_clone_answers_the_readme_question_offline(tmp_path):
    """The README's first command, minus the install: no sibling folder, no variables.

    It builds the real store from the shipped files, so a run without the ONS files (see
    tests/conftest.py) skips it like every other test that needs them."""
    clone = tmp_path / "crimebot"
    shutil.copytree(ROOT / "bot", clone / "bot")
    shutil.copytree(SHIPPED, clone / "data" / "ons")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(clone)}
    run = [sys.executable, "-m", "bot"]
    built = subprocess.run([*run, "ingest", "--quiet"], cwd=clone, env=env,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    asked = subprocess.run([*run, "ask", "sexual offences Wrexham 2022"], cwd=clone, env=env,
                           capture_output=True, text=True, timeout=120)
    assert asked.returncode == 0, asked.stderr
    assert "536 sexual offences in Wrexham" in asked.stdout
