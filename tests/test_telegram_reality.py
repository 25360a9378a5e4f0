"""The running bot under hostile reality (issue 17), end to end against the strict fake Bot API
or through PTB's request seam: poison updates, sends cut before they reached Telegram, inline
access, chatter, recycled update ids. Every limit is asserted as a count, never as a timing."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from bot.telegram.inbox import Inbox
from tests.fake_telegram import FakeTelegram
from tests.test_telegram_e2e import GROUP, QUESTION, REPORTER, polling, reply, settle

SURROGATE = "\udcff"  # a lone surrogate: valid in JSON, impossible in UTF-8


def inbox_rows(inbox: Path) -> dict[int, tuple[str, str | None]]:
    with sqlite3.connect(inbox) as db:
        return {u: (s, o) for u, s, o in db.execute("select update_id, state, outcome from inbox")}


async def gone(inbox: Path, update_id: int) -> None:
    while update_id in inbox_rows(inbox):
        await asyncio.sleep(0.05)  # polls the journal; asserts nothing about time


def poison_updates(fake: FakeTelegram) -> list[dict]:
    """One update of each kind that reaches the bot, each carrying a lone surrogate, and one
    that is not an update PTB can read."""
    user = {"id": REPORTER, "is_bot": False, "first_name": "Rhian" + SURROGATE}
    chat = {"id": GROUP, "type": "group", "title": "Newsroom"}
    return [fake.inject_update(payload) for payload in (
        {"callback_query": {"id": "q1", "from": user, "chat_instance": "c",
                            "data": SURROGATE}},
        {"inline_query": {"id": "q2", "from": user, "query": "burglary " + SURROGATE,
                          "offset": ""}},
        {"message": {"message_id": 900, "date": 1, "chat": chat, "from": user,
                     "text": "/crime burglary " + SURROGATE}},
        {"message": "not an object"},
    )]


async def test_poison_updates_are_quarantined_once_and_fetching_goes_on(
        fake, db_path, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    inbox = tmp_path / "inbox.db"
    async with polling(fake, db_path, inbox=inbox):
        poisoned = [u["update_id"] for u in poison_updates(fake)]
        fake.inject_message(GROUP, f"/crime {QUESTION}")
        assert "536" in (await reply(fake, GROUP)).plain_text  # the bot still hears
    async with polling(fake, db_path, inbox=inbox):  # a restart does not bring them back
        fake.inject_message(GROUP, f"/crime {QUESTION}")
        assert "536" in (await reply(fake, GROUP)).plain_text
    rows = inbox_rows(inbox)
    assert {u: rows[u] for u in poisoned} == {u: ("done", "quarantined") for u in poisoned}
    quarantined = [r for r in caplog.records if "status=quarantined" in r.getMessage()]
    assert sorted(str(u) for u in poisoned) == sorted(
        r.getMessage().split("update id=")[1].split()[0] for r in quarantined)
    with sqlite3.connect(inbox) as db:
        (body,) = db.execute("select body from inbox where update_id = ?",
                             (poisoned[0],)).fetchone()
    assert "\\udcff" in body  # kept, escaped


@pytest.mark.parametrize("chats", [frozenset(), frozenset({GROUP})])
async def test_inline_mode_refuses_unlisted_users_from_every_kind_of_chat(fake, db_path, chats):
    async with polling(fake, db_path, chats=chats, users=frozenset({REPORTER})):
        refused = [fake.inject_inline_query(QUESTION, user_id=2002, chat_type=chat_type)
                   ["inline_query"]["id"] for chat_type in
                   ("sender", "private", "group", "supergroup", "channel", None)]
        allowed = fake.inject_inline_query(QUESTION, user_id=REPORTER)["inline_query"]["id"]
        for _ in range(7):
            await fake.wait_for("answerInlineQuery")
    answers = {a.query_id: a for a in fake.answers}
    assert [answers[q].results for q in refused] == [[]] * 6 and answers[allowed].results
    assert all(a.params["is_personal"] is True for a in fake.answers)


async def test_a_second_question_a_moment_later_shows_typing_not_a_note(fake, db_path):
    async with polling(fake, db_path, cooldown=1.0):
        asked = [fake.inject_message(GROUP, f"/crime {QUESTION}")["message"]["message_id"]
                 for _ in range(2)]
        answers = [await reply(fake, GROUP) for _ in range(2)]
        await settle(fake)
    assert [m.reply_to for m in answers] == asked
    assert [m.chat_id for m in fake.sent].count(GROUP) == 2  # nothing but the two answers
    typing = [c for c in fake.calls if c.method == "sendChatAction"]
    assert {c.params["action"] for c in typing} == {"typing"}
    assert GROUP in {c.params["chat_id"] for c in typing}


async def test_a_recycled_update_id_is_a_new_question_not_a_duplicate(fake, db_path, tmp_path):
    inbox = tmp_path / "inbox.db"
    async with polling(fake, db_path, inbox=inbox):
        first = fake.inject_message(GROUP, f"/crime {QUESTION}")
        await reply(fake, GROUP)
    fake.restart_update_ids(first["update_id"])  # a quiet week later, Telegram reuses the id
    async with polling(fake, db_path, inbox=inbox):
        again = fake.inject_message(GROUP, "/crime burglary Wrexham 2022")
        answer = await reply(fake, GROUP)
    assert again["update_id"] == first["update_id"]
    assert answer.reply_to == again["message"]["message_id"] and "burglar" in answer.plain_text


async def test_answered_updates_are_forgotten_while_running(fake, db_path, tmp_path):
    inbox = tmp_path / "inbox.db"
    old = 10**6
    async with polling(fake, db_path, inbox=inbox, desk_interval=0.05):
        fake.inject_message(GROUP, f"/crime {QUESTION}")
        await reply(fake, GROUP)
        journal = Inbox(inbox)  # an update answered days ago, long after the bot started
        journal.add([(old, {"message": {"message_id": 1, "date": 0}}, True)], now=0.0)
        journal.finish(old, "answered", now=0.0)
        journal.close()
        await asyncio.wait_for(gone(inbox, old), 60)
    assert set(inbox_rows(inbox).values()) == {("done", "answered")}


async def test_a_store_deleted_under_the_running_bot_is_logged_once(
        fake, db_path, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    live = tmp_path / "crime.db"
    live.write_bytes(db_path.read_bytes())
    deleted = f"store file {live} was deleted"
    async with polling(fake, db_path=live, desk_interval=0.05):
        live.unlink()
        await asyncio.wait_for(logged(caplog, deleted), 60)
        fake.inject_message(GROUP, f"/crime {QUESTION}")
        assert "536" in (await reply(fake, GROUP)).plain_text  # still answering
        fake.inject_message(GROUP, f"/crime {QUESTION}")
        await reply(fake, GROUP)
    assert caplog.text.count(deleted) == 1


async def logged(caplog, text: str) -> None:
    while text not in caplog.text:
        await asyncio.sleep(0.05)  # polls the log; asserts nothing about time
