"""Story copy: the same answer, laid out to paste, with nothing added and nothing lost."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.answer import Answer, Engine
from bot.story import build_story
from bot.telegram.render import story_html
from tests.fake_telegram import parse_html


def ask(engine: Engine, question: str) -> Answer:
    return engine.ask(question)


def test_the_story_follows_the_reporting_guide_order(engine):
    answer = ask(engine, "sexual offences Wrexham 2022")
    story = build_story(answer)
    assert story.status == "ok"
    assert story.headline == "Sexual offences in Wrexham up 16% in a year"
    copy = story.copy
    assert story.paragraphs[0].startswith(
        "North Wales Police recorded 536 sexual offences in Wrexham in the year to December 2022")
    in_answer = [p.removeprefix("Caveat: ") for p in answer.text.split("\n\n")]
    positions = [in_answer.index(p) for p in story.paragraphs]
    assert positions == sorted(positions), "the answer's order (the guide's) is kept"
    for part in ("461", "per 1,000 residents", "2,746", "victims coming forward"):
        assert part in copy
    assert copy.endswith(answer.text.split("\n\n")[-1]), "the source line closes the copy"
    assert "Caveat:" not in copy
    assert (story.area_code, story.offence_key, story.period_end) == (
        "W14000006", "sexual", "2022-12-31")


def test_every_sentence_of_the_answer_is_kept(engine):
    for question in ("sexual offences Wrexham 2022", "knife crime Wrexham", "Leeds 2023",
                     "crime in Leeds last year", "homicide Isles of Scilly 2024"):
        answer = ask(engine, question)
        story = build_story(answer)
        kept = "\n".join([*story.paragraphs, *story.desk_notes, story.source])
        for paragraph in answer.text.split("\n\n"):
            for sentence in re.split(r"(?<=[.?!])\s+", paragraph.removeprefix("Caveat: ")):
                assert sentence in kept, (question, sentence)


def test_the_bots_own_remarks_go_to_the_desk_not_the_copy(engine):
    story = build_story(ask(engine, "Wrexham 2022"))
    assert "No offence was named" not in story.copy
    assert any("No offence was named" in note for note in story.desk_notes)
    assert "For the desk, not for print" in story_html(story)
    knife = build_story(ask(engine, "knife crime Wrexham"))
    assert knife.copy.split("\n\n")[1].startswith("North Wales Police recorded")
    assert any("police force areas, not for local areas" in n for n in knife.desk_notes)


def test_small_counts_get_no_percentage_headline(engine):
    answer = ask(engine, "homicide Isles of Scilly 2024")
    assert answer.change_pct is None
    assert "%" not in build_story(answer).headline


def test_a_question_that_needs_asking_back_is_asked_back(engine):
    answer = ask(engine, "burglary Newcastle")
    story = build_story(answer)
    assert story.status == "ambiguous" and story.copy == answer.text
    comparison = build_story(ask(engine, "burglary Leeds 2024 vs 2023"))
    assert comparison.status == "ask_back" and "one area and one period" in comparison.copy


@pytest.mark.parametrize("question", [
    "sexual offences Wrexham", "knife crime Wrexham", "burglary Newcastle", "<b>& Atlantis",
    "crime in Leeds last year", "", "shoplifting Manchester 2024 vs 2023",
])
def test_every_story_is_valid_telegram_html(engine, question):
    plain, _ = parse_html(story_html(build_story(ask(engine, question))))
    assert 0 < len(plain.encode("utf-16-le")) // 2 <= 4096


def test_crimebot_story_prints_paste_ready_copy(db_path: Path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "story", "--db", str(db_path),
         "sexual offences Wrexham 2022"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0
    assert result.stdout.startswith("Sexual offences in Wrexham up 16% in a year\n\nNorth Wales")
