"""The loop that feeds the handlers: fetch, journal, queue, answer; and the store watch.

PTB's own `Updater` confirms updates to Telegram (the next `getUpdates` offset) as soon as it
has put them on a queue in memory, so a crash or a stop with a backlog loses them. Here the
fetching is our own short loop around `Bot.get_updates`: each batch is written to the inbox
before the offset moves on, then handed to the per-chat queues, whose workers call
`Application.process_update` (the handlers in `commands.wire`'s order, the gate ahead). The
webhook server (`bot.telegram.webhook`) feeds the same `Runner.accept`.

The runner also watches the store: at start and whenever a new store file is swapped in, the
release digests owed to subscribed chats are posted to the inbox's outbox (once per chat and
edition) and sent through the same per-chat queues, exactly-once delivery and limiter.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Bot, InlineKeyboardMarkup, Message, Update
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
from telegram.ext import Application
from telegram.warnings import PTBUserWarning

from bot import ops
from bot.config import DEFAULT_STOP_GRACE_SECONDS, Config
from bot.telegram.alerts import digest_due
from bot.telegram.commands import menu
from bot.telegram.handlers import NO_PREVIEW, UNSENT, Services, refresh_store
from bot.telegram.inbox import CURRENT_JOB, ChatQueues, Delivery, Inbox, Job
from bot.telegram.limiter import Limits, retry_seconds
from bot.telegram.render import desk_keyboard

log = logging.getLogger("bot.telegram")

ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY, Update.INLINE_QUERY,
                   Update.MY_CHAT_MEMBER)
POLL_TIMEOUT_S = 25
MAX_BACKOFF_S = 30.0
SEND_TIMEOUT_S = 30.0
EXIT_AUTH = 2  # like a malformed token: restarting cannot help (RestartPreventExitStatus=2)
UNSENT_RETRY_S = 30.0
UNSENT_GIVE_UP_S = 24 * 3600.0  # a reply this late is no use to a newsroom; say so and stop
DESK_INTERVAL_S = 60.0  # how often the store is checked for a new file when no one asks


@dataclass(frozen=True)
class Tuning:
    """Timings the tests shrink; production takes them from the settings (`of`)."""

    limits: Limits = field(default_factory=Limits)
    grace: float = DEFAULT_STOP_GRACE_SECONDS
    poll_timeout: int = POLL_TIMEOUT_S
    send_timeout: float = SEND_TIMEOUT_S
    probe_pause: float = 0.5
    desk_interval: float = DESK_INTERVAL_S
    followup: float | None = None  # seconds; default the config's follow-up minutes
    unsent_retry: float = UNSENT_RETRY_S
    give_up: float = UNSENT_GIVE_UP_S

    @classmethod
    def of(cls, config: Config) -> Tuning:
        """The production timings: the limits scaled and the stop's grace as configured."""
        return cls(limits=Limits().scaled(config.limit_scale), grace=config.stop_grace_seconds)


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
                 tuning: Tuning, heartbeat: Path) -> None:
        self.application = application
        self.inbox = inbox
        self.status = status
        self.tuning = tuning
        self.queues = ChatQueues(self._handle)
        self.closing = False
        self.heartbeat = ops.Heartbeat(heartbeat, status)
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
    await application.bot.set_my_commands(menu())
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

