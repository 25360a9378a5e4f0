"""Where each answer's `Topic` is kept, so a reply to it can follow on after a restart.

A row per bot message that carried an answer, keyed by (chat, message id), in the desk's
SQLite file (`desk.db`, the durable per-chat state beside the store) in a table of its own.
Rows older than `KEPT_S` are pruned as new ones are written: a reply to a week-old answer is a
new question. "The last answer in this chat" (private follow-ons) is the newest row, taken only
when it is younger than the follow-up window the caller passes (`CRIMEBOT_FOLLOWUP_MINUTES`).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from bot.followup import Topic
from bot.subscriptions import open_desk

KEPT_S = 7 * 24 * 3600.0

SCHEMA = """
create table if not exists followups (
    chat integer not null,
    message integer not null,
    topic text not null,
    at real not null,
    primary key (chat, message)
);
create index if not exists followups_at on followups (chat, at);
"""


class Conversations:
    """The answers' topics; one connection, serialised by a lock (handlers run in threads)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        # A context lost to a power cut only makes one follow-up a new question: no fsync each.
        self._conn = open_desk(self.path, SCHEMA, "normal")

    def close(self) -> None:
        self._conn.close()

    def remember(self, chat: int, messages: Iterable[int], topic: Topic,
                 now: float | None = None) -> None:
        """File the topic under every message of the answer (a reply may quote any part)."""
        at = time.time() if now is None else now
        body = json.dumps(topic.to_json(), ensure_ascii=False)
        with self._lock:
            self._conn.execute("begin immediate")
            try:
                self._conn.executemany(
                    "insert or replace into followups (chat, message, topic, at) values "
                    "(?, ?, ?, ?)", [(chat, message, body, at) for message in messages])
                self._conn.execute("delete from followups where at < ?", (at - KEPT_S,))
                self._conn.execute("commit")
            except BaseException:
                self._conn.execute("rollback")
                raise

    def topic(self, chat: int, message: int, now: float | None = None) -> Topic | None:
        """The topic of one of the bot's answers, while it is kept."""
        at = time.time() if now is None else now
        with self._lock:
            row = self._conn.execute(
                "select topic from followups where chat = ? and message = ? and at >= ?",
                (chat, message, at - KEPT_S)).fetchone()
        return _topic(row[0]) if row else None

    def latest(self, chat: int, within_s: float, now: float | None = None) -> Topic | None:
        """The chat's last answer's topic, if it was given within `within_s` seconds."""
        at = time.time() if now is None else now
        with self._lock:
            row = self._conn.execute(
                "select topic from followups where chat = ? and at >= ? order by at desc, "
                "message desc limit 1", (chat, at - within_s)).fetchone()
        return _topic(row[0]) if row else None


def _topic(body: str) -> Topic | None:
    """A row written by an older version may not read: then there is nothing to follow."""
    try:
        return Topic.from_json(json.loads(body))
    except (ValueError, KeyError, TypeError):
        return None
