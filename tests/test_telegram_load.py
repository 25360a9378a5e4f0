"""Newsroom load and faults, end to end against the strict fake Bot API: no question refused,
lost, doubled or stuck. Rate-limit windows are shrunk (Limits.scaled) so bursts take seconds;
the limits are asserted as counts of sends within windows, never as timings: the windows are
the limits themselves, as the fake received the sends, with no allowance for the machine."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import Counter

from bot.telegram import SLOW_DOWN, SORRY, Limits
from tests.fake_telegram import FakeTelegram, SentMessage
from tests.test_telegram_e2e import GROUP, QUESTION, REPORTER, polling, reply

SCALED = Limits().scaled(0.02)  # a group's 60 s window becomes 1.2 s
QUESTIONS = [f"/crime sexual offences Wrexham {year}" for year in (2020, 2021, 2022, 2023)]


def answers_to(fake: FakeTelegram, asked: dict[int, tuple[int, int]]) -> Counter:
    """How many messages replied to each asked (chat, message id)."""
    return Counter((m.chat_id, m.reply_to) for m in fake.sent
                   if (m.chat_id, m.reply_to) in asked.values())


async def until_answered(fake: FakeTelegram, asked: dict[int, tuple[int, int]],
                         timeout: float = 60) -> None:
    async def wait() -> None:
        while set(answers_to(fake, asked)) != set(asked.values()):
            await asyncio.sleep(0.02)  # polls the fake's record; asserts nothing about time
    await asyncio.wait_for(wait(), timeout)


def most_in_any_window(times: list[float], window: float) -> int:
    """The largest number of `times` inside any stretch of `window` seconds."""
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


def send_times(fake: FakeTelegram, chat_id: int | None = None) -> list[float]:
    return [c.time for c in fake.calls if c.method == "sendMessage" and c.status == 200
            and (chat_id is None or c.params["chat_id"] == chat_id)]


def ask(fake: FakeTelegram, chat: int, text: str, user: int | None = None) -> tuple[int, int]:
    update = fake.inject_message(chat, text, user_id=user)
    return update["update_id"], (chat, update["message"]["message_id"])


async def test_five_reporters_asking_in_one_group_at_once_all_get_their_answer(fake, db_path):
    async with polling(fake, db_path, cooldown=2.0, limits=SCALED):
        asked = dict(ask(fake, GROUP, f"/crime {QUESTION}", user=REPORTER + n) for n in range(5))
        await until_answered(fake, asked)
    assert set(answers_to(fake, asked).values()) == {1}
    assert all(m.plain_text != SLOW_DOWN for m in fake.sent)


async def test_a_60_question_burst_in_one_group_is_all_answered_within_the_limits(
        fake, db_path):
    quiet = -77
    async with polling(fake, db_path, limits=SCALED):
        asked = dict(ask(fake, GROUP, QUESTIONS[n % 4], user=REPORTER + n % 7)
                     for n in range(60))
        await fake.wait_for(lambda c: c.method == "sendMessage" and c.ok
                            and c.params["chat_id"] == GROUP, timeout=120)
        asked_at = time.time()
        quiet_id, quiet_question = ask(fake, quiet, f"/crime {QUESTION}")
        quiet_answer = await reply(fake, quiet)
        assert len(messages_before(fake, quiet_answer, GROUP)) < 60  # not behind the burst
        print(f"quiet group waited {time.time() - asked_at:.2f} s during the burst")
        await until_answered(fake, {**asked, quiet_id: quiet_question}, timeout=300)
    assert set(answers_to(fake, asked).values()) == {1}
    group = send_times(fake, GROUP)
    assert most_in_any_window(group, SCALED.group_window) <= SCALED.group_max
    assert most_in_any_window(group, SCALED.chat_window) <= SCALED.chat_max


def messages_before(fake: FakeTelegram, message: SentMessage, chat_id: int) -> list[SentMessage]:
    index = fake.sent.index(message)
    return [m for m in fake.sent[:index] if m.chat_id == chat_id]


async def test_200_questions_across_20_groups_are_all_answered_within_the_limits(
        fake, db_path):
    async with polling(fake, db_path, limits=SCALED):
        asked = dict(ask(fake, -1000 - n % 20, QUESTIONS[n % 4], user=REPORTER + n)
                     for n in range(200))
        await until_answered(fake, asked, timeout=90)
    assert set(answers_to(fake, asked).values()) == {1}
    everything = send_times(fake)
    assert most_in_any_window(everything, SCALED.overall_window) <= SCALED.overall_max
    for n in range(20):
        group = send_times(fake, -1000 - n)
        assert most_in_any_window(group, SCALED.group_window) <= SCALED.group_max


async def test_a_429_longer_than_any_retry_count_still_delivers_the_answer_once(fake, db_path):
    async with polling(fake, db_path):
        fake.fail_next("sendMessage", 429, retry_after=1, times=4)
        asked = dict([ask(fake, GROUP, f"/crime {QUESTION}")])
        await until_answered(fake, asked, timeout=30)
    assert [c.status for c in fake.calls if c.method == "sendMessage"] == [429] * 4 + [200]
    assert set(answers_to(fake, asked).values()) == {1}


async def test_a_send_cut_before_it_took_effect_is_sent_again_once(fake, db_path):
    async with polling(fake, db_path):
        fake.drop_connections(1, method="sendMessage")
        asked = dict([ask(fake, GROUP, f"/crime {QUESTION}")])
        await until_answered(fake, asked)
    assert set(answers_to(fake, asked).values()) == {1}
    assert all(m.plain_text != SORRY for m in fake.sent)


async def test_a_send_cut_after_it_took_effect_is_not_sent_twice(fake, db_path):
    async with polling(fake, db_path):
        fake.cut_after_effect(1, method="sendMessage")
        asked = dict([ask(fake, GROUP, f"/crime {QUESTION}")])
        await until_answered(fake, asked)
        fake.inject_message(GROUP, "/help")
        await fake.wait_for(lambda c: c.method == "sendMessage" and c.ok
                            and "/crime burglary" in c.params["text"])
    assert set(answers_to(fake, asked).values()) == {1}
    assert all(m.plain_text != SORRY for m in fake.sent)


async def test_a_slow_send_holds_up_only_its_own_chat(fake, db_path):
    async with polling(fake, db_path):
        fake.delay_next("sendMessage", 2.0)
        slow = dict([ask(fake, GROUP, f"/crime {QUESTION}")])
        await fake.wait_for(lambda c: c.method == "sendMessage", finished=False)
        other = dict([ask(fake, REPORTER, QUESTION)])
        await until_answered(fake, other)
        assert not answers_to(fake, slow)  # the other chat did not wait for the slow send
        await until_answered(fake, slow)
    assert set(answers_to(fake, {**slow, **other}).values()) == {1}


async def test_store_swaps_meta_only_in_place_and_newer(fake, db_path, tmp_path):
    live = tmp_path / "crime.db"
    live.write_bytes(db_path.read_bytes())
    async with polling(fake, live):
        fake.inject_message(REPORTER, "sexual offences Wrexham latest")
        assert "year to June 2025" in (await reply(fake, REPORTER)).plain_text

        meta_only = tmp_path / "meta.db"
        with sqlite3.connect(meta_only) as conn:
            conn.execute("create table meta (key text primary key, value text)")
            conn.execute("insert into meta values ('schema', '1')")
        os.replace(meta_only, live)
        fake.inject_message(REPORTER, "sexual offences Wrexham latest")
        assert "year to June 2025" in (await reply(fake, REPORTER)).plain_text

        newer = tmp_path / "newer.db"  # a valid store that differs: June 2025 withdrawn
        newer.write_bytes(db_path.read_bytes())
        with sqlite3.connect(newer) as conn:
            conn.execute("delete from figures where period_end = '2025-06-30'")
        with open(live, "r+b") as overwritten:  # a `cp` over the live file: same inode
            overwritten.write(newer.read_bytes()[:4096])
        fake.inject_message(REPORTER, "sexual offences Wrexham latest")
        assert "year to June 2025" in (await reply(fake, REPORTER)).plain_text

        os.replace(newer, live)
        fake.inject_message(REPORTER, "sexual offences Wrexham latest")
        swapped = (await reply(fake, REPORTER)).plain_text
        assert "year to June 2025" not in swapped and "in the year to" in swapped
    assert all(m.plain_text != SORRY for m in fake.sent)


async def test_a_restart_answers_what_the_inbox_holds_and_nothing_twice(fake, db_path, tmp_path):
    inbox = tmp_path / "inbox.db"
    async with polling(fake, db_path, inbox=inbox, limits=Limits().scaled(0.5), grace=0):
        asked = dict(ask(fake, GROUP, QUESTIONS[n % 4]) for n in range(6))
        await fake.wait_for(lambda c: c.method == "sendMessage" and c.ok, timeout=30)
    pending = sqlite3.connect(inbox).execute(
        "select count(*) from inbox where state = 'pending'").fetchone()[0]
    assert pending > 0  # stopped with a backlog, which stayed in the inbox
    async with polling(fake, db_path, inbox=inbox):
        await until_answered(fake, asked)
    assert set(answers_to(fake, asked).values()) == {1}
