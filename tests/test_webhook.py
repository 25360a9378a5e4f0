"""Webhook mode end to end: a real PTB Application behind our aiohttp server, a fake Bot API."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket

import aiohttp
import pytest
from telegram import Update
from telegram.ext import ApplicationBuilder, MessageHandler, SimpleUpdateProcessor, filters

from bot.config import ConfigError
from bot.ops import Status, StoreFacts, observe
from bot.webhook import SECRET_HEADER, run_webhook, secret_matches, webhook_settings
from tests.fake_telegram import FakeTelegram

TOKEN = "123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
SECRET = "s3cret_-Token"
URL = "https://bot.example.org/hook"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Observed(SimpleUpdateProcessor):
    """The update processor `crimebot run` installs, so every update is counted and logged."""

    def __init__(self, status: Status) -> None:
        super().__init__(1)
        self.status = status

    async def do_process_update(self, update: object, coroutine) -> None:
        await observe(self.status, logging.getLogger("bot.telegram"), update, coroutine)


# --- settings -----------------------------------------------------------------------------------


def test_settings_defaults_and_a_bare_host_gets_a_path():
    settings = webhook_settings({"CRIMEBOT_WEBHOOK_SECRET": SECRET}, "https://bot.example.org")
    assert settings.url == "https://bot.example.org/telegram"
    assert (settings.listen, settings.port, settings.secret) == ("0.0.0.0", 8443, SECRET)
    assert webhook_settings({"CRIMEBOT_WEBHOOK_SECRET": SECRET, "CRIMEBOT_WEBHOOK_PORT": "9000",
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
        webhook_settings(env, url)


def test_the_secret_must_match_exactly():
    assert secret_matches(SECRET, SECRET)
    assert not secret_matches(None, SECRET)
    assert not secret_matches(SECRET[:-1], SECRET)
    assert not secret_matches("sécret", SECRET)


# --- serving ------------------------------------------------------------------------------------


def message_update(update_id: int) -> dict:
    return {"update_id": update_id, "message": {
        "message_id": 5, "date": 1_700_000_000, "text": "burglary Leeds",
        "chat": {"id": 42, "type": "private", "first_name": "Ann"},
        "from": {"id": 42, "is_bot": False, "first_name": "Ann"}}}


async def test_webhook_serves_updates_and_health_until_sigterm():
    status = Status(lambda: StoreFacts("pfa-2025-06-30", "2025-06-30"))
    seen: list[Update] = []
    arrived = asyncio.Event()
    hooks: list[str] = []

    async def record(update: Update, context: object) -> None:
        seen.append(update)
        arrived.set()

    async def post_init(application: object) -> None:
        hooks.append("post_init")

    async def post_shutdown(application: object) -> None:
        hooks.append("post_shutdown")

    async with FakeTelegram(token=TOKEN) as tg:
        application = (ApplicationBuilder().token(TOKEN).base_url(tg.base_url).updater(None)
                       .concurrent_updates(Observed(status)).post_init(post_init)
                       .post_shutdown(post_shutdown).build())
        application.add_handler(MessageHandler(filters.ALL, record))
        port = free_port()
        serving = asyncio.create_task(run_webhook(application, URL, "127.0.0.1", port, SECRET,
                                                  status, allowed_updates=["message"]))
        registered = await tg.wait_for("setWebhook")
        assert registered.params["url"] == URL and registered.params["secret_token"] == SECRET
        assert registered.params["allowed_updates"] == ["message"]
        assert registered.params["drop_pending_updates"] is False
        assert hooks == ["post_init"] and application.running

        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {SECRET_HEADER: "wrong"}):
                async with http.post(f"{base}/hook", json=message_update(1),
                                     headers=headers) as response:
                    assert response.status == 403
            async with http.post(f"{base}/hook", data="{not json",
                                 headers={SECRET_HEADER: SECRET}) as response:
                assert response.status == 400
            async with http.post(f"{base}/hook", json=message_update(7),
                                 headers={SECRET_HEADER: SECRET}) as response:
                assert response.status == 200
            await asyncio.wait_for(arrived.wait(), 5)
            for _ in range(100):  # the processor counts the update just after the handler
                if status.updates_handled:
                    break
                await asyncio.sleep(0.01)
            async with http.get(f"{base}/healthz") as response:
                assert response.status == 200
                health = await response.json()

        assert [update.update_id for update in seen] == [7]
        assert seen[0].message.text == "burglary Leeds"
        assert health["status"] == "ok"
        assert health["edition"] == "pfa-2025-06-30" and health["latest_period"] == "2025-06-30"
        assert health["updates_handled"] == 1 and health["last_update"] is not None

        assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_DFL, signal.SIG_IGN, None)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(serving, 10)

    assert hooks == ["post_init", "post_shutdown"]
    assert not application.running
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz"):
            pass
