"""The application factory and `crimebot run`: settings in, a running bot out.

`build_application` makes the one PTB `Application` (no `Updater`: `bot.telegram.runner` fetches
and journals updates itself) with the handlers `bot.telegram.commands.wire` lists; `run` starts
it in long polling or, with `--webhook`, behind `bot.telegram.webhook`'s server.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import sys
from functools import partial
from pathlib import Path
from typing import Any

from telegram.constants import ParseMode
from telegram.error import Conflict, InvalidToken, NetworkError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot import ops
from bot.answer import Engine
from bot.config import Config, WebhookSettings
from bot.conversations import Conversations
from bot.store import Store, StoreError
from bot.subscriptions import Subscriptions
from bot.telegram.access import Access, FloodGuard
from bot.telegram.commands import wire
from bot.telegram.handlers import Context, Services
from bot.telegram.inbox import Delivery, Inbox
from bot.telegram.limiter import Limiter
from bot.telegram.runner import EXIT_AUTH, Runner, Tuning

log = logging.getLogger("bot.telegram")

SEND_POOL = 8  # connections to the Bot API for replies, and the sends allowed in flight


class BoundedRequest(HTTPXRequest):
    """The reply client: at most `SEND_POOL` requests handed to httpx at once, the rest wait here.

    httpcore scans every queued request against every pooled connection each time one is
    assigned, so a burst of a thousand chats handed to it at once costs quadratic time (most
    of the bot's CPU under load) and trips its pool timeout. Waiting on a semaphore instead
    costs nothing per waiter and cannot time out; ordering within a chat is kept by its queue.
    """

    def __init__(self, size: int, **kwargs: Any) -> None:
        super().__init__(connection_pool_size=size, **kwargs)
        self._slots = asyncio.Semaphore(size)

    async def do_request(self, *args: Any, **kwargs: Any) -> tuple[int, bytes]:
        async with self._slots:
            return await super().do_request(*args, **kwargs)


def build_application(config: Config, engine: Engine, tuning: Tuning | None = None,
                      request: BaseRequest | None = None) -> Application:
    """The one factory: the handlers `wire` lists, the gate in group -1 ahead of all of them.

    There is no PTB `Updater`: `Runner.poll` (or the webhook) feeds updates through the inbox.
    `request` replaces the HTTP client (the fast handler tests record calls through it).
    """
    tuning = tuning or Tuning.of(config)
    paths = config.paths
    status = ops.Status(partial(ops.store_facts, engine.store,
                                grace_days=config.stale_grace_days))
    application = (
        ApplicationBuilder()
        .token(config.token)
        .base_url(config.api_base_url)
        .base_file_url(config.file_base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML))
        .context_types(ContextTypes(context=Context))
        .rate_limiter(Limiter(tuning.limits))
        .request(request or BoundedRequest(SEND_POOL, read_timeout=tuning.send_timeout,
                                           write_timeout=tuning.send_timeout))
        .get_updates_request(request or HTTPXRequest(read_timeout=tuning.poll_timeout + 10))
        .updater(None)
        .build()
    )
    inbox = Inbox(paths.inbox)
    application.bot_data["services"] = Services(
        engine, Access(set(config.allowed_chats), config.allowed_users),
        FloodGuard(config.cooldown_seconds, notice=config.slow_notice_seconds),
        Delivery(application.bot, inbox, tuning.probe_pause), status,
        Subscriptions(paths.desk), Conversations(paths.desk),
        tuning.followup if tuning.followup is not None else config.followup_minutes * 60)
    application.bot_data["runner"] = Runner(application, inbox, status, tuning, paths.heartbeat)
    wire(application)
    return application


def runner_of(application: Application) -> Runner:
    return application.bot_data["runner"]


def open_serving_engine(db_path: Path) -> Engine:
    """The engine over an in-memory snapshot of the store, which no overwrite can reach."""
    return Engine(Store(db_path, in_memory=True))


def token_mark(config: Config) -> str:
    """Names the token and Bot API server Telegram refused, without keeping the token."""
    return hashlib.sha256(f"{config.api_base_url}\n{config.token}".encode()).hexdigest()


def rejected_before(config: Config) -> Path | None:
    """The mark left when Telegram rejected this very token at this server; None otherwise.

    Docker cannot be told to spare one exit code, so Compose restarts a bot that exited 2; the
    mark keeps each restart from calling Telegram with the bad token again. A new token (or
    server) does not match it and is tried.
    """
    mark = config.paths.rejected_token
    try:
        return mark if mark.read_text(encoding="utf-8").strip() == token_mark(config) else None
    except (OSError, UnicodeDecodeError):
        return None


def mark_rejected(config: Config) -> None:
    try:
        config.paths.rejected_token.write_text(token_mark(config) + "\n", encoding="utf-8")
    except OSError as error:
        log.warning("could not note the rejected token beside the store: %s", error)


def run(config: Config, webhook: WebhookSettings | None = None) -> int:
    """`crimebot run`: long polling (or, given `webhook`, a webhook server) until SIGTERM or
    SIGINT, which stop it cleanly (exit 0); a token Telegram rejects, at start or while
    running, exits 2."""
    if mark := rejected_before(config):
        print(f"crimebot run: Telegram rejected this TELEGRAM_BOT_TOKEN before (see {mark}); "
              "not calling it again with the same token: set a new one from @BotFather, or "
              f"delete {mark} to try this one again", file=sys.stderr)
        return EXIT_AUTH
    code = serve(config, webhook)
    if code == EXIT_AUTH:
        mark_rejected(config)
    return code


def serve(config: Config, webhook: WebhookSettings | None) -> int:
    """Everything `run` does once the token is worth trying; the exit code."""
    secrets = [config.token, *([webhook.secret] if webhook else [])]
    ops.redact_stderr(secrets)
    ops.setup_logging(config.log_level, secrets)
    try:
        engine = open_serving_engine(config.db_path)
    except StoreError as error:
        print(f"crimebot run: {error}", file=sys.stderr)
        return 1
    try:
        application = build_application(config, engine)
    except sqlite3.Error as error:
        print(f"crimebot run: cannot open the inbox (CRIMEBOT_INBOX, default inbox.db beside "
              f"the store) or the desk's settings (CRIMEBOT_DESK_DB, default desk.db beside "
              f"it): {error}", file=sys.stderr)
        return 1
    runner = runner_of(application)
    try:
        if webhook:
            from bot.telegram.webhook import serve_webhook

            return asyncio.run(runner.serve(partial(serve_webhook, runner, webhook),
                                            f"webhook {webhook.url} on {webhook.listen}:"
                                            f"{webhook.port}"))
        return asyncio.run(runner.serve(runner.poll, f"long polling {config.api_base_url}"))
    except InvalidToken:
        print("crimebot run: Telegram rejected TELEGRAM_BOT_TOKEN (revoked, mistyped, or "
              "TELEGRAM_API_BASE_URL is wrong); check it with @BotFather", file=sys.stderr)
        return EXIT_AUTH
    except Conflict as error:
        print(f"crimebot run: Telegram answered 409 Conflict at start ({error.message}): "
              "another instance is using this token, or a webhook is set", file=sys.stderr)
        return 1
    except NetworkError as error:
        print(f"crimebot run: could not reach the Bot API at {config.api_base_url}: {error}",
              file=sys.stderr)
        return 1
