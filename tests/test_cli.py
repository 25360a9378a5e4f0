"""`crimebot ask` and `crimebot areas` as a reporter or a newsroom script runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def run(args: list[str], db: Path | None, stdin: str | None = None,
        env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"CRIMEBOT_SOURCES", "CRIMEBOT_DB"}}
    if db is not None:
        env["CRIMEBOT_DB"] = str(db)
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          input=stdin, env=env, timeout=120)


def test_ask_prints_the_answer(db_path):
    result = run(["ask", "sexual offences Wrexham 2022"], db_path)
    assert result.returncode == 0
    assert "North Wales Police recorded 536 sexual offences in Wrexham" in result.stdout


def test_ask_json_prints_one_object_for_every_status(db_path):
    for question, status in [("sexual offences Wrexham 2022", "ok"),
                             ("violent crime Newcastle", "ambiguous"),
                             ("burglary Atlantis", "not_found"),
                             ("burglary Leeds 2015", "no_data")]:
        result = run(["ask", "--json", question], db_path)
        assert result.returncode == (0 if status == "ok" else 1)
        data = json.loads(result.stdout)
        assert data["status"] == status


# The one exit-code rule (README, "Exit codes"): 0 a figure was given, 1 a reply without a
# figure was printed, 2 no store to answer from. (command, question, code)
EXIT_CASES = [
    ("ask", "sexual offences Wrexham 2022", 0), ("ask", "violent crime Newcastle", 1),
    ("ask", "burglary Leeds 2015", 1), ("ask", "which area in Kent has the highest burglary "
                                               "rate", 0),
    ("story", "sexual offences Wrexham 2022", 0), ("story", "burglary Atlantis", 1),
    ("story", "burglary Leeds vs Bradford 2024", 1),
    ("history", "sexual offences England and Wales 2021/22", 0),
    ("history", "burglary Leeds 1e9", 1),
]


def test_ask_story_and_history_share_one_exit_code_rule(db_path, tmp_path):
    for command, question, code in EXIT_CASES:
        result = run([command, question], db_path)
        assert result.returncode == code, (command, question, result.stdout)
        assert result.stdout.strip() and "Traceback" not in result.stderr
        missing = run([command, question], tmp_path / "none.db")
        assert missing.returncode == 2 and "crimebot ingest" in missing.stderr


def test_a_batch_exits_0_only_when_every_line_had_a_figure(db_path):
    good = run(["ask", "--json", "--batch", "-"], db_path,
               stdin="sexual offences Wrexham 2022\nburglary Leeds 2023\n")
    mixed = run(["ask", "--json", "--batch", "-"], db_path,
                stdin="sexual offences Wrexham 2022\nburglary Atlantis\n")
    assert (good.returncode, mixed.returncode) == (0, 1)
    assert len(mixed.stdout.splitlines()) == 2


def test_ask_batch_answers_each_line_in_order(db_path):
    questions = "sexual offences Wrexham 2022\nviolent crime Newcastle\n\nburglary Leeds 2023\n"
    result = run(["ask", "--json", "--batch", "-"], db_path, stdin=questions)
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["status"] for line in lines] == ["ok", "ambiguous", "not_found", "ok"]
    assert lines[0]["count"] == 536


def test_areas_lists_best_matches_with_codes_and_kinds(db_path):
    result = run(["areas", "bedford"], db_path)
    first = result.stdout.splitlines()[0].split()
    assert first[1:] == ["E22000009", "csp", "Bedford"]
    assert "E23000026" in result.stdout


def test_ask_without_a_store_says_how_to_build_it(tmp_path):
    result = run(["ask", "burglary Leeds"], tmp_path / "none.db")
    assert result.returncode == 2
    assert "crimebot ingest" in result.stderr and "Traceback" not in result.stderr


def test_ask_builds_the_store_when_sources_are_set(tmp_path, sources):
    db = tmp_path / "auto.db"
    result = run(["ask", "sexual offences Wrexham 2022"], db,
                 env_extra={"CRIMEBOT_SOURCES": str(sources)})
    assert result.returncode == 0 and "536" in result.stdout and db.exists()


def test_answering_imports_neither_pandas_nor_matplotlib(tiny_db):
    code = ("import sys; from bot.answer import open_engine; "
            f"open_engine({str(tiny_db)!r}).ask('burglary Manchester 2023'); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in {'pandas', 'matplotlib'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert result.stdout.strip() == "[]"


def test_ask_answers_a_ranking_question_with_the_ranking_the_bot_sends(db_path):
    question = "which area in Kent has the highest burglary rate"
    result = run(["ask", question], db_path)
    assert result.stdout.startswith("Burglary: local areas in Kent by rate per 1,000")
    data = json.loads(run(["ask", "--json", question], db_path).stdout)
    assert data["kind"] == "ranking" and data["scope"]["name"] == "Kent"
    first = data["ranked"][0]
    assert first["position"] == 1 and f"1. {first['name']}: " in result.stdout


def test_notes_lists_the_breaks_and_flags_the_store_holds(db_path):
    result = run(["notes", "knife", "Metropolitan"], db_path)
    assert result.returncode == 0
    assert "break · knife · Metropolitan Police · not compared across the year to April 2024" \
        in result.stdout
    empty = run(["notes", "no-such-word"], db_path)
    assert empty.returncode == 0 and "No notes or breaks held match that." in empty.stdout


def test_a_reader_that_stops_early_gets_no_traceback(tiny_db):
    """`crimebot ask --batch … | head -1`: the pipe closes under the answers."""
    env = {**os.environ, "CRIMEBOT_DB": str(tiny_db)}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "ask", "--json", "--batch", "-"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write(b"burglary Manchester 2023\n" * 400)
    proc.stdin.close()
    assert json.loads(proc.stdout.readline())["status"] == "ok"
    proc.stdout.close()
    error = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in error
