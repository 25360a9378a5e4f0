"""The application factory and the loop that feeds it: fetch, journal, queue, answer.

PTB's own `Updater` confirms updates to Telegram (the next `getUpdates` offset) as soon as it
has put them on a queue in memory, so a crash or a stop with a backlog loses them. Here the
fetching is our own short loop around `Bot.get_updates`: each batch is written to the inbox
before the offset moves on, then handed to the per-chat queues, whose workers call
`Application.process_update` (the handlers, in their explicit order, with the gate ahead). The
webhook server feeds the same `Runner.accept`.

The runner also watches the store: at start and whenever a new store file is swapped in, the
release digests owed to subscribed chats are posted to the inbox's outbox (once per chat and
edition) and sent through the same per-chat queues, exactly-once delivery and limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import signal
import sqlite3
import sys
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from telegram import Bot, BotCommand, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBUserWarning

from bot import ops
from bot.answer import Engine
from bot.config import Config, ConfigError, read
from bot.conversations import Conversations
from bot.desk import digest_due
from bot.store import Store, StoreError
from bot.subscriptions import Subscriptions, desk_path_from_env
from bot.telegram.access import Access, FloodGuard
from bot.telegram.handlers import (
    NO_PREVIEW,
    UNSENT,
    Context,
    Services,
    gate,
    on_about,
    on_button,
    on_chart,
    on_crime,
    on_error,
    on_help,
    on_inline,
    on_new,
    on_patch,
    on_story,
    on_subscribe,
    on_text,
    on_unsubscribe,
    refresh_store,
)
from bot.telegram.inbox import CURRENT_JOB, ChatQueues, Delivery, Inbox, Job
from bot.telegram.limiter import Limiter, Limits, retry_seconds
from bot.telegram.render import desk_keyboard

log = logging.getLogger("bot.telegram")

ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY,
                   Update.MY_CHAT_MEMBER)
COMMANDS = (
    BotCommand("crime", "Ask about recorded crime: /crime burglary Leeds 2023"),
    BotCommand("chart", "Chart a series: /chart sexual offences Wrexham"),
    BotCommand("help", "How to ask, with examples"),
    BotCommand("about", "Which ONS data editions I answer from"),
    BotCommand("story", "The answer as copy to paste: /story sexual offences Wrexham"),
    BotCommand("new", "What the newest ONS edition says about this chat's patch"),
    BotCommand("patch", "Show or set this chat's patch: /patch Wrexham, Flintshire"),
    BotCommand("subscribe", "Release alerts for the patch (group admins)"),
    BotCommand("unsubscribe", "Turn release alerts off (group admins)"),
)
POLL_TIMEOUT_S = 25
MAX_BACKOFF_S = 30.0
DEFAULT_GRACE_S = 15.0
SEND_TIMEOUT_S = 30.0
EXIT_CONFIG = 2  # a bad setting
EXIT_AUTH = 2  # like a malformed token: restarting cannot help (RestartPreventExitStatus=2)
REJECTED_MARK = "token-rejected"  # beside the inbox: a token Telegram refused, as a hash
UNSENT_RETRY_S = 30.0
UNSENT_GIVE_UP_S = 24 * 3600.0  # a reply this late is no use to a newsroom; say so and stop
SEND_POOL = 8  # connections to the Bot API for replies, and the sends allowed in flight
DESK_INTERVAL_S = 60.0  # how often the store is checked for a new file when no one asks


@dataclass(frozen=True)
class Tuning:
    """Timings and places the tests shrink or move; production uses the defaults."""

    limits: Limits = field(default_factory=Limits)
    inbox: Path | None = None  # default: inbox.db beside the store
    grace: float = DEFAULT_GRACE_S
    poll_timeout: int = POLL_TIMEOUT_S
    send_timeout: float = SEND_TIMEOUT_S
    probe_pause: float = 0.5
    heartbeat: Path | None = None
    desk: Path | None = None  # default: $CRIMEBOT_DESK_DB, else desk.db beside the store
    desk_interval: float = DESK_INTERVAL_S
    followup: float | None = None  # seconds; default $CRIMEBOT_FOLLOWUP_MINUTES
    unsent_retry: float = UNSENT_RETRY_S
    give_up: float = UNSENT_GIVE_UP_S


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


@dataclass(frozen=True)
class Post:
    """An outbox message on its chat's queue: sent like a reply, journalled under `key`."""

    key: str
    chat: int
    text: str
    markup: dict[str, Any] | None


def chat_key(update: Update) -> int:
    """Which queue an update joins: its chat, or for inline queries (no chat) its user."""
    chat, user = update.effective_chat, update.effective_user
    if chat is not None:
        return chat.id
    return user.id if user is not None else 0


class Runner:
    """Everything between Telegram and the handlers: inbox, queues, heartbeat, stop."""

    def __init__(self, application: Application, inbox: Inbox, status: ops.Status,
                 tuning: Tuning) -> None:
        self.application = application
        self.inbox = inbox
        self.status = status
        self.tuning = tuning
        self.queues = ChatQueues(self._handle)
        self.closing = False
        self.heartbeat = ops.Heartbeat(tuning.heartbeat or ops.heartbeat_path(os.environ),
                                       status)
        self.desk_generation: int | None = None  # the store generation digests were owed for
        self.sending: set[str] = set()  # outbox keys on a queue in this run
        self.store_gone = False  # the store file was deleted under the running bot

    @property
    def services(self) -> Services:
        return self.application.bot_data["services"]

    @property
    def delivery(self) -> Delivery:
        return self.services.delivery

    def accept(self, batch: list[tuple[Update | None, dict[str, Any]]]) -> int:
        """Journal a batch, then queue what is new; duplicates are dropped here, and updates
        that could not be read (None) or stored are quarantined by the inbox. Returns the
        number queued. Nothing may be confirmed to Telegram before this returns."""
        fresh = set(self.inbox.add((body["update_id"], body, update is not None)
                                   for update, body in batch))
        for update, _ in batch:
            if update is not None and update.update_id in fresh:
                self._submit(update, time.monotonic())
        return len(fresh)

    def _submit(self, update: Update, received: float) -> None:
        message = update.effective_message
        if message is not None and message.chat_id:
            self.delivery.seen(message.chat_id, message.message_id)
        ahead = self.queues.submit(chat_key(update), (update, received))
        if ahead:
            log.info("update id=%s chat=%s status=queued ahead=%d", update.update_id,
                     ops.chat_kind(update), ahead)

    def replay(self) -> int:
        """Queue what the inbox holds unanswered from before a restart (or a crash), and forget
        answered updates too old for Telegram to deliver again."""
        self.inbox.prune()
        left = self.inbox.pending()
        for update_id, body, _ in left:
            try:
                update = Update.de_json(body, self.application.bot)
            except Exception as error:
                log.error("update id=%s status=failed: unreadable in the inbox: %s", update_id,
                          error)
                self.inbox.finish(update_id, "failed")
                continue
            self._submit(update, time.monotonic())
        if left:
            log.info("inbox: answering %d updates received before the restart", len(left))
        self.send_outbox()
        return len(left)

    # --- release digests ----------------------------------------------------------------

    async def check_desk(self) -> int:
        """Post the digests owed for the store as it is now; the number newly posted.

        Each digest goes into the outbox under `digest:{chat}:{edition}` before the desk records
        it as sent, so a crash in between cannot lose it, and posting a key twice is a no-op.
        """
        services = self.services
        engine = services.engine
        refresh_store(engine)
        with engine.store.snapshot() as snapshot:
            generation = snapshot.generation
            due = await asyncio.to_thread(digest_due, services.desk, engine.store)
        posted = 0
        for digest in due:
            markup = desk_keyboard(digest.buttons)
            if self.inbox.post(f"digest:{digest.chat}:{digest.edition}", digest.chat, {
                    "text": digest.text, "markup": markup.to_dict() if markup else None}):
                posted += 1
            services.desk.mark_sent(digest.chat, digest.edition)
        self.desk_generation = generation
        if posted:
            log.info("desk: %d digests posted for store generation %d", posted, generation)
        self.send_outbox()
        return posted

    async def watch_store(self) -> None:
        """Look for a swapped-in store every `desk_interval` seconds (questions pick one up
        too) and post the digests a new one brings; forget answered updates Telegram can no
        longer deliver again, so a bot that runs for weeks keeps a small inbox. Never ends by
        itself."""
        while True:
            await asyncio.sleep(self.tuning.desk_interval)
            if pruned := self.inbox.prune():
                log.info("inbox: forgot %d answered updates too old to be delivered again",
                         pruned)
            self.notice_store_file()
            refresh_store(self.services.engine)
            if self.services.engine.store.generation == self.desk_generation:
                continue
            try:
                await self.check_desk()
            except Exception:
                log.exception("desk: could not work out the digests owed; trying again at the "
                              "next store check")

    def notice_store_file(self) -> None:
        """Say once when the store file disappears (and once when it is back): the bot goes on
        answering from its copy in memory, which nobody would otherwise know."""
        path = Path(self.services.engine.store.path)
        present = path.exists()
        if not present and not self.store_gone:
            log.warning("the store file %s was deleted: answering from the copy in memory "
                        "until a new store is put there (crimebot ingest)", path)
        elif present and self.store_gone:
            log.info("the store file %s is back", path)
        self.store_gone = not present

    def send_outbox(self) -> None:
        """Queue every unsent outbox message not already on a queue."""
        for key, chat, body in self.inbox.outgoing():
            if key in self.sending:
                continue
            self.sending.add(key)
            self.queues.submit(chat, Post(key, chat, body["text"], body.get("markup")))

    async def _send_post(self, post: Post) -> None:
        """Send one outbox message exactly once. A chat that removed the bot (403) has its
        alerts turned off; one Telegram will not take now is tried again later."""
        bot = self.application.bot
        markup = InlineKeyboardMarkup.de_json(post.markup, bot) if post.markup else None
        job = Job(0, self.inbox.progress(post.key), outbox=post.key)
        token = CURRENT_JOB.set(job)

        def send() -> Awaitable[Message]:
            return bot.send_message(post.chat, post.text, reply_markup=markup,
                                    link_preview_options=NO_PREVIEW)
        try:
            await self.delivery.send(post.chat, send, markup)
            outcome = "sent"
        except Forbidden as error:
            log.warning("post %s: chat %s will not take messages (%s): its alerts are off",
                        post.key, post.chat, error.message)
            self.services.desk.unsubscribe(post.chat, may_change=True)
            outcome = "forbidden"
        except (InvalidToken, RetryAfter, NetworkError) as error:
            if not isinstance(error, BadRequest):
                log.warning("post %s could not be sent now (%s): trying again later", post.key,
                            error)
                self.sending.discard(post.key)
                if not self.closing:
                    asyncio.get_running_loop().call_later(self.tuning.unsent_retry,
                                                          self.send_outbox)
                return
            log.error("post %s: Telegram refused it: %s", post.key, error.message)
            outcome = "failed"
        except Exception:
            log.exception("post %s failed", post.key)
            outcome = "failed"
        finally:
            CURRENT_JOB.reset(token)
        self.inbox.finish(post.key, outcome)
        self.sending.discard(post.key)
        log.info("post %s chat=%s status=%s", post.key, post.chat, outcome)

    def _retry(self, update: Update) -> None:
        """Try an undelivered reply again later; after a stop the next start does."""
        self.status.replies_waiting -= 1
        if not self.closing:
            self._submit(update, time.monotonic())

    def _unsent(self, update: Update) -> str:
        """A reply Telegram could not be reached for: tried again in `unsent_retry` seconds,
        until it is `give_up` seconds old, when it is given up loudly. The outcome to log."""
        received = self.inbox.received(update.update_id)
        if received is not None and time.time() - received >= self.tuning.give_up:
            log.error("update id=%s status=gave_up: no reply could be delivered for %.0f s; "
                      "the asker got no answer", update.update_id, time.time() - received)
            self.inbox.finish(update.update_id, "gave up")
            self.status.replies_given_up += 1
            return "gave up"
        self.status.replies_waiting += 1
        asyncio.get_running_loop().call_later(self.tuning.unsent_retry, self._retry, update)
        return UNSENT

    async def _handle(self, item: tuple[Update, float] | Post) -> None:
        if isinstance(item, Post):
            await self._send_post(item)
            return
        update, received = item
        job = Job(update.update_id, self.inbox.progress(update.update_id))
        job.delivered = job.progress.sent
        token = CURRENT_JOB.set(job)
        started = time.monotonic()
        try:
            await self.application.process_update(update)
        except Exception:
            log.exception("update %s failed outside its handlers", update.update_id)
            job.flag("failed")
        finally:
            CURRENT_JOB.reset(token)
        outcome = job.outcome or "ignored"
        if outcome == UNSENT:
            outcome = self._unsent(update)
        else:
            self.inbox.finish(update.update_id, outcome)
        self.status.handled(update.update_id)
        now = time.monotonic()
        ops.log_update(log, update.update_id, ops.chat_kind(update), outcome,
                       (now - started) * 1000, (started - received) * 1000)

    async def poll(self) -> None:
        """Long-poll until cancelled. Raises InvalidToken on 401/404: a revoked token or a
        wrong API URL will not fix itself, and a bot that cannot hear must not look healthy."""
        bot = self.application.bot
        await bot.delete_webhook(drop_pending_updates=False)
        offset: int | None = None
        backoff = 1.0
        timeout = 0  # the first poll returns at once, so the heartbeat shows a live bot soon
        while True:
            try:
                raw = await fetch_raw(bot, offset, timeout, self.tuning.poll_timeout + 10)
            except InvalidToken:
                raise
            except RetryAfter as error:
                log.warning("polling: Telegram asks to wait %.0f s", retry_seconds(error))
                await asyncio.sleep(retry_seconds(error))
                continue
            except Conflict as error:
                log.warning("polling: %s (another instance with this token, or a webhook)",
                            error.message)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            except TelegramError as error:
                log.warning("polling: %s", error)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff, timeout = 1.0, self.tuning.poll_timeout
            self.heartbeat.beat()
            batch = read_batch(raw, bot)
            if batch:
                self.accept(batch)
                offset = batch[-1][1]["update_id"] + 1

    @contextlib.asynccontextmanager
    async def session(self, source: Callable[[], Awaitable[None]], mode: str
                      ) -> AsyncIterator[asyncio.Task[None]]:
        """Start the application, answer what the inbox left over, and run `source` (the poll
        loop or the webhook server) as a task; on the way out, stop fetching first, then let
        the queues finish within the grace period, then shut down."""
        application = self.application
        fetching: asyncio.Task[None] | None = None
        watching: asyncio.Task[None] | None = None
        try:
            await application.initialize()
            await post_init(application)
            await application.start()
            log.info("starting: %s with the store at %s", mode,
                     application.bot_data["services"].engine.store.path)
            self.replay()
            try:
                await self.check_desk()
            except Exception:
                log.exception("desk: could not work out the digests owed at start")
            watching = asyncio.create_task(self.watch_store(), name="crimebot-desk")
            fetching = asyncio.create_task(source(), name="crimebot-fetch")
            yield fetching
        finally:
            self.closing = True
            if watching is not None:
                watching.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watching
            if fetching is not None:
                if not fetching.done():
                    fetching.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await fetching
                await self.finish()
            self.heartbeat.stop()
            if application.running:
                await application.stop()
            await application.shutdown()
            await post_shutdown(application)

    async def serve(self, source: Callable[[], Awaitable[None]], mode: str) -> int:
        """Run until SIGTERM/SIGINT or until fetching fails; returns the exit code."""
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        try:
            async with self.session(source, mode) as fetching:
                stop_wait = asyncio.create_task(stopping.wait())
                await asyncio.wait({fetching, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
                stop_wait.cancel()
                if fetching.done():
                    return fetch_failure(fetching.exception())
                log.info("stop signal received: no more fetching, finishing what is queued")
                return 0
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    async def finish(self) -> None:
        """Answer what is queued within the grace period; leave the rest in the inbox."""
        if await self.queues.join(self.tuning.grace):
            return
        left = self.queues.backlog()
        await self.queues.cancel()
        log.warning("stopping with %d updates unanswered after %.0f s: they stay in the inbox "
                    "and are answered at the next start", left, self.tuning.grace)


async def fetch_raw(bot: Bot, offset: int | None, timeout: int, read_timeout: float) -> Any:
    """getUpdates as JSON, unread: PTB's `get_updates` reads the batch as a whole (and warns
    against asking for it raw, which is the point here)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Please use 'Bot.getUpdates'", PTBUserWarning)
        try:
            return await bot.do_api_request(
                "getUpdates", api_kwargs={"offset": offset, "timeout": timeout,
                                          "allowed_updates": list(ALLOWED_UPDATES)},
                read_timeout=read_timeout)
        except EndPointNotFound as error:  # getUpdates exists: the token or the URL is wrong
            raise InvalidToken(error.message) from error


def read_batch(raw: Any, bot: Bot) -> list[tuple[Update | None, dict[str, Any]]]:
    """getUpdates' answer, one update at a time: (the update, or None when it cannot be read;
    its JSON as Telegram sent it). PTB's `get_updates` reads the batch as a whole, so one odd
    update would fail every fetch and the offset could never move past it."""
    batch: list[tuple[Update | None, dict[str, Any]]] = []
    for body in raw if isinstance(raw, list) else []:
        if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
            log.error("getUpdates returned something that is not an update, skipped: %.200r",
                      body)
            continue
        batch.append((parse_update(body, bot), body))
    return batch


def parse_update(body: dict[str, Any], bot: Bot) -> Update | None:
    """The update, or None (logged) when PTB cannot make one of this JSON."""
    try:
        return Update.de_json(body, bot)
    except Exception as error:
        log.info("update id=%s cannot be read: %s: %.200s", body.get("update_id"),
                 type(error).__name__, error)
        return None


def fetch_failure(error: BaseException | None) -> int:
    """The exit code for a fetch loop that ended by itself, with one clear line."""
    if isinstance(error, InvalidToken):
        log.critical("Telegram rejected the token while polling (%s): it was revoked or "
                     "TELEGRAM_API_BASE_URL is wrong; stopping so the supervisor sees it",
                     error.message)
        return EXIT_AUTH
    if error is not None:
        log.critical("fetching updates failed: %r", error)
        return 1
    return 0


async def post_init(application: Application) -> None:
    """Register the command menu and say, once, what the bot answers from and for whom."""
    await application.bot.set_my_commands(COMMANDS)
    found: Services = application.bot_data["services"]
    if found.access.chats and not found.access.users:
        log.warning("CRIMEBOT_ALLOWED_USERS is empty: anyone may ask in private chats and "
                    "inline mode")
    log.info("@%s ready: %d data editions from %s", application.bot.username,
             len(found.engine.store.editions()), found.engine.store.path)


async def post_shutdown(application: Application) -> None:
    services: Services = application.bot_data["services"]
    services.delivery.inbox.close()
    services.desk.close()
    services.conversations.close()
    services.engine.store.close()


def build_application(config: Config, engine: Engine, tuning: Tuning | None = None,
                      request: BaseRequest | None = None) -> Application:
    """The one factory: handlers in explicit order, the gate in group -1 ahead of all of them.

    There is no PTB `Updater`: `Runner.poll` (or the webhook) feeds updates through the inbox.
    `request` replaces the HTTP client (the fast handler tests record calls through it).
    """
    tuning = tuning or Tuning()
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
    inbox = Inbox(tuning.inbox or Path(config.db_path).parent / "inbox.db")
    desk_path = tuning.desk or desk_path_from_env(config.db_path)
    application.bot_data["services"] = Services(
        engine, Access(set(config.allowed_chats), config.allowed_users),
        FloodGuard(config.cooldown_seconds, notice=config.slow_notice_seconds),
        Delivery(application.bot, inbox, tuning.probe_pause), status,
        Subscriptions(desk_path), Conversations(desk_path),
        tuning.followup if tuning.followup is not None
        else read("CRIMEBOT_FOLLOWUP_MINUTES") * 60)
    application.bot_data["runner"] = Runner(application, inbox, status, tuning)
    new_messages = filters.UpdateType.MESSAGE
    application.add_handler(TypeHandler(Update, gate), group=-1)
    application.add_handler(CommandHandler(["start", "help"], on_help, filters=new_messages))
    application.add_handler(CommandHandler("about", on_about, filters=new_messages))
    application.add_handler(CommandHandler("crime", on_crime, filters=new_messages))
    application.add_handler(CommandHandler("chart", on_chart, filters=new_messages))
    application.add_handler(CommandHandler("story", on_story, filters=new_messages))
    application.add_handler(CommandHandler("new", on_new, filters=new_messages))
    application.add_handler(CommandHandler("patch", on_patch, filters=new_messages))
    application.add_handler(CommandHandler("subscribe", on_subscribe, filters=new_messages))
    application.add_handler(CommandHandler("unsubscribe", on_unsubscribe, filters=new_messages))
    application.add_handler(MessageHandler(new_messages & filters.TEXT & ~filters.COMMAND,
                                           on_text))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_handler(InlineQueryHandler(on_inline))
    application.add_error_handler(on_error)
    return application


def runner_of(application: Application) -> Runner:
    return application.bot_data["runner"]


def open_serving_engine(db_path: Path) -> Engine:
    """The engine over an in-memory snapshot of the store, which no overwrite can reach."""
    return Engine(Store(db_path, in_memory=True))


def tuning_from_env(env: dict[str, str] | os._Environ[str]) -> Tuning:
    from bot.config import read

    return Tuning(limits=Limits().scaled(read("CRIMEBOT_LIMIT_SCALE", env)),
                  inbox=read("CRIMEBOT_INBOX", env),
                  grace=read("CRIMEBOT_STOP_GRACE_SECONDS", env),
                  heartbeat=ops.heartbeat_path(env))


def token_mark(config: Config) -> str:
    """Names the token and Bot API server Telegram refused, without keeping the token."""
    return hashlib.sha256(f"{config.api_base_url}\n{config.token}".encode()).hexdigest()


def rejected_before(config: Config) -> Path | None:
    """The mark left when Telegram rejected this very token at this server; None otherwise.

    Docker cannot be told to spare one exit code, so Compose restarts a bot that exited 2; the
    mark keeps each restart from calling Telegram with the bad token again. A new token (or
    server) does not match it and is tried.
    """
    mark = mark_path(config)
    try:
        return mark if mark.read_text(encoding="utf-8").strip() == token_mark(config) else None
    except (OSError, UnicodeDecodeError):
        return None


def mark_path(config: Config) -> Path:
    """Beside the inbox: the bot's own writable place (the store's folder by default)."""
    from bot.config import read

    inbox = read("CRIMEBOT_INBOX", os.environ) or Path(config.db_path).parent / "inbox.db"
    return inbox.parent / REJECTED_MARK


def mark_rejected(config: Config) -> None:
    try:
        mark_path(config).write_text(token_mark(config) + "\n", encoding="utf-8")
    except OSError as error:
        log.warning("could not note the rejected token beside the store: %s", error)


def run(config: Config, webhook_url: str | None = None) -> int:
    """`crimebot run`: long polling (or a webhook server) until SIGTERM or SIGINT, which stop
    it cleanly (exit 0); a token Telegram rejects, at start or while running, exits 2."""
    if mark := rejected_before(config):
        print(f"crimebot run: Telegram rejected this TELEGRAM_BOT_TOKEN before (see {mark}); "
              "not calling it again with the same token: set a new one from @BotFather, or "
              f"delete {mark} to try this one again", file=sys.stderr)
        return EXIT_AUTH
    code = serve(config, webhook_url)
    if code == EXIT_AUTH:
        mark_rejected(config)
    return code


def serve(config: Config, webhook_url: str | None) -> int:
    """Everything `run` does once the token is worth trying; the exit code."""
    settings = None
    secrets = [config.token]
    ops.redact_stderr(secrets)
    try:
        tuning = tuning_from_env(os.environ)
        if webhook_url:
            from bot.webhook import webhook_settings

            settings = webhook_settings(os.environ, webhook_url)
            secrets.append(settings.secret)
            ops.redact_stderr(secrets)
    except ConfigError as error:
        print(f"crimebot run: {error}", file=sys.stderr)
        return EXIT_CONFIG
    ops.setup_logging(config.log_level, secrets)
    try:
        engine = open_serving_engine(config.db_path)
    except StoreError as error:
        print(f"crimebot run: {error}", file=sys.stderr)
        return 1
    try:
        application = build_application(config, engine, tuning)
    except sqlite3.Error as error:
        print(f"crimebot run: cannot open the inbox (CRIMEBOT_INBOX, default inbox.db beside "
              f"the store) or the desk's settings (CRIMEBOT_DESK_DB, default desk.db beside "
              f"it): {error}", file=sys.stderr)
        return 1
    runner = runner_of(application)
    try:
        if settings:
            from bot.webhook import serve_webhook

            return asyncio.run(runner.serve(partial(serve_webhook, runner, settings),
                                            f"webhook {settings.url} on {settings.listen}:"
                                            f"{settings.port}"))
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
