"""No question lost, none answered twice: the durable inbox, per-chat queues and idempotent sends.

- `Inbox` is a small SQLite journal in the data folder. Every update is written to it before
  Telegram is told we have it (before the next `getUpdates` offset, before the webhook answers
  200), keyed by update id so a re-delivery is recognised, and marked done only once its reply
  has taken effect. Each reply message is journalled too: the intent before the send, the
  delivery after it, so a restart resumes an answer where it stopped instead of repeating it.
- The same journal holds an outbox of messages the bot posts unasked (release digests), keyed by
  a name such as `digest:-42:pfa-2024-12-31`: a key is posted once, and its message is sent with
  the same intent/delivery bookkeeping as a reply, so a restart neither loses nor repeats it.
- `ChatQueues` runs one ordered queue per chat: a chat's questions are answered in the order
  asked, different chats in parallel, and nothing is refused for being busy.
- `Delivery` sends one reply message exactly once. A send that failed before reaching Telegram
  is simply retried; one whose fate is unknown (a timeout, a connection cut after the request
  went out) is first looked for with a probe that cannot create a message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from telegram import Bot, InlineKeyboardMarkup, Message
from telegram.error import BadRequest, NetworkError

log = logging.getLogger(__name__)

DONE_KEPT_S = 2 * 24 * 3600.0  # Telegram re-delivers for up to 24 h; remember ids for longer
SEND_ATTEMPTS = 5
PROBE_SPAN = 20  # message ids looked at past the last one known in the chat
PROBE_PAUSE_S = 0.5


@dataclass
class Progress:
    """How far an update's reply got: `sent` messages delivered, `sending` one in flight."""

    sent: int = 0
    sending: int | None = None
    probe_from: int | None = None


class Inbox:
    """The journal of updates received and how far each one's reply got."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("pragma journal_mode = wal")
        # Progress marks (intent, delivery, done) are committed without an fsync each: in WAL
        # mode a commit survives a crash of the process, and only a power cut can undo the last
        # few (then a reply in flight may be sent again). Receipt is what must never be lost,
        # so `add` syncs its batch before Telegram is told to move the offset on.
        self._db.execute("pragma synchronous = normal")
        self._db.execute(
            "create table if not exists inbox (update_id integer primary key, body text not "
            "null, received real not null, state text not null default 'pending', outcome "
            "text, sent integer not null default 0, sending integer, probe_from integer, "
            "finished real)")
        self._db.execute(
            "create table if not exists outbox (key text primary key, chat integer not null, "
            "body text not null, created real not null, state text not null default 'pending', "
            "outcome text, sent integer not null default 0, sending integer, probe_from "
            "integer, finished real)")

    def close(self) -> None:
        self._db.close()

    def add(self, updates: Iterable[tuple[int, dict[str, Any], bool]],
            now: float | None = None) -> list[int]:
        """Journal a batch in one transaction; the ids to answer (new and readable), in order.

        Each entry is (update id, body, readable). An update that cannot be read or stored as it
        came (a lone surrogate such as "\\udcff" in any string, which JSON allows but UTF-8 does
        not) is quarantined: kept with its text escaped, logged once, never answered, so one odd
        update can neither stop fetching nor come back at every restart. An id seen before is a
        re-delivery, unless the update under it is another one (`is_recycled`).
        """
        received = time.time() if now is None else now
        fresh = []
        self._db.execute("pragma synchronous = full")
        try:
            with self._transaction():
                for update_id, body, readable in updates:
                    if self._recycled(update_id, body):
                        log.warning("update id=%s was used before for another update: Telegram "
                                    "restarted its ids; answering the new one", update_id)
                        self._db.execute("delete from inbox where update_id = ? and state = "
                                         "'done'", (update_id,))
                    if self._insert(update_id, body, readable, received):
                        fresh.append(update_id)
        finally:
            self._db.execute("pragma synchronous = normal")
        return fresh

    def _insert(self, update_id: int, body: dict[str, Any], readable: bool,
                received: float) -> bool:
        """Journal one update; True when it is new and to be answered."""
        reason = None if readable else "not an update the bot can read"
        if readable:
            try:
                if self._db.execute(
                        "insert or ignore into inbox (update_id, body, received) values "
                        "(?, ?, ?)", (update_id, json.dumps(body, ensure_ascii=False),
                                      received)).rowcount:
                    return True
                log.info("update id=%s status=duplicate", update_id)
                return False
            except (UnicodeEncodeError, ValueError) as error:
                reason = f"cannot be stored as it came ({type(error).__name__}: {error})"
        if self._db.execute(
                "insert or ignore into inbox (update_id, body, received, state, outcome, "
                "finished) values (?, ?, ?, 'done', 'quarantined', ?)",
                (update_id, escaped_json(body), received, received)).rowcount:
            log.error("update id=%s status=quarantined: %s; kept escaped in the inbox and "
                      "passed over", update_id, reason)
        return False

    def _recycled(self, update_id: int, body: dict[str, Any]) -> bool:
        row = self._db.execute("select body from inbox where update_id = ?",
                               (update_id,)).fetchone()
        return row is not None and is_recycled(json.loads(row[0]), body)

    @contextlib.contextmanager
    def _transaction(self) -> Any:
        self._db.execute("begin immediate")
        try:
            yield
        except BaseException:
            self._db.execute("rollback")
            raise
        self._db.execute("commit")

    def pending(self) -> list[tuple[int, dict[str, Any], float]]:
        """Updates received but not yet answered, oldest first: what a restart must answer."""
        return [(update_id, json.loads(body), received) for update_id, body, received in
                self._db.execute("select update_id, body, received from inbox where state = "
                                 "'pending' order by update_id")]

    def received(self, update_id: int) -> float | None:
        """When an update was first journalled (epoch seconds); None when it is not held."""
        row = self._db.execute("select received from inbox where update_id = ?",
                               (update_id,)).fetchone()
        return row[0] if row else None

    def progress(self, ref: int | str) -> Progress:
        table, key = _row_of(ref)
        row = self._db.execute(f"select sent, sending, probe_from from {table} where {key} = ?",
                               (ref,)).fetchone()
        return Progress(*row) if row else Progress()

    def intend(self, ref: int | str, index: int, probe_from: int | None) -> None:
        table, key = _row_of(ref)
        self._db.execute(f"update {table} set sending = ?, probe_from = ? where {key} = ?",
                         (index, probe_from, ref))

    def not_sent(self, ref: int | str) -> None:
        """The message in flight certainly did not reach Telegram: the next try sends it
        without probing for it first."""
        table, key = _row_of(ref)
        self._db.execute(f"update {table} set sending = null where {key} = ?", (ref,))

    def delivered(self, ref: int | str, index: int) -> None:
        table, key = _row_of(ref)
        self._db.execute(f"update {table} set sent = ?, sending = null where {key} = ?",
                         (index + 1, ref))

    def finish(self, ref: int | str, outcome: str, now: float | None = None) -> None:
        table, key = _row_of(ref)
        self._db.execute(f"update {table} set state = 'done', outcome = ?, finished = ? where "
                         f"{key} = ?", (outcome, time.time() if now is None else now, ref))

    def prune(self, now: float | None = None) -> int:
        """Forget answered updates older than Telegram could ever re-deliver, and old posts
        (their own records, such as the desk's `sent` table, keep them from being posted
        again)."""
        before = (time.time() if now is None else now) - DONE_KEPT_S
        self._db.execute("delete from outbox where state = 'done' and finished < ?", (before,))
        return self._db.execute("delete from inbox where state = 'done' and finished < ?",
                                (before,)).rowcount

    def post(self, key: str, chat: int, body: dict[str, Any]) -> bool:
        """Put a message in the outbox under `key`; False when that key was posted before."""
        return bool(self._db.execute(
            "insert or ignore into outbox (key, chat, body, created) values (?, ?, ?, ?)",
            (key, chat, json.dumps(body, ensure_ascii=False), time.time())).rowcount)

    def outgoing(self) -> list[tuple[str, int, dict[str, Any]]]:
        """Posts not yet sent, oldest first: (key, chat, body)."""
        return [(key, chat, json.loads(body)) for key, chat, body in self._db.execute(
            "select key, chat, body from outbox where state = 'pending' order by created, key")]

    def posted(self) -> dict[str, str | None]:
        """Every post held, key → outcome (None while pending)."""
        return dict(self._db.execute("select key, outcome from outbox"))

    def counts(self) -> dict[str, int]:
        return dict(self._db.execute("select state, count(*) from inbox group by state"))


def escaped_json(body: Any) -> str:
    """JSON in plain ASCII: any string, even a lone surrogate, survives as a \\u escape."""
    return json.dumps(body, ensure_ascii=True, default=repr)


def identity(body: dict[str, Any]) -> tuple[Any, ...]:
    """What tells one update from another beyond its id: its kind, and the id and date of
    what it carries (a message's date, a query's own id)."""
    kinds = sorted(k for k in body if k != "update_id")
    inner = body.get(kinds[0]) if kinds else None
    if not isinstance(inner, dict):
        return (tuple(kinds),)
    chat = inner.get("chat")
    return (tuple(kinds), inner.get("id"), inner.get("message_id"), inner.get("date"),
            chat.get("id") if isinstance(chat, dict) else None)


def is_recycled(held: dict[str, Any], arriving: dict[str, Any]) -> bool:
    """Telegram picks update ids afresh after a week without updates, so an id it re-uses
    may name another update: the same id with another identity is a new update."""
    return identity(held) != identity(arriving)


def _row_of(ref: int | str) -> tuple[str, str]:
    """Where a job's progress is journalled: an update (int id) or an outbox post (str key)."""
    return ("outbox", "key") if isinstance(ref, str) else ("inbox", "update_id")


# --- per-chat queues ----------------------------------------------------------------------------


class ChatQueues:
    """One worker per busy chat, taking that chat's updates in order; idle chats cost nothing."""

    def __init__(self, handle: Callable[[Any], Awaitable[None]]) -> None:
        self._handle = handle
        self._queues: dict[int, deque[Any]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, key: int, item: Any) -> int:
        """Queue `item` for chat `key`; returns how many of that chat's updates are ahead."""
        queue = self._queues.setdefault(key, deque())
        ahead = len(queue) + (1 if key in self._workers else 0)
        queue.append(item)
        if key not in self._workers:
            self._idle.clear()
            self._workers[key] = asyncio.create_task(self._work(key), name=f"chat-{key}")
        return ahead

    async def _work(self, key: int) -> None:
        queue = self._queues[key]
        try:
            while queue:
                await self._handle(queue.popleft())
        finally:
            del self._workers[key]
            if not queue:
                del self._queues[key]
            if not self._workers:
                self._idle.set()

    def backlog(self) -> int:
        """Updates queued or being handled."""
        return sum(len(q) for q in self._queues.values()) + len(self._workers)

    async def join(self, timeout: float) -> bool:
        """Wait until every queue is empty; False when `timeout` ran out first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def cancel(self) -> None:
        """Stop the workers where they are; what they did not finish stays in the inbox."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        self._queues.clear()


# --- one reply, once ----------------------------------------------------------------------------


@dataclass
class Job:
    """One update being handled, or one outbox post being sent (`outbox` names it): what has
    been sent for it, now and before a restart."""

    update_id: int
    progress: Progress = field(default_factory=Progress)
    next_index: int = 0
    delivered: int = 0  # messages that took effect for this update, in this run or before
    outcome: str | None = None
    outbox: str | None = None

    @property
    def ref(self) -> int | str:
        """The journal row: the outbox key, else the update id."""
        return self.outbox if self.outbox is not None else self.update_id

    def flag(self, outcome: str) -> None:
        self.outcome = outcome


CURRENT_JOB: ContextVar[Job | None] = ContextVar("crimebot_job", default=None)


def never_sent(error: NetworkError) -> bool:
    """True when the request cannot have reached Telegram: no connection was made, or it
    broke while the request was still being written (Telegram acts on whole requests only)."""
    return isinstance(error.__cause__, (httpx.ConnectError, httpx.ConnectTimeout,
                                        httpx.PoolTimeout, httpx.WriteError))


class Delivery:
    """Sends each reply message of an update exactly once, across retries and restarts."""

    def __init__(self, bot: Bot, inbox: Inbox, probe_pause: float = PROBE_PAUSE_S) -> None:
        self.bot = bot
        self.inbox = inbox
        self.probe_pause = probe_pause
        self.last_ids: dict[int, int] = {}

    def seen(self, chat_id: int, message_id: int) -> None:
        """Remember the newest message id known in a chat: where a probe starts looking."""
        if message_id > self.last_ids.get(chat_id, 0):
            self.last_ids[chat_id] = message_id

    async def send(self, chat_id: int, call: Callable[[], Awaitable[Message]],
                   markup: InlineKeyboardMarkup | None = None) -> Message | None:
        """Send one message of the current update's reply; None when it had already gone out.

        The intent is journalled before the call. When the call's fate is unknown, the probe
        looks for the message among the chat's newest ids before anything is sent again, so a
        send that took effect and then lost its connection is not repeated.
        """
        job = CURRENT_JOB.get()
        if job is None:
            return await call()
        index = job.next_index
        job.next_index += 1
        if index < job.progress.sent:
            return None  # delivered before a restart
        if job.progress.sending == index and await self._probe(
                chat_id, job.progress.probe_from, markup):
            self._delivered(job, index)
            return None
        probe_from = self.last_ids.get(chat_id)
        self.inbox.intend(job.ref, index, probe_from)
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                message = await call()
            except BadRequest:
                raise
            except NetworkError as error:
                if never_sent(error):
                    self.inbox.not_sent(job.ref)
                if attempt == SEND_ATTEMPTS:
                    raise
                if never_sent(error):
                    log.info("update %s: send failed before reaching Telegram (%s); retrying",
                             job.ref, error)
                    await asyncio.sleep(self.probe_pause * attempt)
                    self.inbox.intend(job.ref, index, probe_from)
                    continue
                await asyncio.sleep(self.probe_pause)
                if await self._probe(chat_id, probe_from, markup):
                    log.info("update %s: the send took effect before its connection failed "
                             "(%s); not sending it again", job.ref, error)
                    self._delivered(job, index)
                    return None
                log.info("update %s: the send did not take effect (%s); sending again",
                         job.ref, error)
                continue
            self.seen(chat_id, message.message_id)
            self._delivered(job, index)
            return message
        raise AssertionError("unreachable")  # pragma: no cover

    def _delivered(self, job: Job, index: int) -> None:
        self.inbox.delivered(job.ref, index)
        job.delivered += 1

    async def _probe(self, chat_id: int, after: int | None,
                     markup: InlineKeyboardMarkup | None) -> bool:
        """Was a message of ours posted in `chat_id` after message `after`?

        Message ids grow one by one within a chat and only this update's worker sends to the
        chat, so a message of the bot's newer than `after` is the one in doubt. Asking to set
        its keyboard to what was sent changes nothing: "not modified" means it is there, "can't
        be edited" is someone else's message, "not found" means no message has that id yet.
        """
        if after is None:
            return False
        for message_id in range(after + 1, after + 1 + PROBE_SPAN):
            try:
                await self.bot.edit_message_reply_markup(chat_id, message_id,
                                                         reply_markup=markup)
            except BadRequest as error:
                text = error.message.lower()
                if "not modified" in text:
                    self.seen(chat_id, message_id)
                    return True
                if "can't be edited" in text or "can not be edited" in text:
                    continue
                return False
            except NetworkError:
                return False
            self.seen(chat_id, message_id)
            return True
        return False
