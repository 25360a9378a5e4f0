"""Operations: one-line logs without the token, the heartbeat and healthcheck, the doctor."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from bot.ops import (
    Heartbeat,
    Status,
    StoreFacts,
    doctor,
    heartbeat_problem,
    log_update,
    redact_stderr,
    setup_logging,
    store_facts,
    write_heartbeat,
)
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
OTHER_TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDxyz"


@pytest.fixture
def restore_logging():
    """setup_logging replaces the root handlers; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, saved in quiet.items():
        logging.getLogger(name).setLevel(saved)


def facts() -> StoreFacts:
    return StoreFacts("pfa-2025-06-30", "2025-06-30")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli(args: list[str], env_extra: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CRIMEBOT_", "TELEGRAM_"))}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True,
                          env=env, timeout=60)


# --- logging ------------------------------------------------------------------------------------


def test_the_token_never_reaches_the_log_and_each_record_is_one_line(restore_logging):
    stream = io.StringIO()
    setup_logging("INFO", [TOKEN], stream=stream)
    url = f"https://api.telegram.org/bot{TOKEN}/getUpdates"
    logging.getLogger("httpx").warning('HTTP Request: POST %s "HTTP/1.1 409 Conflict"', url)
    logging.getLogger("httpx").info("HTTP Request: POST %s", url)  # below httpx's WARNING
    logging.getLogger("bot.telegram").info("proxied via %s", quote(url, safe=""))
    try:
        raise RuntimeError(f"failed calling {url}")
    except RuntimeError:
        logging.getLogger("bot.telegram").exception("update %s failed", 7)

    out = stream.getvalue()
    assert TOKEN not in out and quote(TOKEN, safe="") not in out
    lines = out.splitlines()
    assert len(lines) == 3, out
    assert 'POST https://api.telegram.org/bot[token]/getUpdates "HTTP/1.1 409 Conflict"' in lines[0]
    assert "[token]" in lines[1]
    assert "update 7 failed" in lines[2] and "Traceback" in lines[2]
    assert "RuntimeError: failed calling https://api.telegram.org/bot[token]/getUpdates" in lines[2]


def test_log_update_is_one_greppable_key_value_line(restore_logging):
    stream = io.StringIO()
    setup_logging("INFO", [TOKEN], stream=stream)
    log_update(logging.getLogger("bot.telegram"), 123, "group", "answered", 3.24, 1500.2)
    assert stream.getvalue().rstrip().endswith(
        "bot.telegram: update id=123 chat=group status=answered ms=3.2 waited_ms=1500")


def test_prints_to_stderr_are_redacted_too(capsys):
    saved = sys.stderr
    try:
        redact_stderr([TOKEN])
        print(f"error page for https://api.telegram.org/bot{TOKEN}/getMe", file=sys.stderr)
        redact_stderr([TOKEN, "s3cret"])  # re-wrapping replaces, never stacks
        print("webhook secret s3cret", file=sys.stderr)
    finally:
        sys.stderr = saved
    err = capsys.readouterr().err
    assert TOKEN not in err and "s3cret" not in err
    assert "bot[token]/getMe" in err


def test_store_facts_name_the_newest_edition_and_latest_period(store):
    edition, latest, fresh = store_facts(store)
    assert fresh is not None and fresh.period_end.isoformat() == latest
    assert edition == store.editions()[-1].key
    assert latest == store.latest_period()


# --- heartbeat ----------------------------------------------------------------------------------


def test_heartbeat_is_fresh_for_two_minutes(tmp_path):
    path = tmp_path / "hb" / "heartbeat"
    assert heartbeat_problem(path) is not None
    write_heartbeat(path, Status(facts), now=1000.0)
    record = json.loads(path.read_text())
    assert record["pid"] == os.getpid() and record["edition"] == "pfa-2025-06-30"
    assert heartbeat_problem(path, now=1100.0) is None
    assert "121 s old" in heartbeat_problem(path, now=1121.0)
    assert list(path.parent.iterdir()) == [path]  # no temp files left behind
    path.write_text("{half a fi")
    assert "unreadable" in heartbeat_problem(path)


def test_the_heartbeat_is_written_on_success_at_most_once_an_interval(tmp_path):
    path = tmp_path / "heartbeat"
    status = Status(facts)
    heartbeat = Heartbeat(path, status, interval=3600)
    assert not path.exists()  # nothing before the first successful poll
    status.handled(41)
    heartbeat.beat()
    assert json.loads(path.read_text())["last_update_id"] == 41
    status.handled(42)
    heartbeat.beat()  # within the interval: not rewritten
    assert json.loads(path.read_text())["last_update_id"] == 41
    heartbeat.stop()
    assert not path.exists()


def test_healthcheck_exit_codes(tmp_path):
    path = tmp_path / "heartbeat"
    env = {"CRIMEBOT_HEARTBEAT": str(path)}

    missing = cli(["healthcheck"], env)
    assert missing.returncode == 1
    assert missing.stderr.count("\n") == 1 and "no heartbeat" in missing.stderr

    write_heartbeat(path, Status(facts))
    assert cli(["healthcheck"], env).returncode == 0

    write_heartbeat(path, Status(facts), now=time.time() - 300)
    stale = cli(["healthcheck"], env)
    assert stale.returncode == 1
    assert stale.stderr.count("\n") == 1 and "old (limit 120 s)" in stale.stderr


# --- doctor -------------------------------------------------------------------------------------


def test_doctor_lists_every_bad_setting_without_touching_the_network(tmp_path):
    code, report = doctor({"TELEGRAM_BOT_TOKEN": "not a token",
                           "CRIMEBOT_ALLOWED_CHATS": "-100123, newsroom",
                           "TELEGRAM_API_BASE_URL": "api.telegram.org",
                           "CRIMEBOT_DB": str(tmp_path / "crime.db")})
    assert code == 1
    failed = [line.split(":")[0] for line in report.splitlines() if line.startswith("FAIL")]
    assert failed == ["FAIL  TELEGRAM_BOT_TOKEN", "FAIL  TELEGRAM_API_BASE_URL",
                      "FAIL  CRIMEBOT_ALLOWED_CHATS", "FAIL  store"]
    assert "skip  token" in report
    assert "'newsroom' is not one" in report


def test_doctor_cli_reports_a_missing_store_and_an_unreachable_api(tmp_path):
    base_url = f"http://127.0.0.1:{closed_port()}/bot"
    result = cli(["doctor"], {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": base_url,
                              "CRIMEBOT_DB": str(tmp_path / "crime.db")})
    assert result.returncode == 1
    assert f"FAIL  token: cannot reach the Bot API at {base_url}" in result.stdout
    assert "FAIL  store: no store at" in result.stdout and "crimebot ingest" in result.stdout
    assert TOKEN not in result.stdout + result.stderr


async def test_doctor_says_bad_token_when_telegram_answers_401(db_path):
    async with FakeTelegram(token=TOKEN) as tg:
        code, report = await asyncio.to_thread(doctor, {
            "TELEGRAM_BOT_TOKEN": OTHER_TOKEN, "TELEGRAM_API_BASE_URL": tg.base_url,
            "CRIMEBOT_DB": str(db_path)})
    assert code == 1
    assert [line for line in report.splitlines() if line.startswith("FAIL")] == [
        "FAIL  token: bad token: Telegram answered 401 Unauthorized; copy it again from "
        "@BotFather (or /revoke there for a new one)"]
    assert OTHER_TOKEN not in report


async def test_doctor_passes_with_a_good_token_and_a_real_store(db_path, store):
    async with FakeTelegram(token=TOKEN, bot_username="newsroom_crime_bot") as tg:
        code, report = await asyncio.to_thread(doctor, {
            "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": tg.base_url,
            "CRIMEBOT_ALLOWED_CHATS": "-1001234567890", "CRIMEBOT_DB": str(db_path)})
        assert [call.method for call in tg.calls] == ["getMe"]
    assert code == 0, report
    lines = report.splitlines()
    # Freshness depends on today's date against the store (tests/test_freshness.py pins it),
    # and no refresh has run beside this store: both warn without failing the doctor.
    warned = (" freshness: ", " refresh: ")
    assert all(line.startswith("ok  ") for line in lines
               if not any(name in line for name in warned)), report
    assert any(line.startswith("WARN  refresh: no discovery record at") for line in lines)
    assert "ok    token: accepted by Telegram as @newsroom_crime_bot (id 123456)" in lines
    assert "ok    CRIMEBOT_ALLOWED_CHATS: 1 listed" in lines
    assert f"{len(store.editions())} editions, newest {store.editions()[-1].key}" in report
    assert TOKEN not in report and Path(db_path).name in report


def test_run_says_the_api_is_unreachable_in_one_line_without_the_token(db_path, tmp_path):
    result = cli(["run"], {"TELEGRAM_BOT_TOKEN": TOKEN, "CRIMEBOT_DB": str(db_path),
                           "CRIMEBOT_INBOX": str(tmp_path / "inbox.db"),
                           "TELEGRAM_API_BASE_URL": f"http://127.0.0.1:{closed_port()}/bot"})
    assert result.returncode == 1
    assert "could not reach the Bot API" in result.stderr
    assert TOKEN not in result.stderr and "Traceback" not in result.stderr
