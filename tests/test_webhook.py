"""Webhook mode end to end: a real PTB Application behind our aiohttp server, a fake Bot API."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import time
from functools import partial

import aiohttp
import pytest

from bot.config import Config, ConfigError, WebhookSettings
from bot.telegram import Limits, Tuning, build_application, open_serving_engine, runner_of
from bot.telegram.webhook import SECRET_HEADER, secret_matches, serve_webhook
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "s3cret_-Token"
URL = "https://bot.example.org/hook"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- settings -----------------------------------------------------------------------------------


def test_settings_defaults_and_a_bare_host_gets_a_path():
    settings = WebhookSettings.from_env({"CRIMEBOT_WEBHOOK_SECRET": SECRET},
                                        "https://bot.example.org")
    assert settings.url == "https://bot.example.org/telegram"
    assert (settings.listen, settings.port, settings.secret) == ("0.0.0.0", 8443, SECRET)
    assert WebhookSettings.from_env({"CRIMEBOT_WEBHOOK_SECRET": SECRET,
                                     "CRIMEBOT_WEBHOOK_PORT": "9000",
                                     "CRIMEBOT_WEBHOOK_LISTEN": "127.0.0.1"}, URL).port == 9000


@pytest.mark.parametrize(("env", "url", "names"), [
    ({}, URL, "CRIMEBOT_WEBHOOK_SECRET is not set"),
    ({"CRIMEBOT_WEBHOOK_SECRET": "has spaces"}, URL, "CRIMEBOT_WEBHOOK_SECRET must be"),
    ({"CRIMEBOT_WEBHOOK_SECRET": "x" * 257}, URL, "CRIMEBOT_WEBHOOK_SECRET must be"),
    ({"CRIMEBOT_WEBHOOK_SECRET": SECRET, "CRIMEBOT_WEBHOOK_PORT": "84x3"}, URL,
     "CRIMEBOT_WEBHOOK_PORT"),
    ({"CRIMEBOT_WEBHOOK_SECRET": SECRET}, "http://bot.example.org/hook", "https URL"),
    ({"CRIMEBOT_WEBHOOK_SECRET": SECRET}, "https://bot.example.org:8080/hook", "ports 443"),
    ({"CRIMEBOT_WEBHOOK_SECRET": SECRET}, "https://bot.example.org/healthz", "/healthz"),
])
def test_bad_settings_say_what_is_wrong(env, url, names):
    with pytest.raises(ConfigError, match=names):
        WebhookSettings.from_env(env, url)


def test_the_secret_must_match_exactly():
    assert secret_matches(SECRET, SECRET)
    assert not secret_matches(None, SECRET)
    assert not secret_matches(SECRET[:-1], SECRET)
    assert not secret_matches("sécret", SECRET)


# --- serving ------------------------------------------------------------------------------------


def message_update(update_id: int, text: str = "/crime sexual offences Wrexham 2022") -> dict:
    return {"update_id": update_id, "message": {
        "message_id": 5, "date": int(time.time()), "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        "chat": {"id": 42, "type": "private", "first_name": "Ann"},
        "from": {"id": 42, "is_bot": False, "first_name": "Ann"}}}


MALFORMED = [
    b"{not json",
    b"[1, 2]",
    b'{"message": {"text": "no update id"}}',
    b'{"update_id": 9, "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
]

# Updates Telegram sent that cannot be read (a shape PTB rejects) or stored (a lone surrogate,
# which JSON allows and UTF-8 does not): quarantined in the inbox, answered 200.
UNREADABLE = [b'{"update_id": 8, "message": "not an object"}',
              b'{"update_id": 9, "callback_query": {"id": "q", "chat_instance": "c", '
              b'"from": {"id": 42, "is_bot": false, "first_name": "Ann"}, "data": "\\udcff"}}']


async def test_webhook_journals_dedupes_refuses_malformed_and_stops_on_sigterm(
        db_path, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    async with FakeTelegram(token=TOKEN) as tg:
        tg.add_chat(42)
        config = Config(token=TOKEN, db_path=db_path, api_base_url=tg.base_url,
                        allowed_chats=frozenset(), allowed_users=frozenset(),
                        cooldown_seconds=0, log_level="INFO", inbox=tmp_path / "inbox.db",
                        heartbeat=tmp_path / "heartbeat", desk=tmp_path / "desk.db")
        tuning = Tuning()
        application = build_application(config, open_serving_engine(db_path), tuning)
        runner = runner_of(application)
        port = free_port()
        settings = WebhookSettings(URL, "127.0.0.1", port, SECRET)
        serving = asyncio.create_task(runner.serve(partial(serve_webhook, runner, settings),
                                                   f"webhook {URL}"))
        registered = await tg.wait_for("setWebhook", timeout=30)
        assert registered.params["url"] == URL and registered.params["secret_token"] == SECRET
        assert registered.params["drop_pending_updates"] is False

        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {SECRET_HEADER: "wrong"}):
                async with http.post(f"{base}/hook", json=message_update(1),
                                     headers=headers) as response:
                    assert response.status == 403
            for body in MALFORMED:
                async with http.post(f"{base}/hook", data=body,
                                     headers={SECRET_HEADER: SECRET}) as response:
                    assert response.status == 400, body[:40]
            for body in UNREADABLE:
                async with http.post(f"{base}/hook", data=body,
                                     headers={SECRET_HEADER: SECRET}) as response:
                    assert response.status == 200  # a 400 would have Telegram resend it
            for _ in range(2):  # Telegram re-delivers when it missed our first 200
                async with http.post(f"{base}/hook", json=message_update(7),
                                     headers={SECRET_HEADER: SECRET}) as response:
                    assert response.status == 200
            await tg.wait_for("sendMessage", timeout=10)
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
                health = await response.json()
        assert (tmp_path / "heartbeat").exists()
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(serving, 10) == 0

    assert len([m for m in tg.sent if m.chat_id == 42]) == 1
    assert "536" in tg.sent[0].plain_text
    assert health["status"] == "ok" and health["updates_handled"] == 1
    assert health["newest_period"] == "2025-06-30" and health["next_edition_due"]
    assert health["stale"] == (health["editions_behind"] > 0)
    assert "starting: webhook" in caplog.text and "long polling" not in caplog.text
    assert "status=duplicate" in caplog.text
    assert caplog.text.count("update id=8 status=quarantined") == 1
    assert caplog.text.count("update id=9 status=quarantined") == 1
    assert not application.running
    assert not (tmp_path / "heartbeat").exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


async def test_a_webhook_burst_from_45_chats_keeps_the_overall_limit(db_path, tmp_path):
    """In webhook mode too, every reply passes the one limiter: 45 questions posted at once
    are all answered, never more than 30 within any second as the fake Bot API receives them."""
    limits = Limits()
    chats = range(2000, 2045)
    async with FakeTelegram(token=TOKEN) as tg:
        for chat in chats:
            tg.add_chat(chat)
        config = Config(token=TOKEN, db_path=db_path, api_base_url=tg.base_url,
                        allowed_chats=frozenset(), allowed_users=frozenset(),
                        cooldown_seconds=0, log_level="INFO", inbox=tmp_path / "inbox.db",
                        heartbeat=tmp_path / "heartbeat", desk=tmp_path / "desk.db")
        tuning = Tuning(limits=limits)
        runner = runner_of(build_application(config, open_serving_engine(db_path), tuning))
        port = free_port()
        settings = WebhookSettings(URL, "127.0.0.1", port, SECRET)
        async with runner.session(partial(serve_webhook, runner, settings), "webhook (test)"):
            await tg.wait_for("setWebhook", timeout=30)
            # The first sends are slow to answer, filling the connection pool: the sends
            # scheduled behind them must not then reach Telegram in a bunch.
            tg.delay_next("sendMessage", 1.5, times=8)
            async with aiohttp.ClientSession() as http:
                async def post(n: int, chat: int) -> None:
                    body = message_update(n)
                    body["message"]["chat"] = {"id": chat, "type": "private", "first_name": "A"}
                    body["message"]["from"] = {"id": chat, "is_bot": False, "first_name": "A"}
                    async with http.post(f"http://127.0.0.1:{port}/hook", json=body,
                                         headers={SECRET_HEADER: SECRET}) as response:
                        assert response.status == 200
                await asyncio.gather(*(post(n, chat) for n, chat in enumerate(chats, 1)))
            for _ in chats:
                await tg.wait_for("sendMessage", timeout=120)
    times = sorted(c.time for c in tg.calls if c.method == "sendMessage" and c.status == 200)
    assert len(times) == len(chats)
    most = max(sum(1 for u in times if t <= u < t + limits.overall_window) for t in times)
    assert most <= limits.overall_max
