"""Faults: a flaky Bot API, a broken store at start, an ingest killed midway.

Every injected question must be answered exactly once, whatever the network did in between.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.telegram import EXIT_AUTH
from tests.conftest import E2E_TOKEN
from tests.test_telegram_e2e import GROUP, REPORTER, polling

ROOT = Path(__file__).resolve().parent.parent


async def test_every_question_is_answered_exactly_once_through_network_faults(fake, db_path):
    questions = [f"sexual offences Wrexham {year}" for year in (2021, 2022, 2023, 2024)]
    async with polling(fake, db_path):
        fake.fail_next("getUpdates", status=500, times=2)
        fake.drop_connections(2, method="getUpdates")
        fake.fail_next("getUpdates", status=429, retry_after=1)
        asked = [fake.inject_message(REPORTER + n, q)["message"]["message_id"]
                 for n, q in enumerate(questions)]
        fake.delay_next("sendMessage", 0.5)
        fake.fail_next("sendMessage", status=429, retry_after=1)
        for n in range(len(questions)):
            await fake.wait_for(lambda c, chat=REPORTER + n: c.method == "sendMessage" and c.ok
                                and c.params["chat_id"] == chat, timeout=30)
        fake.inject_message(REPORTER, "/help")
        await fake.wait_for(lambda c: c.method == "sendMessage" and c.ok
                            and "crime" in c.params["text"] and c.params["chat_id"] == REPORTER
                            and c.params["text"] != "", timeout=10)
    replies = Counter((m.chat_id, m.reply_to) for m in fake.sent if m.reply_to in asked)
    assert sorted(replies) == sorted((REPORTER + n, asked[n]) for n in range(len(questions)))
    assert set(replies.values()) == {1}


@pytest.mark.parametrize("content", [None, b"", b"\x00garbage" * 512])
def test_a_missing_empty_or_corrupt_store_at_start_is_a_clear_error(tmp_path, content):
    db = tmp_path / "crime.db"
    if content is not None:
        db.write_bytes(content)
    env = {**os.environ, "TELEGRAM_BOT_TOKEN": "123456:TEST-token", "CRIMEBOT_DB": str(db)}
    result = subprocess.run([sys.executable, "-m", "bot", "run"], capture_output=True,
                            text=True, env=env, timeout=60, cwd=ROOT)
    assert result.returncode == 1
    assert "crimebot ingest" in result.stderr and "Traceback" not in result.stderr


def test_an_ingest_killed_with_sigkill_leaves_the_old_store_intact(db_path, sources, tmp_path):
    live = tmp_path / "crime.db"
    shutil.copy(db_path, live)
    before = live.read_bytes()
    process = subprocess.Popen([sys.executable, "-m", "bot", "ingest", "--source", str(sources),
                                "--db", str(live), "--quiet"], cwd=ROOT)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".crime.db.building-*")) and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    assert live.read_bytes() == before
    rebuilt = subprocess.run([sys.executable, "-m", "bot", "ingest", "--source", str(sources),
                              "--db", str(live), "--quiet"], cwd=ROOT, timeout=120)
    assert rebuilt.returncode == 0
    assert not list(tmp_path.glob(".crime.db.building-*"))


# --- the real process: kill, stop, lose the token -----------------------------------------------


def bot_env(fake, db_path: Path, tmp_path: Path, scale: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRIMEBOT_", "TELEGRAM_"))}
    return {**env, "TELEGRAM_BOT_TOKEN": E2E_TOKEN, "CRIMEBOT_DB": str(db_path),
            "TELEGRAM_API_BASE_URL": fake.base_url, "CRIMEBOT_COOLDOWN_SECONDS": "0",
            "CRIMEBOT_INBOX": str(tmp_path / "inbox.db"), "CRIMEBOT_LIMIT_SCALE": scale,
            "CRIMEBOT_HEARTBEAT": str(tmp_path / "heartbeat"),
            "CRIMEBOT_STOP_GRACE_SECONDS": "1"}


async def start_bot(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


def ask_group(fake, n: int) -> dict[int, int]:
    """`n` questions in one group; {message id: update id}."""
    asked = {}
    for k in range(n):
        update = fake.inject_message(GROUP, f"/crime sexual offences Wrexham {2020 + k % 4}",
                                     user_id=REPORTER + k)
        asked[update["message"]["message_id"]] = update["update_id"]
    return asked


def replies(fake) -> Counter:
    return Counter(m.reply_to for m in fake.sent if m.chat_id == GROUP)


async def until(predicate, timeout: float = 60) -> None:
    async def wait() -> None:
        while not predicate():
            await asyncio.sleep(0.05)  # polls the fake's record; asserts nothing about time
    await asyncio.wait_for(wait(), timeout)


def pending(tmp_path: Path) -> int:
    return len(pending_ids(tmp_path))


def pending_ids(tmp_path: Path) -> set[int]:
    with sqlite3.connect(tmp_path / "inbox.db") as conn:
        return {u for u, in conn.execute("select update_id from inbox where state = 'pending'")}


async def restart_until_answered(env: dict[str, str], fake, asked: dict[int, int]) -> None:
    """Start the bot again (limits 100× faster) and stop it once every question has a reply."""
    env["CRIMEBOT_LIMIT_SCALE"] = "0.01"
    process = await start_bot(env)
    try:
        await until(lambda: set(replies(fake)) >= set(asked))
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()


async def test_sigkill_with_fetched_unanswered_updates_then_restart_answers_each_once(
        fake, db_path, tmp_path):
    env = bot_env(fake, db_path, tmp_path, scale="1")  # real limits: one message a second
    process = await start_bot(env)
    try:
        asked = ask_group(fake, 6)
        await until(lambda: len(replies(fake)) >= 2)
        assert not fake.pending_updates  # all fetched and confirmed to Telegram
        process.kill()
        await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
    assert len(replies(fake)) < len(asked)
    await restart_until_answered(env, fake, asked)
    counts = replies(fake)
    assert {counts[m] for m in asked} == {1}
    assert pending(tmp_path) == 0


async def test_sigterm_with_a_backlog_finishes_within_grace_and_keeps_the_rest(
        fake, db_path, tmp_path):
    env = bot_env(fake, db_path, tmp_path, scale="1")
    process = await start_bot(env)
    try:
        asked = ask_group(fake, 10)
        await until(lambda: len(replies(fake)) >= 1)
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 60)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == 0
    assert "stay in the inbox" in stderr.decode()
    left = pending_ids(tmp_path)
    answered = {asked[m] for m in replies(fake)}
    # Every question is answered or kept, whatever the machine's speed: one whose reply went
    # out as the grace ran out may be both, and the restart must not answer it again.
    assert left and answered | left == set(asked.values())
    await restart_until_answered(env, fake, asked)
    assert set(replies(fake).values()) == {1}


@pytest.mark.parametrize("status", [401, 404])
async def test_an_auth_error_mid_poll_exits_non_zero_and_turns_the_healthcheck_red(
        fake, db_path, tmp_path, status):
    env = bot_env(fake, db_path, tmp_path, scale="0.01")
    process = await start_bot(env)
    try:
        await until(lambda: (tmp_path / "heartbeat").exists(), timeout=30)
        healthy = subprocess.run([sys.executable, "-m", "bot", "healthcheck"], env=env,
                                 cwd=ROOT, capture_output=True, timeout=30)
        assert healthy.returncode == 0
        fake.fail_next("getUpdates", status=status)
        fake.inject_message(REPORTER, "wake the long poll")
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    finally:
        if process.returncode is None:
            process.kill()
    assert process.returncode == EXIT_AUTH
    logged = stderr.decode()
    assert "Telegram rejected the token while polling" in logged
    assert E2E_TOKEN not in logged
    red = subprocess.run([sys.executable, "-m", "bot", "healthcheck"], env=env, cwd=ROOT,
                         capture_output=True, timeout=30)
    assert red.returncode == 1
    await a_restart_does_not_call_telegram_with_the_same_token(fake, env)


async def a_restart_does_not_call_telegram_with_the_same_token(fake, env) -> None:
    """What Compose does after exit 2 (it restarts on any failure): the bot exits 2 again at
    once, saying why, and Telegram is not called with the rejected token."""
    calls = len(fake.calls)
    again = await start_bot(env)
    _, stderr = await asyncio.wait_for(again.communicate(), 60)
    assert again.returncode == EXIT_AUTH == 2
    assert "rejected this TELEGRAM_BOT_TOKEN before" in stderr.decode()
    assert len(fake.calls) == calls


async def test_a_token_telegram_rejects_at_start_exits_2_and_is_not_tried_again(
        fake, db_path, tmp_path):
    env = {**bot_env(fake, db_path, tmp_path, scale="0.01"),
           "TELEGRAM_BOT_TOKEN": "999999:REVOKED-token"}
    process = await start_bot(env)
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert "Telegram rejected TELEGRAM_BOT_TOKEN" in stderr.decode()
    assert "REVOKED" not in stderr.decode()
    await a_restart_does_not_call_telegram_with_the_same_token(fake, env)


# --- store swaps under a running bot, unit by unit ----------------------------------------------


def test_the_store_reader_knows_the_schema_the_ingest_writes():
    from bot.ingest import SCHEMA_VERSION
    from bot.store import SCHEMA_VERSIONS

    assert SCHEMA_VERSION in SCHEMA_VERSIONS


@pytest.mark.parametrize("setup", [
    "create table meta (key text, value text); insert into meta values ('schema', '1')",
    "create table meta (key text, value text); insert into meta values ('schema', '99')",
])
def test_a_swapped_in_store_that_fails_the_deep_check_is_refused_and_the_old_kept(
        db_path, tmp_path, setup):
    from bot.store import Store, StoreError

    live = tmp_path / "crime.db"
    shutil.copy(db_path, live)
    store = Store(live, in_memory=True)
    latest = store.latest_period()
    if "'99'" in setup:  # a complete store from a future schema
        shutil.copy(db_path, tmp_path / "next.db")
        with sqlite3.connect(tmp_path / "next.db") as conn:
            conn.execute("update meta set value = '99' where key = 'schema'")
    else:
        with sqlite3.connect(tmp_path / "next.db") as conn:
            conn.executescript(setup)
    os.replace(tmp_path / "next.db", live)
    with pytest.raises(StoreError, match="rebuild it with `crimebot ingest`"):
        store.refresh()
    assert store.generation == 1 and store.latest_period() == latest
    assert store.refresh() is False  # the refused file is not re-checked on every question


def test_an_answer_keeps_its_snapshot_through_a_swap(db_path, tmp_path):
    from bot.store import Store

    live = tmp_path / "crime.db"
    shutil.copy(db_path, live)
    store = Store(live)
    with store.snapshot():
        shutil.copy(db_path, tmp_path / "next.db")
        os.replace(tmp_path / "next.db", live)
        assert store.refresh() is True
        assert store.generation == 1  # still the pinned one, and its connection still open
        assert store.latest_period() == "2025-06-30"
    assert store.generation == 2 and store.latest_period() == "2025-06-30"


def test_an_in_place_overwrite_keeps_the_old_snapshot_until_the_file_settles(db_path, tmp_path):
    from bot.store import IN_PLACE_SETTLE_S, Store, StoreError

    live = tmp_path / "crime.db"
    shutil.copy(db_path, live)
    store = Store(live, in_memory=True)
    with open(live, "r+b") as file:  # a `cp` over the live file: same inode, new bytes
        file.write(b"\x00garbage" * 1024)
    assert store.refresh(now=100.0) is False  # noticed, not loaded while it may be changing
    assert store.latest_period() == "2025-06-30"  # served from the in-memory snapshot
    with pytest.raises(StoreError):
        store.refresh(now=100.0 + IN_PLACE_SETTLE_S)  # settled, checked, refused
    assert store.generation == 1 and store.latest_period() == "2025-06-30"


async def test_a_409_at_start_is_one_clear_line(fake, db_path, tmp_path):
    fake.fail_next("getMe", status=409, description="Conflict: terminated by other getUpdates "
                                                    "request; make sure that only one bot "
                                                    "instance is running")
    process = await start_bot(bot_env(fake, db_path, tmp_path, scale="0.01"))
    _, stderr = await asyncio.wait_for(process.communicate(), 30)
    logged = stderr.decode()
    assert process.returncode == 1
    assert "409 Conflict at start" in logged and "another instance" in logged
    assert "Traceback" not in logged and E2E_TOKEN not in logged
