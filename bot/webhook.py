"""Webhook mode: Telegram POSTs each update to us instead of us long-polling for it.

PTB's own `run_webhook` serves with tornado and offers no way to add a route, and we want
`GET /healthz` on the same port for the reverse proxy and Docker to probe. So this is a small
aiohttp server in front of an ordinary PTB `Application`: it checks Telegram's secret header,
turns the body into an `Update` and puts it on `application.update_queue`, where the same
handlers and update processor as in polling mode take it from there.

TLS ends at the reverse proxy (the README's Deploy section), so this server speaks plain HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import signal
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from bot.config import ConfigError, read
from bot.ops import Status

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/telegram"
HEALTH_PATH = "/healthz"
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@dataclass(frozen=True)
class WebhookSettings:
    url: str
    listen: str
    port: int
    secret: str


def webhook_url(raw: str) -> str:
    """The public URL to register; a bare host gets `/telegram` so the path is never `/`."""
    url = raw.strip()
    parts = urlsplit(url)
    unusable = ConfigError("--webhook needs the public https URL Telegram should post to, e.g. "
                           f"https://bot.example.org/telegram; got {raw!r}")
    try:
        port = parts.port
    except ValueError:
        raise unusable from None
    if parts.scheme != "https" or not parts.hostname:
        raise unusable
    if port is not None and port not in TELEGRAM_WEBHOOK_PORTS:
        raise ConfigError(f"Telegram only posts webhooks to ports 443, 80, 88 or 8443; "
                          f"{raw!r} uses {port}")
    if parts.path in ("", "/"):
        return url.rstrip("/") + DEFAULT_PATH
    if parts.path == HEALTH_PATH:
        raise ConfigError(f"the webhook URL's path cannot be {HEALTH_PATH}, which serves the "
                          "health check")
    return url


def webhook_settings(env: Mapping[str, str], url: str) -> WebhookSettings:
    """Read and check the webhook settings; raise ConfigError naming the bad one."""
    return WebhookSettings(
        url=webhook_url(url),
        listen=read("CRIMEBOT_WEBHOOK_LISTEN", env),
        port=read("CRIMEBOT_WEBHOOK_PORT", env),
        secret=read("CRIMEBOT_WEBHOOK_SECRET", env),
    )


def secret_matches(given: str | None, secret: str) -> bool:
    """Constant-time, so the secret cannot be guessed a character at a time from timings."""
    return given is not None and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), secret.encode())


def webhook_app(application: Application, path: str, secret: str,
                status: Status) -> web.Application:
    """`POST path` feeds updates to the application; `GET /healthz` reports `status`."""

    async def receive(request: web.Request) -> web.Response:
        if not secret_matches(request.headers.get(SECRET_HEADER), secret):
            log.info("webhook: refused a POST from %s without the right secret", request.remote)
            return web.Response(status=403)
        try:
            data = await request.json()
            if not isinstance(data, dict):
                raise TypeError(f"expected a JSON object, got {type(data).__name__}")
            update = Update.de_json(data, application.bot)
        except (ValueError, TypeError, KeyError) as error:
            log.warning("webhook: unreadable update: %s", error)
            return web.Response(status=400)
        await application.update_queue.put(update)
        return web.Response()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", **status.snapshot()})

    app = web.Application()
    app.router.add_post(path, receive)
    app.router.add_get(HEALTH_PATH, healthz)
    return app


async def _stop(application: Application) -> None:
    await application.stop()
    if application.post_stop:
        await application.post_stop(application)


async def _shutdown(application: Application) -> None:
    await application.shutdown()
    if application.post_shutdown:
        await application.post_shutdown(application)


async def run_webhook(application: Application, url: str, listen: str, port: int, secret: str,
                      status: Status, *,
                      allowed_updates: Sequence[str] = Update.ALL_TYPES) -> None:
    """Serve until SIGTERM or SIGINT, then stop in reverse order of starting.

    The server is listening before `setWebhook`, because Telegram starts posting pending
    updates at once. The webhook is left registered on exit so Telegram keeps the updates
    that arrive during a restart. Like PTB's `run_*`, this calls the application's
    post_init/post_stop/post_shutdown hooks.
    """
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    async with contextlib.AsyncExitStack() as stack:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stopping.set)
            stack.callback(loop.remove_signal_handler, sig)
        await application.initialize()
        stack.push_async_callback(_shutdown, application)
        if application.post_init:
            await application.post_init(application)
        await application.start()
        stack.push_async_callback(_stop, application)
        path = urlsplit(url).path or "/"
        runner = web.AppRunner(webhook_app(application, path, secret, status),
                               handle_signals=False, access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        await web.TCPSite(runner, listen, port).start()
        await application.bot.set_webhook(url=url, secret_token=secret,
                                          allowed_updates=list(allowed_updates),
                                          drop_pending_updates=False)
        log.info("webhook: serving %s on %s:%d for %s", path, listen, port, url)
        await stopping.wait()
        log.info("stop signal received: shutting down")
