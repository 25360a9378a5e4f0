"""Every figure is cited to the cell it was printed in: checked by opening that cell in the file."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
from python_calamine import CalamineWorkbook

from bot.answer import Engine
from bot.provenance import PRINTED, SUMMED, UNMATCHED, cite_answer, describe
from bot.reply import reply_json, respond

ROOT = Path(__file__).resolve().parent.parent


def cell_index(cell: str) -> tuple[int, int]:
    """"F23" → (22, 5): 0-based row and column, worked out here independently of the readers."""
    match = re.fullmatch(r"([A-Z]+)(\d+)", cell)
    assert match, cell
    column = 0
    for letter in match.group(1):
        column = column * 26 + ord(letter) - ord("A") + 1
    return int(match.group(2)) - 1, column - 1


@cache
def grid(path: Path, sheet: str) -> list[list[object]]:
    if not sheet:
        with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            return list(csv.reader(handle))
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python(
        skip_empty_area=False)


def value_at(path: Path, sheet: str, cell: str) -> object:
    row, column = cell_index(cell)
    return grid(path, sheet)[row][column]


def as_number(value: object) -> float:
    return float(str(value).replace(",", "").strip())


def printed(value: object) -> str:
    return re.sub(r"\s+", " ", str(value)).strip()


def sample(db_path: Path) -> list[sqlite3.Row]:
    """Up to 25 figures from every sheet of every file, spread over the sheet."""
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    rows = conn.execute(
        "select * from (select *, row_number() over (partition by file, sheet, cells is null "
        "order by area_code, offence_key, period_end) as n, count(*) over (partition by file, "
        "sheet, cells is null) as total from figures_labelled) "
        "where n % max(1, total / 25) = 0").fetchall()
    conn.close()
    return rows


def test_every_reader_is_sampled(db_path: Path):
    files = {row["file"] for row in sample(db_path)}
    assert {"policeforceareatablesyedecember2024.xlsx", "pfatablesdec19.xlsx",
            "policeforceareatablesyearendingmarch2018v2.xlsx", "appendixtablesyejune2025.xlsx",
            "ons_csp_recorded_crime_ye_dec2022.xlsx", "rec-crime-pfa.csv",
            "policeforceareatablesyejune25final.csv"} <= files


def test_each_cited_cell_holds_the_figure_under_the_printed_labels(db_path: Path,
                                                                    sources: Path):
    checked = 0
    for row in sample(db_path):
        if row["cell"] is None:
            continue
        path = sources / row["file"]
        value = value_at(path, row["sheet"] or "", row["cell"])
        expected = row["count"] if row["count"] is not None else None
        if expected is not None and row["rate_cell"] != row["cell"]:
            assert round(as_number(value)) == expected, dict(row)
        at, column = cell_index(row["cell"])
        line = grid(path, row["sheet"] or "")[at]
        label = row["row_label"]
        cells = [printed(cell) for cell in line]
        # A row of the long series is labelled by its force and offence cells.
        assert label in cells or all(part in cells for part in label.split(", ")), dict(row)
        above = [printed(r[column]) for r in grid(path, row["sheet"] or "")[:at]
                 if column < len(r)]
        assert any(heading and heading in row["column_label"] for heading in above), dict(row)
        checked += 1
    assert checked > 150


def test_published_rates_are_cited_to_their_own_cell(db_path: Path, sources: Path):
    conn = sqlite3.connect(db_path)
    rows = conn.execute(
        "select * from (select rate_file, rate_sheet, rate_cell, rate, rate_basis, row_number() "
        "over (partition by rate_file, rate_sheet order by area_code, period_end) as n "
        "from figures_labelled where rate_cell is not null) where n % 40 = 1").fetchall()
    conn.close()
    assert len({(file, sheet) for file, sheet, *_ in rows}) >= 5
    assert any("per 100,000" in basis for *_, basis, _ in rows), "knife rates are cited too"
    for file, sheet, cell, rate, basis, _ in rows:
        per = 100 if "per 100,000" in basis else 1  # knife rates are held per 1,000, exactly
        assert as_number(value_at(sources / file, sheet or "", cell)) / per == pytest.approx(rate)


def test_a_derived_total_lists_the_cells_it_adds_up(db_path: Path, sources: Path):
    conn = sqlite3.connect(db_path)
    rows = conn.execute("select file, count, cells from figures_labelled where flag = 'derived' "
                        "order by area_code, offence_key, period_end limit 60").fetchall()
    conn.close()
    assert rows
    for file, count, cells in rows:
        assert cells
        total = sum(round(as_number(value_at(sources / file, "", cell)))
                    for cell in cells.split(", "))
        assert total == count


QUESTIONS = [
    "burglary Leeds", "robbery Kent 2024", "violence Avon and Somerset 2005",
    "knife crime West Midlands Police", "theft England and Wales vs Wales 2024",
    "sexual offences Wrexham 2022", "burglary rate Manchester",
    "shoplifting England and Wales 2023", "criminal damage Cardiff",
    "which force has the highest burglary rate",
]


def numbers_of(answer: dict) -> list[tuple[str, float]]:
    """Every number an `ask --json` answer states, with the period it is for."""
    if answer.get("parts"):
        return [n for part in answer["parts"] for n in numbers_of(part)]
    found = []
    if answer.get("count") is not None:
        found.append((answer["period"]["end"], answer["count"]))
    if answer.get("previous") and answer["previous"]["count"] is not None:
        found.append((answer["previous"]["end"], answer["previous"]["count"]))
    if answer.get("rate_per_1000") is not None:
        found.append((answer["period"]["end"], answer["rate_per_1000"]))
    return found


@pytest.mark.parametrize("question", QUESTIONS)
def test_every_number_in_ask_json_has_its_source(engine: Engine, question: str):
    reply = respond(engine, question)
    out = json.loads(json.dumps(reply_json(reply, engine.store)))
    assert out["status"] == "ok", out["text"]
    cited = out["sources"]
    if "ranked" in out:
        assert {s["area"]["code"] for s in cited} == {e["code"] for e in out["ranked"]}
    else:
        assert sorted((s["period_end"], s["value"]) for s in cited) == sorted(numbers_of(out))
    for source in cited:
        assert source["how"] != UNMATCHED, source
        if source["how"] in (PRINTED, SUMMED):
            assert source["file"] and source["url"].startswith("https://")
            assert source["cell"] or source["cells"]
        else:
            assert "population" in source["how"]


def test_the_cli_prints_sources_for_every_number(db_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--db", str(db_path), "--json", "robbery Kent 2024"],
        capture_output=True, text=True, cwd=ROOT, check=True)
    out = json.loads(result.stdout)
    kent = out["sources"][0]
    assert (kent["file"], kent["sheet"], kent["row_label"]) == (
        "policeforceareatablesyedecember2024.xlsx", "Table P1", "Kent")
    assert kent["column_label"] == "Robbery" and re.fullmatch(r"[A-Z]+\d+", kent["cell"])


def test_a_sentence_names_file_sheet_cell_and_labels(engine: Engine):
    citation = cite_answer(engine.store, engine.ask("robbery Kent 2024"))[0]
    line = describe(citation)
    assert "policeforceareatablesyedecember2024.xlsx, sheet Table P1, cell" in line
    assert "row “Kent”, column “Robbery”" in line


def test_history_shows_the_cell_in_each_edition(db_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "history", "--db", str(db_path),
         "robbery Kent March 2018"],
        capture_output=True, text=True, cwd=ROOT, check=True)
    lines = [line for line in result.stdout.splitlines() if "cell" in line]
    assert len(lines) >= 2, result.stdout
    assert all(".xlsx" in line or ".csv" in line for line in lines)


def test_answering_never_imports_pandas(db_path: Path):
    """pandas is for reading the files; `crimebot ask` and the running bot never load it."""
    code = (
        "import sys\n"
        "from bot.cli import main\n"
        f"main(['ask', '--db', {str(db_path)!r}, '--json', 'burglary Leeds'])\n"
        "import bot.telegram.app, bot.telegram.handlers, bot.telegram.webhook, bot.provenance\n"
        "print('PANDAS' if 'pandas' in sys.modules else 'NO PANDAS')\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    assert result.stdout.strip().endswith("NO PANDAS")


def test_the_store_keys_hold_and_the_view_keeps_every_figure(db_path: Path):
    conn = sqlite3.connect(db_path)
    assert conn.execute("pragma foreign_key_check").fetchall() == []
    keys = {(table, key[3], key[2]) for table in ("figures", "revisions")
            for key in conn.execute(f"pragma foreign_key_list({table})")}
    assert {("figures", "area", "areas"), ("figures", "offence", "offences"),
            ("figures", "edition", "editions"), ("figures", "source", "sources"),
            ("revisions", "source", "sources")} <= keys
    assert (conn.execute("select count(*) from figures_labelled").fetchone()
            == conn.execute("select count(*) from figures").fetchone())
    conn.close()


@pytest.mark.parametrize("question", ["burglary rate Manchester",
                                      "burglary rate South Yorkshire"])
def test_a_rate_crimebot_works_out_names_the_population_cells_it_divides_by(
        engine: Engine, sources: Path, question: str):
    answer = engine.ask(question)
    rate = next(c for c in cite_answer(engine.store, answer)
                if c.figure.startswith("rate"))
    assert rate.source is None and rate.how.startswith("worked out by crimebot")
    year, people, _ = engine.store.population(rate.area_code, int(rate.period_end[:4]))
    file, sheet, cells = engine.store.population_source(rate.area_code, year)
    printed = [round(as_number(value_at(sources / file, sheet, cell)))
               for cell in cells.split(", ")]
    assert sum(printed) == people
    assert f"{people:,} residents" in rate.how and cells.split(", ")[0] in rate.how
