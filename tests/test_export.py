"""`crimebot export`: the series behind an answer, or a ranking, with provenance columns."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export(db_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "export", "--db", str(db_path), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_csv_export_is_the_whole_series_with_where_each_figure_was_printed(db_path: Path):
    result = export(db_path, "robbery Kent")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert {"area", "offence", "period_end", "count", "file", "sheet", "cell", "row_label",
            "column_label", "cells", "page"} <= set(rows[0])
    periods = [row["period_end"] for row in rows]
    assert periods == sorted(periods) and len(periods) > 20
    assert {row["area"] for row in rows} == {"Kent"}
    by_period = {row["period_end"]: row for row in rows}
    kent = by_period["2024-12-31"]
    assert (kent["count"], kent["file"], kent["sheet"], kent["row_label"],
            kent["column_label"]) == ("1036", "policeforceareatablesyedecember2024.xlsx",
                                      "Table P1", "Kent", "Robbery")
    assert all(row["cell"] or row["cells"] for row in rows if row["count"])


def test_json_export_of_a_ranking_has_each_place_with_its_cell(db_path: Path):
    result = export(db_path, "--ranking", "--format", "json",
                    "which force has the highest burglary rate")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    positions = [row["position"] for row in rows]
    assert positions[0] == 1 and positions == sorted(positions) and len(rows) >= 10
    assert all(row["offence_key"] == "burglary" and row["cell"] for row in rows)
    assert all(row["value_basis"] for row in rows)


def test_a_question_with_no_figure_says_why_and_fails(db_path: Path):
    result = export(db_path, "burglary Atlantis")
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.strip() and "Traceback" not in result.stderr
    not_ranking = export(db_path, "--ranking", "burglary Leeds")
    assert not_ranking.returncode == 1 and "not a ranking question" in not_ranking.stderr


def test_export_can_write_a_file(db_path: Path, tmp_path: Path):
    target = tmp_path / "leeds.json"
    result = export(db_path, "burglary Leeds", "--format", "json", "--output", str(target))
    assert result.returncode == 0 and result.stdout == ""
    rows = json.loads(target.read_text(encoding="utf-8"))
    assert rows and all(row["area"] == "Leeds" for row in rows)
