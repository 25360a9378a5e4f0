"""Webhook mode: Telegram POSTs each update to us instead of us long-polling for it.

PTB's own `run_webhook` serves with tornado and offers no way to add a route, and we want
`GET /healthz` on the same port for the reverse proxy and Docker to probe. So this is a small
aiohttp server in front of the same `Runner` as polling mode: it checks Telegram's secret
header, turns the body into an `Update`, journals it in the inbox and only then answers 200;
the per-chat queues and handlers take it from there.

TLS ends at the reverse proxy (the README's Deploy section), so this server speaks plain HTTP.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, Update
from telegram.error import InvalidToken, TelegramError

from bot.config import HEALTH_PATH, WebhookSettings
from bot.ops import Status
from bot.telegram.runner import ALLOWED_UPDATES, Runner, parse_update

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_DEPTH = 32  # Telegram's updates nest about eight deep; anything far deeper is an attack
MAX_BODY_BYTES = 1024 * 1024
CHECK_INTERVAL_S = 30.0


def secret_matches(given: str | None, secret: str) -> bool:
    """Constant-time, so the secret cannot be guessed a character at a time from timings."""
    return given is not None and hmac.compare_digest(
        given.encode("utf-8", "surrogateescape"), secret.encode())


def depth(value: object, limit: int) -> int:
    """How deeply a parsed JSON value nests, counting no further than `limit` + 1."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > limit:
            return level
        deepest = max(deepest, level)
        children = item.values() if isinstance(item, dict) else item if isinstance(
            item, list) else ()
        stack.extend((child, level + 1) for child in children
                     if isinstance(child, (dict, list)))
    return deepest


def read_update(raw: bytes, bot: Bot) -> tuple[Update | None, dict[str, Any]]:
    """Parse one webhook body into an Update; ValueError says why it is not one. A body with
    an update id that PTB cannot read comes back as (None, body), to be quarantined and
    answered 200: a 400 would make Telegram deliver it again and again."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"not JSON: {str(error)[:80]}") from None
    if not isinstance(data, dict):
        raise ValueError(f"expected a JSON object, got {type(data).__name__}")
    if depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
    if not isinstance(data.get("update_id"), int) or isinstance(data["update_id"], bool):
        raise ValueError("no integer update_id")
    return parse_update(data, bot), data


def webhook_app(runner: Runner, path: str, secret: str, status: Status) -> web.Application:
    """`POST path` journals each update, then answers 200; `GET /healthz` reports `status`.

    The 200 is what tells Telegram it may forget the update, so it is sent only once the
    update is in the inbox. A re-delivered update (same id) is answered 200 and not queued
    again; a body that is not an update is answered 400 so it shows in getWebhookInfo.
    """
    bot = runner.application.bot

    async def receive(request: web.Request) -> web.Response:
        if not secret_matches(request.headers.get(SECRET_HEADER), secret):
            log.info("webhook: refused a POST from %s without the right secret", request.remote)
            return web.Response(status=403)
        try:
            update, data = read_update(await request.read(), bot)
        except ValueError as error:
            log.warning("webhook: refused an unreadable update (400): %s", error)
            return web.Response(status=400)
        runner.accept([(update, data)])
        runner.heartbeat.beat()
        return web.Response()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", **status.snapshot()})

    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app.router.add_post(path, receive)
    app.router.add_get(HEALTH_PATH, healthz)
    return app


async def serve_webhook(runner: Runner, settings: WebhookSettings) -> None:
    """Serve the webhook until cancelled, checking every CHECK_INTERVAL_S that Telegram still
    knows the bot (getWebhookInfo): that keeps the heartbeat fresh in quiet hours, and a token
    revoked meanwhile raises InvalidToken, which stops the bot as in polling mode.

    The server is listening before `setWebhook`, because Telegram starts posting pending
    updates at once. The webhook is left registered on exit so Telegram keeps the updates
    that arrive during a restart.
    """
    application = runner.application
    path = urlsplit(settings.url).path or "/"
    server = web.AppRunner(webhook_app(runner, path, settings.secret, runner.status),
                           handle_signals=False, access_log=None)
    await server.setup()
    try:
        await web.TCPSite(server, settings.listen, settings.port).start()
        await application.bot.set_webhook(url=settings.url, secret_token=settings.secret,
                                          allowed_updates=list(ALLOWED_UPDATES),
                                          drop_pending_updates=False)
        log.info("webhook: serving %s on %s:%d for %s", path, settings.listen, settings.port,
                 settings.url)
        while True:
            try:
                await application.bot.get_webhook_info()
            except InvalidToken:
                raise
            except TelegramError as error:
                log.warning("webhook: cannot reach the Bot API: %s", error)
            else:
                runner.heartbeat.beat()
            await asyncio.sleep(CHECK_INTERVAL_S)
    finally:
        await server.cleanup()
