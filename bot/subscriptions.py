"""Patches and release alerts per chat, in a small SQLite file beside the store.

The figures store is rebuilt and swapped by every ingest and opened read-only, so what a newsroom
chat has asked for lives in its own file (`desk.db` in the data folder). The `sent` table is the
promise "one digest per chat per edition, even across restarts": `mark_sent` inserts or reports
that the row was already there, so whoever hands the digest to the outbox first wins.

Who may change a chat's settings is the Telegram layer's decision (group admins); these functions
take that decision as `may_change` and refuse politely when it is False.
"""

from __future__ import annotations

import html
import re
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.gazetteer import Candidate, Gazetteer
from bot.places import KIND_NAMES, display, name_key, normalise

MAX_PATCH = 20
ADMINS_ONLY = "Only the group's admins can change its patch and alerts."

SCHEMA = """
create table if not exists chats (
    chat integer primary key,
    subscribed integer not null default 0,
    updated text not null
);
create table if not exists patch (
    chat integer not null,
    position integer not null,
    code text not null,
    name text not null,
    kind text not null,
    primary key (chat, code)
);
create table if not exists sent (
    chat integer not null,
    edition text not null,
    at text not null,
    primary key (chat, edition)
);
"""


@dataclass(frozen=True)
class PatchArea:
    code: str
    name: str
    kind: str

    @property
    def label(self) -> str:
        """"North Wales (police force area)": how the patch is read back."""
        return f"{display(self.name)} ({KIND_NAMES.get(self.kind, self.kind)})"


@dataclass(frozen=True)
class PatchParse:
    """A `/patch` argument, name by name: what matched, what did not, what was ambiguous."""

    areas: tuple[PatchArea, ...]
    unknown: tuple[tuple[str, tuple[Candidate, ...]], ...] = ()
    ambiguous: tuple[tuple[str, tuple[Candidate, ...]], ...] = ()
    too_many: bool = False

    @property
    def complete(self) -> bool:
        """Every name resolved: only then is the patch changed."""
        return bool(self.areas) and not (self.unknown or self.ambiguous or self.too_many)


@dataclass(frozen=True)
class Change:
    """What a settings command did; `text` is plain text for the reply."""

    ok: bool
    text: str

    @property
    def html(self) -> str:
        return html.escape(self.text, quote=False)


def _pieces(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"[,;\n]+", text) if p.strip()]


def parse_patch(text: str, gazetteer: Gazetteer) -> PatchParse:
    """Names separated by commas → areas. A name that itself holds a comma ("Bournemouth,
    Christchurch and Poole") is found by trying the longest run of pieces first."""
    pieces = _pieces(normalise(text))
    areas: list[PatchArea] = []
    unknown: list[tuple[str, tuple[Candidate, ...]]] = []
    ambiguous: list[tuple[str, tuple[Candidate, ...]]] = []
    index = 0
    while index < len(pieces):
        for size in range(min(4, len(pieces) - index), 1, -1):
            joined = ", ".join(pieces[index:index + size])
            key = name_key(joined)
            codes = gazetteer.by_name.get(key)
            if not codes:
                continue
            exact = [c for c in codes if name_key(gazetteer.places[c].name) == key]
            chosen = exact if len(exact) == 1 else codes
            if len(chosen) == 1:
                place = gazetteer.places[chosen[0]]
                areas.append(PatchArea(place.code, place.name, place.kind))
            else:
                ambiguous.append((joined, tuple(
                    Candidate(c, gazetteer.places[c].name, gazetteer.places[c].kind, 100.0)
                    for c in chosen[:6])))
            index += size
            break
        else:
            piece = pieces[index]
            match = gazetteer.match(piece)
            if match.status == "ok" and match.best is not None:
                best = match.best
                areas.append(PatchArea(best.code, best.name, best.kind))
            elif match.status == "ambiguous":
                ambiguous.append((piece, match.candidates))
            else:
                unknown.append((piece, match.candidates))
            index += 1
    unique = tuple(dict.fromkeys(areas))
    return PatchParse(unique[:MAX_PATCH], tuple(unknown), tuple(ambiguous),
                      len(unique) > MAX_PATCH)


def patch_problems(parsed: PatchParse) -> str:
    """Plain text naming every name that did not resolve, with suggestions."""
    lines: list[str] = []
    for said, candidates in parsed.unknown:
        hint = "; ".join(c.name for c in candidates[:3])
        lines.append(f"I couldn't find “{said}”." + (f" Did you mean: {hint}?" if hint else ""))
    for said, candidates in parsed.ambiguous:
        names = "; ".join(f"{c.name} ({KIND_NAMES.get(c.kind, c.kind)})" for c in candidates)
        lines.append(f"“{said}” could mean: {names}. Please write the one you mean in full.")
    if parsed.too_many:
        lines.append(f"A patch holds at most {MAX_PATCH} areas.")
    if not parsed.areas and not lines:
        lines.append("Name the areas after /patch, separated by commas, for example: "
                     "/patch Wrexham, Flintshire, North Wales Police")
    return "\n".join(lines)


def patch_text(areas: Sequence[PatchArea]) -> str:
    if not areas:
        return ("This chat has no patch yet. Set one with, for example: "
                "/patch Wrexham, Flintshire, North Wales Police")
    return "This chat's patch: " + "; ".join(a.label for a in areas) + "."


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def open_desk(path: Path, schema: str, synchronous: str) -> sqlite3.Connection:
    """One connection to `desk.db` for a table group of its own (patches and alerts here,
    follow-up topics in `bot.conversations`); the caller serialises it with a lock because
    handlers run in threads. `synchronous` is "full" where a lost write is a wrong alert and
    "normal" where it only costs a follow-up its context."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma busy_timeout=5000")
    conn.execute(f"pragma synchronous={synchronous}")
    conn.executescript(schema)
    return conn


class Subscriptions:
    """The desk's own small database; one connection, serialised by a lock."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn = open_desk(self.path, SCHEMA, "full")

    def close(self) -> None:
        self._conn.close()

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _write(self, statements: Sequence[tuple[str, tuple]]) -> int:
        """Run statements in one transaction; returns the rows the last one changed."""
        with self._lock:
            self._conn.execute("begin immediate")
            try:
                changed = 0
                for sql, params in statements:
                    changed = self._conn.execute(sql, params).rowcount
                self._conn.execute("commit")
            except BaseException:
                self._conn.execute("rollback")
                raise
            return changed

    # --- patches -----------------------------------------------------------------------------

    def patch(self, chat: int) -> list[PatchArea]:
        return [PatchArea(*r) for r in self._rows(
            "select code, name, kind from patch where chat = ? order by position", (chat,))]

    def set_patch(self, chat: int, parsed: PatchParse, *, may_change: bool) -> Change:
        """Replace the chat's patch, only when every name resolved and the sender may."""
        if not may_change:
            return Change(False, ADMINS_ONLY)
        if not parsed.complete:
            return Change(False, patch_problems(parsed) + "\nThe patch was not changed.")
        statements: list[tuple[str, tuple]] = [
            ("insert into chats (chat, updated) values (?, ?) on conflict(chat) do update "
             "set updated = excluded.updated", (chat, _now())),
            ("delete from patch where chat = ?", (chat,)),
        ]
        statements += [("insert into patch values (?, ?, ?, ?, ?)",
                        (chat, i, a.code, a.name, a.kind)) for i, a in enumerate(parsed.areas)]
        self._write(statements)
        text = patch_text(parsed.areas)
        if not self.is_subscribed(chat):
            text += " Turn on release alerts with /subscribe."
        return Change(True, text)

    # --- alerts ------------------------------------------------------------------------------

    def subscribe(self, chat: int, *, may_change: bool, baseline: str | None = None) -> Change:
        """Turn on alerts. `baseline`, the newest edition now held, counts as already sent so
        the first alert is for the next edition, not one the chat has seen."""
        if not may_change:
            return Change(False, ADMINS_ONLY)
        statements: list[tuple[str, tuple]] = [
            ("insert into chats (chat, subscribed, updated) values (?, 1, ?) on conflict(chat) "
             "do update set subscribed = 1, updated = excluded.updated", (chat, _now()))]
        if baseline:
            statements.append(("insert or ignore into sent values (?, ?, ?)",
                               (chat, baseline, _now())))
        self._write(statements)
        if not self.patch(chat):
            return Change(True, "Release alerts are on, but this chat has no patch yet: set one "
                                "with /patch Wrexham, Flintshire, North Wales Police")
        return Change(True, "Release alerts are on: when ONS publishes a new edition this chat "
                            "gets one message about its patch. /new shows the latest now.")

    def unsubscribe(self, chat: int, *, may_change: bool) -> Change:
        if not may_change:
            return Change(False, ADMINS_ONLY)
        self._write([("update chats set subscribed = 0, updated = ? where chat = ?",
                      (_now(), chat))])
        return Change(True, "Release alerts are off. The patch is kept; /subscribe turns them "
                            "back on.")

    def is_subscribed(self, chat: int) -> bool:
        rows = self._rows("select subscribed from chats where chat = ?", (chat,))
        return bool(rows and rows[0][0])

    def subscribed(self) -> list[int]:
        return [r[0] for r in self._rows(
            "select chat from chats where subscribed = 1 order by chat")]

    def was_sent(self, chat: int, edition: str) -> bool:
        return bool(self._rows("select 1 from sent where chat = ? and edition = ?",
                               (chat, edition)))

    def mark_sent(self, chat: int, edition: str) -> bool:
        """Record the digest for (chat, edition); False when it was already recorded."""
        return self._write([("insert or ignore into sent values (?, ?, ?)",
                             (chat, edition, _now()))]) == 1

    def migrate(self, old: int, new: int) -> bool:
        """Move everything from a group's old id to its supergroup id; False when there was
        nothing to move or the new id already has settings of its own."""
        if not self._rows("select 1 from chats where chat = ?", (old,)) or self._rows(
                "select 1 from chats where chat = ?", (new,)):
            return False
        self._write([(f"update {table} set chat = ? where chat = ?", (new, old))
                     for table in ("chats", "patch", "sent")])
        return True


def patch_command(subs: Subscriptions, gazetteer: Gazetteer, chat: int, argument: str, *,
                  may_change: bool) -> Change:
    """`/patch` with nothing after it shows the patch (anyone may look); with names, sets it."""
    if not normalise(argument):
        return Change(True, patch_text(subs.patch(chat)))
    return subs.set_patch(chat, parse_patch(argument, gazetteer), may_change=may_change)
