"""End to end: a real python-telegram-bot Application long-polls the strict fake Bot API and
answers from the real store, so what is tested is what Telegram would see.

Updates are handled one at a time, in order. To show that an update got no reply, a test sends
a later question that is answered and waits for that answer: had the earlier update produced
anything, it would already be there. No test sleeps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from telegram.ext import Application

from bot.answer import Answer, Engine, open_engine
from bot.config import Config
from bot.telegram import (
    INLINE_CACHE_SECONDS,
    SLOW_DOWN,
    SORRY,
    STALE_BUTTON,
    Limits,
    Tuning,
    build_application,
    open_serving_engine,
    runner_of,
)
from tests.conftest import E2E_TOKEN as TOKEN
from tests.fake_telegram import Call, FakeTelegram, SentMessage

GROUP = -42
OTHER_GROUP = -43
SUPERGROUP = -1001234567890
REPORTER = 1001
QUESTION = "sexual offences Wrexham 2022"
ROOT = Path(__file__).resolve().parent.parent


FAST = Limits().scaled(0.01)


@asynccontextmanager
async def polling(fake: FakeTelegram, db_path: Path, *, chats: frozenset[int] = frozenset(),
                  users: frozenset[int] = frozenset(), cooldown: float = 0.0,
                  engine: Engine | None = None, inbox: Path | None = None,
                  limits: Limits = FAST, grace: float = 5.0, desk_interval: float = 60.0,
                  notice: float | None = None) -> AsyncIterator[Application]:
    """What `crimebot run` does, on the test's own event loop, with rate limits 100× faster.
    `notice` replaces the default wait before a fast asker is told to wait."""
    if inbox is None:
        inbox = Path(tempfile.mkdtemp(prefix="crimebot-inbox-")) / "inbox.db"
    config = Config(token=TOKEN, db_path=db_path, api_base_url=fake.base_url,
                    allowed_chats=chats, allowed_users=users, cooldown_seconds=cooldown,
                    log_level="INFO", inbox=inbox, heartbeat=inbox.parent / "heartbeat",
                    desk=inbox.parent / "desk.db")
    if notice is not None:
        config = dataclasses.replace(config, slow_notice_seconds=notice)
    tuning = Tuning(limits=limits, grace=grace, poll_timeout=1, probe_pause=0.05,
                    desk_interval=desk_interval)
    application = build_application(config, engine or open_serving_engine(db_path), tuning)
    runner = runner_of(application)
    async with runner.session(runner.poll, "long polling (test)"):
        yield application


@pytest_asyncio.fixture(loop_scope="function")
async def app(fake: FakeTelegram, db_path: Path) -> AsyncIterator[Application]:
    """The bot on the real store, for tests that check ONS's real figures, periods and cells."""
    async with polling(fake, db_path) as application:
        yield application


@pytest_asyncio.fixture(loop_scope="function")
async def tiny_app(fake: FakeTelegram, tiny_db: Path) -> AsyncIterator[Application]:
    """The bot on the tiny store built in code (tests/fixtures.py), for tests of how it listens
    and replies, which need *a* store; it holds Wrexham's 536 sexual offences in 2022 too."""
    async with polling(fake, tiny_db) as application:
        yield application


def sent(fake: FakeTelegram, call: Call) -> SentMessage:
    return next(m for m in fake.sent if m.message_id == call.result["message_id"]
                and m.chat_id == call.result["chat"]["id"])


async def reply(fake: FakeTelegram, chat_id: int, method: str = "sendMessage") -> SentMessage:
    """The next successful message the bot sends to `chat_id`."""
    call = await fake.wait_for(lambda c: c.method == method and c.ok
                               and c.params["chat_id"] == chat_id)
    return sent(fake, call)


async def settle(fake: FakeTelegram) -> None:
    """Wait until every update queued so far has been handled: updates are handled in order,
    so once a later /help from the reporter is answered, earlier replies have all been sent."""
    fake.inject_message(REPORTER, "/help")
    await reply(fake, REPORTER)


def messages_to(fake: FakeTelegram, chat_id: int) -> list[SentMessage]:
    return [m for m in fake.sent if m.chat_id == chat_id]


def buttons(message: SentMessage | dict[str, Any]) -> dict[str, str]:
    markup = message.reply_markup if isinstance(message, SentMessage) else message.get(
        "reply_markup")
    return {b["text"]: b["callback_data"] for row in (markup or {}).get("inline_keyboard", [])
            for b in row}


# --- where it listens ---------------------------------------------------------------------------


async def test_crime_command_in_a_group_replies_with_the_figure(fake, app):
    asked = fake.inject_message(GROUP, f"/crime {QUESTION}")["message"]
    answer = await reply(fake, GROUP)
    assert "536" in answer.plain_text
    assert answer.reply_to == asked["message_id"]
    assert answer.parse_mode == "HTML"
    assert answer.entities[0]["type"] == "bold" and answer.entities[0]["offset"] == 0
    assert set(buttons(answer)) == {"◀ Dec 2021", "📈 Chart", "Dec 2023 ▶", "Where is this from?"}


async def test_the_command_menu_is_registered_at_start(fake, tiny_app):
    commands = [c["command"] for cs in fake.commands.values() for c in cs]
    assert commands == ["crime", "chart", "help", "about", "story", "new", "patch", "subscribe",
                        "unsubscribe"]


async def test_help_lists_every_command_the_menu_offers_as_the_menu_describes_it(fake, app):
    fake.inject_message(REPORTER, "/help")
    shown = (await reply(fake, REPORTER)).plain_text
    menu = [c for cs in fake.commands.values() for c in cs]
    missing = [c["command"] for c in menu
               if f"/{c['command']} — {c['description']}" not in shown]
    assert missing == []


async def test_addressed_forms_are_answered_and_others_ignored(fake, app):
    fake.inject_message(GROUP, f"/crime@crimebot {QUESTION}")
    first = await reply(fake, GROUP)
    fake.inject_message(GROUP, f"@crimebot {QUESTION}")
    second = await reply(fake, GROUP)
    fake.inject_message(GROUP, "and burglary in Leeds 2023?", reply_to=second)
    third = await reply(fake, GROUP)
    assert "536" in first.plain_text and "536" in second.plain_text
    assert "6,515" in third.plain_text

    fake.inject_message(GROUP, f"/crime@otherbot {QUESTION}")
    fake.inject_message(GROUP, f"we should look at {QUESTION} for the story")
    fake.inject_message(SUPERGROUP, f"/crime {QUESTION}", chat_type="channel")
    await settle(fake)
    assert messages_to(fake, GROUP) == [first, second, third]
    assert messages_to(fake, SUPERGROUP) == []


async def test_any_text_in_a_private_chat_is_a_question(fake, tiny_app):
    fake.inject_message(REPORTER, QUESTION)
    answer = await reply(fake, REPORTER)
    assert "536" in answer.plain_text


async def test_an_edited_question_is_not_answered_again(fake, tiny_app):
    fake.inject_message(GROUP, f"/crime {QUESTION}")
    answer = await reply(fake, GROUP)
    fake.inject_message(GROUP, "/crime burglary Leeds 2023", edited=True)
    await settle(fake)
    assert messages_to(fake, GROUP) == [answer]


async def test_help_start_and_about(fake, tiny_app):
    fake.inject_message(REPORTER, "/start")
    assert "/crime sexual offences Wrexham 2022" in (await reply(fake, REPORTER)).plain_text
    fake.inject_message(GROUP, "/help@crimebot")
    assert "@crimebot" in (await reply(fake, GROUP)).plain_text
    fake.inject_message(REPORTER, "/about")
    about = (await reply(fake, REPORTER)).plain_text
    assert "Crime in England & Wales" in about  # an "&" from the data, escaped and accepted


async def test_a_bare_command_explains_itself(fake, tiny_app):
    fake.inject_message(GROUP, "/crime")
    assert "/crime sexual offences Wrexham 2022" in (await reply(fake, GROUP)).plain_text


# --- buttons and charts -------------------------------------------------------------------------


async def test_an_ambiguous_place_offers_buttons_and_a_press_edits_in_the_answer(fake, app):
    fake.inject_message(GROUP, "/crime violent crime Newcastle")
    question = await reply(fake, GROUP)
    choices = buttons(question)
    assert set(choices) == {"Newcastle upon Tyne (local area, Northumbria)",
                            "Newcastle-under-Lyme (local area, Staffordshire)"}

    fake.inject_callback(question, choices["Newcastle-under-Lyme (local area, Staffordshire)"])
    await fake.wait_for("answerCallbackQuery")
    await fake.wait_for("editMessageText")
    edited = fake.message(GROUP, question.message_id)
    assert "violence against the person offences in Newcastle-under-Lyme" in edited["text"]
    assert "📈 Chart" in buttons(edited)


async def test_previous_period_button_edits_the_answer_in_place(fake, app):
    fake.inject_message(GROUP, f"/crime {QUESTION}")
    answer = await reply(fake, GROUP)
    fake.inject_callback(answer, buttons(answer)["◀ Dec 2021"])
    await fake.wait_for("editMessageText")
    edited = fake.message(GROUP, answer.message_id)
    assert "recorded 461 sexual offences in Wrexham in the year to December 2021" in edited["text"]
    assert "Dec 2022 ▶" in buttons(edited)


@pytest.mark.parametrize("data", ["v1|a|E99999999|sexual|", "garbage", "v0|a|W14000006|x|"])
async def test_a_stale_or_forged_button_gets_a_polite_note(fake, tiny_app, data):
    fake.inject_message(GROUP, f"/crime {QUESTION}")
    answer = await reply(fake, GROUP)
    fake.inject_callback(answer, data, must_exist=False)
    await fake.wait_for("answerCallbackQuery")
    assert fake.answers[-1].text == STALE_BUTTON
    assert not fake.edits


async def test_the_chart_button_sends_a_png_in_reply(fake, app):
    fake.inject_message(GROUP, f"/crime {QUESTION}")
    answer = await reply(fake, GROUP)
    fake.inject_callback(answer, buttons(answer)["📈 Chart"])
    photo = await reply(fake, GROUP, "sendPhoto")
    assert photo.photo is not None and photo.photo.startswith(b"\x89PNG")
    assert photo.reply_to == answer.message_id
    assert photo.plain_text == ("North Wales Police recorded 536 sexual offences in Wrexham in "
                                "the year to December 2022, ONS figures show."), \
        "the caption is the headline figure and the answer's period, for screen readers too"


async def test_the_chart_command_charts_the_period_asked_and_says_it(fake, app):
    fake.inject_message(REPORTER, f"/chart {QUESTION}")
    photo = await reply(fake, REPORTER, "sendPhoto")
    assert photo.photo.startswith(b"\x89PNG")
    assert photo.plain_text == ("North Wales Police recorded 536 sexual offences in Wrexham in "
                                "the year to December 2022, ONS figures show.")


async def test_a_chart_button_from_before_periods_were_carried_charts_the_latest(fake, app):
    fake.inject_message(GROUP, f"/crime {QUESTION}")
    answer = await reply(fake, GROUP)
    fake.inject_callback(answer, "v1|c|W14000006|sexual|", must_exist=False)
    photo = await reply(fake, GROUP, "sendPhoto")
    assert photo.photo.startswith(b"\x89PNG")
    assert "in Wrexham in the year to June 2025" in photo.plain_text


async def test_where_is_this_from_names_the_file_sheet_and_cell_of_each_number(fake, app):
    fake.inject_message(GROUP, f"/crime {QUESTION}")
    answer = await reply(fake, GROUP)
    fake.inject_callback(answer, buttons(answer)["Where is this from?"])
    cited = await reply(fake, GROUP)
    lines = cited.plain_text.splitlines()
    assert lines[0] == "Where is this from?"
    assert lines[1].startswith("• 536: count, Sexual offences, Wrexham, the year to December 2022 "
                               "— ons_csp_recorded_crime_ye_dec2022.xlsx, sheet Table C3, cell ")
    assert "(row “Wrexham”, column “Sexual offences”)" in lines[1]
    assert lines[2].startswith("• 461: previous year's count")
    assert any(e["type"] == "text_link" or e["type"] == "url" for e in cited.entities)
    assert "recordedcrimedatabycommunitysafetypartnershiparea" in cited.plain_text
    assert fake.message(GROUP, answer.message_id)["text"] == answer.plain_text


async def test_the_chart_command(fake, app):
    fake.inject_message(REPORTER, "/chart violent crime Bedfordshire")
    photo = await reply(fake, REPORTER, "sendPhoto")
    assert photo.photo.startswith(b"\x89PNG")


# --- inline mode --------------------------------------------------------------------------------


async def test_inline_query_returns_the_answer_as_an_article(fake, tiny_app):
    fake.inject_inline_query(QUESTION)
    await fake.wait_for("answerInlineQuery")
    answered = fake.answers[-1]
    assert answered.params["cache_time"] == INLINE_CACHE_SECONDS
    assert answered.params.get("is_personal") in (None, False)
    (article,) = answered.results
    assert article["type"] == "article"
    assert "536" in article["input_message_content"]["message_text"]


async def test_an_ambiguous_inline_query_returns_one_article_per_place(fake, app):
    fake.inject_inline_query("violent crime Newcastle")
    await fake.wait_for("answerInlineQuery")
    titles = [r["title"] for r in fake.answers[-1].results]
    assert len(titles) == 2
    assert any("Newcastle upon Tyne" in t for t in titles)
    assert any("Newcastle-under-Lyme" in t for t in titles)


# --- protection ---------------------------------------------------------------------------------


async def test_only_listed_chats_and_users_are_answered(fake, tiny_db):
    async with polling(fake, tiny_db, chats=frozenset({GROUP}), users=frozenset({REPORTER})):
        fake.inject_message(OTHER_GROUP, f"/crime {QUESTION}")
        fake.inject_message(2002, QUESTION)
        fake.inject_inline_query(QUESTION, user_id=2002)
        fake.inject_message(GROUP, f"/crime {QUESTION}")
        assert "536" in (await reply(fake, GROUP)).plain_text
        fake.inject_inline_query(QUESTION, user_id=REPORTER)
        await fake.wait_for("answerInlineQuery")
        await settle(fake)
    assert {m.chat_id for m in fake.sent} == {GROUP, REPORTER}
    assert len(messages_to(fake, REPORTER)) == 1
    denied, allowed = fake.answers  # the refused inline query is answered too: no spinner
    assert denied.results == [] and allowed.results
    assert allowed.params["is_personal"] is True


async def test_the_bot_leaves_a_group_it_is_not_listed_for(fake, tiny_db):
    fake.add_chat(OTHER_GROUP)
    member = {"status": "member", "user": fake.bot_user}
    async with polling(fake, tiny_db, chats=frozenset({GROUP})):
        fake.inject_update({"my_chat_member": {
            "chat": fake.chats[OTHER_GROUP], "from": fake.add_user(REPORTER),
            "date": int(time.time()), "old_chat_member": {**member, "status": "left"},
            "new_chat_member": member}})
        await fake.wait_for("leaveChat")
    assert fake.left == {OTHER_GROUP}


async def test_a_group_upgraded_to_a_supergroup_stays_allowed(fake, tiny_db):
    async with polling(fake, tiny_db, chats=frozenset({GROUP})):
        fake.inject_migration(GROUP, SUPERGROUP)
        fake.inject_message(SUPERGROUP, f"/crime {QUESTION}")
        assert "536" in (await reply(fake, SUPERGROUP)).plain_text


async def test_a_fast_asker_is_paced_told_once_and_every_question_answered(fake, tiny_db):
    async with polling(fake, tiny_db, cooldown=0.3, notice=0):
        asked = [fake.inject_message(GROUP, f"/crime {QUESTION}")["message"]["message_id"]
                 for _ in range(3)]
        replies = [await reply(fake, GROUP) for _ in range(4)]
        await settle(fake)
    assert [m.plain_text for m in replies].count(SLOW_DOWN) == 1
    answers = [m for m in replies if m.plain_text != SLOW_DOWN]
    assert [m.reply_to for m in answers] == asked
    assert all("536" in m.plain_text for m in answers)


async def test_a_429_is_waited_out_and_delivered_once(fake, tiny_app):
    fake.fail_next("sendMessage", 429, retry_after=1)
    fake.inject_message(GROUP, f"/crime {QUESTION}")
    answer = await reply(fake, GROUP)
    assert "536" in answer.plain_text
    tries = [c for c in fake.calls if c.method == "sendMessage"]
    assert [c.status for c in tries] == [429, 200]
    assert len([m for m in fake.sent if m.chat_id == GROUP]) == 1


async def test_a_failure_says_sorry_without_details(fake, tiny_db, caplog):
    engine = open_engine(tiny_db)

    def broken(question: str, today: object = None) -> Answer:
        raise RuntimeError("database exploded at /secret/path")

    engine.ask = broken
    async with polling(fake, tiny_db, engine=engine):
        update = fake.inject_message(GROUP, f"/crime {QUESTION}")
        answer = await reply(fake, GROUP)
    assert answer.plain_text == SORRY
    assert answer.reply_to == update["message"]["message_id"]
    assert f"update {update['update_id']} failed" in caplog.text


async def test_a_failing_button_says_sorry_in_the_toast(fake, tiny_db):
    engine = open_engine(tiny_db)

    def broken(area: str, offence: str, period: str | None) -> Answer:
        raise RuntimeError("boom")

    engine.answer_for = broken
    async with polling(fake, tiny_db, engine=engine):
        fake.inject_message(GROUP, f"/crime {QUESTION}")
        answer = await reply(fake, GROUP)
        fake.inject_callback(answer, buttons(answer)["Dec 2023 ▶"])
        await fake.wait_for("answerCallbackQuery")
    assert fake.answers[-1].text == SORRY
    assert messages_to(fake, GROUP) == [answer]


# --- replies ------------------------------------------------------------------------------------


async def test_markup_in_a_question_is_escaped(fake, tiny_app):
    fake.inject_message(REPORTER, f"<b>{QUESTION}</b> & <i>co</i>")
    answer = await reply(fake, REPORTER)
    assert "536" in answer.plain_text


async def test_a_long_answer_is_split_into_valid_messages(fake, tiny_db):
    engine = open_engine(tiny_db)
    real = engine.ask(QUESTION)
    body = "\n".join(f"Row {n}: <tag> & more text to pad the line out" for n in range(300))

    def long_answer(question: str, today: object = None) -> Answer:
        return Answer(**{**real.__dict__, "text": real.text + "\n\n" + body})

    engine.ask = long_answer
    async with polling(fake, tiny_db, engine=engine):
        asked = fake.inject_message(GROUP, f"/crime {QUESTION}")["message"]
        parts = [await reply(fake, GROUP)]
        while not parts[-1].reply_markup:
            parts.append(await reply(fake, GROUP))
    assert len(parts) == 5
    assert all(len(p.plain_text) <= 4096 and len(p.text) <= 4096 for p in parts)
    assert all(p.reply_to == asked["message_id"] for p in parts)
    assert "Row 0: <tag> & more" in "".join(p.plain_text for p in parts)
    assert "Row 299:" in parts[-1].plain_text


# --- the real command ---------------------------------------------------------------------------


@pytest.fixture
def subprocess_env(tiny_db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRIMEBOT_", "TELEGRAM_"))}
    return {**env, "TELEGRAM_BOT_TOKEN": TOKEN, "CRIMEBOT_DB": str(tiny_db),
            "CRIMEBOT_LOG_LEVEL": "DEBUG", "CRIMEBOT_COOLDOWN_SECONDS": "0"}


async def test_crimebot_run_answers_and_stops_cleanly_on_sigterm(fake, subprocess_env):
    subprocess_env["TELEGRAM_API_BASE_URL"] = f"{fake.url}/bot"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=subprocess_env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        await fake.wait_for(lambda c: c.method == "getUpdates", timeout=30, finished=False)
        fake.inject_message(GROUP, f"/crime {QUESTION}")
        assert "536" in (await reply(fake, GROUP)).plain_text
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=5)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    logged = stderr.decode()
    assert process.returncode == 0, logged
    assert TOKEN not in logged and "ready" in logged


async def test_crimebot_run_refuses_bad_settings_with_exit_code_2(subprocess_env):
    subprocess_env["CRIMEBOT_ALLOWED_CHATS"] = "newsroom"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=subprocess_env,
        stderr=asyncio.subprocess.PIPE)
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 2
    assert "CRIMEBOT_ALLOWED_CHATS" in stderr.decode()


# --- data refresh under a running bot -----------------------------------------------------------


async def test_a_store_swapped_under_the_running_bot_is_used_for_the_next_question(
        fake, db_path, sources, tmp_path):
    from bot.ingest import build

    live = tmp_path / "crime.db"
    live.write_bytes(db_path.read_bytes())
    older = [p for p in sources.iterdir() if not p.name.endswith("yejune25final.csv")]
    async with polling(fake, live):
        fake.inject_message(REPORTER, "sexual offences Wrexham latest")
        first = await reply(fake, REPORTER)
        assert "year to June 2025" in first.plain_text
        build(older, live)
        fake.inject_message(REPORTER, "sexual offences Wrexham latest")
        second = await reply(fake, REPORTER)
        assert "year to December 2024" in second.plain_text
        assert "edition year ending December 2024" in second.plain_text
        (tmp_path / "broken.db").write_bytes(b"not a database at all" * 100)
        os.replace(tmp_path / "broken.db", live)
        fake.inject_message(REPORTER, "sexual offences Wrexham latest")
        third = await reply(fake, REPORTER)
        assert "year to December 2024" in third.plain_text
