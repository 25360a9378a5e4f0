"""Faults: a flaky Bot API, a broken store at start, an ingest killed midway.

Every injected question must be answered exactly once, whatever the network did in between.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.test_telegram_e2e import REPORTER, polling

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
