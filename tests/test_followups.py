"""Follow-up questions carry the context of the answer they follow (issue #21).

Each follow-up is checked against the answer to the full question it stands for: the same
figures and the same words, after a lead that says what was carried.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.answer import Answer, Engine
from bot.conversations import KEPT_S, Conversations
from bot.followup import Place, Topic, reads_as_follow_up
from bot.rankings import Ranking
from bot.reply import reply_json, respond, respond_after
from tests.test_cli import run

FIRST = "sexual offences Wrexham 2022"


@pytest.fixture(scope="module")
def first(engine: Engine) -> Topic:
    turn = respond_after(engine, FIRST, None)
    assert turn.topic is not None
    return turn.topic


@pytest.fixture(scope="module", params=["tiny", "real"])
def any_engine(request: pytest.FixtureRequest) -> Engine:
    """For rules that need only a store: the tiny store built in code (always) and the real
    store (when the ONS files are present)."""
    return request.getfixturevalue("tiny_engine" if request.param == "tiny" else "engine")


@pytest.fixture(scope="module")
def any_first(any_engine: Engine) -> Topic:
    turn = respond_after(any_engine, FIRST, None)
    assert turn.topic is not None
    return turn.topic


def facts(data: dict) -> dict:
    """An answer's JSON without how its words were read (a carried part was not typed)."""
    out = {k: v for k, v in data.items() if k not in {"text", "context", "matched", "parts"}}
    return out | {"parts": [facts(part) for part in data.get("parts", [])]}


@pytest.mark.parametrize(("follow", "full", "lead"), [
    ("and Flintshire?", "sexual offences Flintshire 2022",
     "Following on from sexual offences, year to December 2022: "),
    ("what about 2021?", "sexual offences Wrexham 2021",
     "Following on from sexual offences, Wrexham: "),
    ("the year before", "sexual offences Wrexham 2021",
     "Following on from sexual offences, Wrexham, the year before the year to December 2022: "),
    ("same for burglary", "burglary Wrexham 2022",
     "Following on from Wrexham, year to December 2022: "),
    ("compare with Flintshire", "sexual offences Wrexham vs Flintshire 2022",
     "Following on from sexual offences, Wrexham, year to December 2022: "),
    ("vs 2021", "sexual offences Wrexham 2022 vs 2021",
     "Following on from sexual offences, Wrexham, year to December 2022: "),
    ("Flintshire the year before", "sexual offences Flintshire 2021",
     "Following on from sexual offences, the year before the year to December 2022: "),
    ("and North Wales?", "sexual offences North Wales police 2022",
     "Following on from sexual offences, year to December 2022: "),
    ("what about the force?", "sexual offences North Wales police 2022",
     "Following on from sexual offences, year to December 2022: "),
])
def test_a_follow_up_answers_the_full_question_it_stands_for(any_engine, any_first, follow, full,
                                                             lead):
    turn = respond_after(any_engine, follow, any_first)
    answer, whole = turn.reply, any_engine.ask(full)
    assert isinstance(answer, Answer) and whole.status == "ok"
    assert answer.text == lead + whole.text
    assert facts(answer.to_json()) == facts(whole.to_json())
    assert answer.to_json()["context"]["after"]["question"] == FIRST


def test_the_json_context_says_what_was_taken_from_which_answer(engine, first):
    context = respond_after(engine, "and Flintshire?", first).reply.to_json()["context"]
    assert context["carried"] == ["offence", "period"]
    assert context["taken"] == {"offence": {"key": "sexual", "label": "Sexual offences"},
                                "areas": [], "periods": ["2022-12-31"]}
    assert context["question"] == "sexual offences Flintshire year to December 2022"


def test_a_complete_question_carries_nothing_and_chatter_is_not_a_follow_up(engine, first):
    full = respond_after(engine, "and burglary in Leeds 2023?", first).reply
    assert isinstance(full, Answer) and full.count == engine.ask("burglary Leeds 2023").count
    assert not full.text.startswith("Following on")
    assert full.to_json()["context"]["carried"] == []
    for chatter in ("thanks!", "is that a lot?"):
        said = respond_after(engine, chatter, first)
        assert said.follow is None and said.reply == respond(engine, chatter)


def test_a_rank_follow_up_ranks_the_same_figure_among_its_siblings(engine, first):
    turn = respond_after(engine, "how does that rank in North Wales?", first)
    whole = respond(engine, "where does Wrexham rank for sexual offences in North Wales 2022")
    assert isinstance(turn.reply, Ranking) and isinstance(whole, Ranking)
    assert turn.reply.ranked == whole.ranked and turn.reply.focus_code == "W14000006"
    after = respond_after(engine, "and burglary?", turn.topic)
    burglary = respond(engine, "where does Wrexham rank for burglary in North Wales 2022")
    assert isinstance(after.reply, Ranking) and isinstance(burglary, Ranking)
    assert after.reply.ranked == burglary.ranked
    assert reply_json(burglary)["ranked"][0]["name"] == "Conwy"


def test_an_ambiguous_follow_up_asks_back_with_the_carried_period_on_its_buttons(engine, first):
    answer = respond_after(engine, "and Newcastle?", first).reply
    assert isinstance(answer, Answer) and answer.status == "ambiguous"
    assert answer.text.startswith("Following on from sexual offences, year to December 2022: ")
    assert {c.name for c in answer.candidates} == {"Newcastle upon Tyne",
                                                   "Newcastle-under-Lyme"}
    assert (answer.offence_key, answer.period_end) == ("sexual", "2022-12-31")


def test_what_reads_as_a_follow_up_in_a_private_chat():
    for text in ("and Flintshire?", "What about 2021?", "same for burglary", "compare with Kent",
                 "vs England and Wales", "the year before", "last year?", "per 1,000?",
                 "chart it", "how does that rank in Wales?", "five years earlier"):
        assert reads_as_follow_up(text), text
    for text in (FIRST, "burglary Leeds", "andover burglary", "Sandwell robbery"):
        assert not reads_as_follow_up(text), text


# --- where topics are kept --------------------------------------------------------------------

TOPIC = Topic(FIRST, "sexual", "Sexual offences", (Place("W14000006", "Wrexham", "csp"),),
              ("2022-12-31",))


def test_topics_are_kept_by_chat_and_message_across_reopening_and_pruned(tmp_path: Path):
    path = tmp_path / "desk.db"
    kept = Conversations(path)
    kept.remember(-42, [10, 11], TOPIC, now=1000.0)
    kept.close()
    reopened = Conversations(path)
    assert reopened.topic(-42, 11, now=1001.0) == TOPIC
    assert reopened.topic(-43, 11, now=1001.0) is None
    assert reopened.latest(-42, 60, now=1030.0) == TOPIC
    assert reopened.latest(-42, 60, now=1061.0) is None  # past the follow-up window
    reopened.remember(-42, [20], TOPIC, now=1000.0 + KEPT_S + 1)
    assert reopened.topic(-42, 10, now=1000.0 + KEPT_S + 1) is None


# --- the command line ---------------------------------------------------------------------------


def test_ask_after_answers_a_follow_up_in_one_command(db_path):
    result = run(["ask", "--after", FIRST, "and Flintshire?"], db_path)
    whole = run(["ask", "sexual offences Flintshire 2022"], db_path)
    assert result.returncode == 0
    assert result.stdout == ("Following on from sexual offences, year to December 2022: "
                             + whole.stdout)
    data = json.loads(run(["ask", "--json", "--after", FIRST, "and Flintshire?"],
                          db_path).stdout)
    assert data["count"] == 479 and data["context"]["after"]["question"] == FIRST


def test_chat_over_stdin_follows_on_and_prints_json_lines(db_path, tmp_path):
    lines = [FIRST, "and Flintshire?", "the year before", "same for burglary", "thanks",
             "burglary Leeds 2023", "what about 2021?"]
    result = run(["chat", "--json"], db_path, stdin="\n".join(lines) + "\n")
    assert result.returncode == 0
    got = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(got) == len(lines)
    stands_for = [FIRST, "sexual offences Flintshire 2022", "sexual offences Flintshire 2021",
                  "burglary Flintshire 2021", None, "burglary Leeds 2023", "burglary Leeds 2021"]
    for line, question in zip(got, stands_for, strict=True):
        if question is None:
            assert line["status"] == "not_found" and "context" not in line
            continue
        whole = json.loads(run(["ask", "--json", question], db_path).stdout)
        assert (line["count"], line["area"], line["period"]) == (
            whole["count"], whole["area"], whole["period"]), question
    assert [("context" in line) for line in got] == [False, True, True, True, False, False,
                                                    True]
    assert got[3]["context"]["carried"] == ["area", "period"]


def test_chat_as_text_says_what_it_carried(db_path):
    result = run(["chat"], db_path, stdin=f"{FIRST}\nand Flintshire?\n")
    assert "Following on from sexual offences, year to December 2022: North Wales Police " \
           "recorded 479 sexual offences in Flintshire" in result.stdout


def test_no_follow_up_text_raises_whatever_it_follows(any_engine, any_first):
    ranking = respond_after(any_engine, "how does that rank in North Wales?", any_first).topic
    hostile = (Path(__file__).parent / "hostile_inputs.txt").read_text("utf-8").splitlines()
    for topic in (any_first, ranking):
        for text in [*hostile, "and", "vs", "99 years earlier", "the year before " * 40,
                     "and " + "Leeds, " * 30]:
            turn = respond_after(any_engine, text, topic)
            assert turn.reply.status in {"ok", "ambiguous", "not_found", "no_data"}, text
            json.dumps(reply_json(turn.reply))
