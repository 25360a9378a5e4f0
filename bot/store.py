"""The SQLite store, opened read-only for serving.

Plain `sqlite3` rather than sqlite-utils here: the answer path must stay light and every query is a
handful of indexed look-ups. The store notices when `crimebot ingest` swaps a new file into place
and reopens it, so a running bot answers from the new edition without a restart.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

from bot.config import DEFAULT_DB as DEFAULT_DB  # re-exported: callers ask the store for it
from bot.config import read


class StoreError(Exception):
    """The store is missing, empty or not a crimebot store; the message says what to do."""


def db_path_from_env(explicit: str | Path | None = None) -> Path:
    return Path(explicit) if explicit else read("CRIMEBOT_DB")


@dataclass(frozen=True)
class AreaRow:
    code: str
    name: str
    kind: str
    force_code: str | None
    offered: bool


@dataclass(frozen=True)
class FigureRow:
    period_end: str
    count: int | None
    rate: float | None
    rate_basis: str | None
    edition: str


@dataclass(frozen=True)
class EditionRow:
    key: str
    title: str
    dataset: str
    period_end: str
    published: str | None


class Store:
    """Read-only access to the figures; cheap to query, safe to share across one event loop."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._identity: tuple[int, int, int] | None = None
        self.generation = 0
        self._open()

    def _stat(self) -> tuple[int, int, int]:
        stat = self.path.stat()
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _open(self) -> None:
        if not self.path.exists():
            raise StoreError(
                f"no store at {self.path}: build it with `crimebot ingest --source DIR` "
                "(or set CRIMEBOT_SOURCES)")
        if self.path.stat().st_size == 0:
            raise StoreError(
                f"the store at {self.path} is empty: rebuild it with `crimebot ingest`")
        identity = self._stat()
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                   check_same_thread=False)
            conn.execute("select value from meta where key = 'schema'").fetchone()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path} is not a crimebot store ({error}): rebuild it with "
                             "`crimebot ingest`") from error
        old, self._conn, self._identity = self._conn, conn, identity
        self.generation += 1
        if old is not None:
            old.close()

    def refresh(self) -> bool:
        """Reopen when a new store file has been swapped in; True when it changed.

        A failed refresh (the new file is broken) keeps answering from the old connection.
        """
        try:
            identity = self._stat()
        except OSError:
            return False
        if identity == self._identity:
            return False
        with self._lock:
            if identity == self._identity:
                return False
            try:
                self._open()
            except StoreError:
                self._identity = identity
                raise
        return True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        assert self._conn is not None, "store is closed"
        return self._conn.execute(sql, params).fetchall()

    # --- what the answer engine asks ------------------------------------------------------

    def areas(self) -> list[AreaRow]:
        return [AreaRow(c, n, k, f, bool(o)) for c, n, k, f, o in self._rows(
            "select code, name, kind, force_code, offered from areas order by code")]

    def area(self, code: str) -> AreaRow | None:
        rows = self._rows("select code, name, kind, force_code, offered from areas where code = ?",
                          (code,))
        return AreaRow(*rows[0][:4], bool(rows[0][4])) if rows else None

    def former_names(self) -> list[tuple[str, str]]:
        return self._rows("select name, code from area_names order by name")

    def local_authorities(self) -> list[tuple[str, str, str, int]]:
        """(LA code, LA name, CSP code, lookup year) for every mapping the lookups hold."""
        return self._rows(
            "select code, name, csp_code, year from local_authorities order by year desc, code")

    def series(self, area: str, offence: str) -> list[FigureRow]:
        """Every held 12-month figure for an area and offence, oldest first."""
        return [FigureRow(*row) for row in self._rows(
            "select period_end, count, rate, rate_basis, edition from figures "
            "where area = ? and offence = ? order by period_end", (area, offence))]

    def figure(self, area: str, offence: str, period_end: str) -> FigureRow | None:
        rows = self._rows(
            "select period_end, count, rate, rate_basis, edition from figures "
            "where area = ? and offence = ? and period_end = ?", (area, offence, period_end))
        return FigureRow(*rows[0]) if rows else None

    def offences_held(self, area: str) -> list[str]:
        return [r[0] for r in self._rows(
            "select distinct offence from figures where area = ? order by offence", (area,))]

    def population(self, code: str, year: int) -> tuple[int, int, str] | None:
        """The estimate for the latest mid-year not after `year`, as (year, people, basis)."""
        rows = self._rows(
            "select year, people, basis from population where code = ? and year <= ? "
            "order by year desc limit 1", (code, year))
        if not rows:
            rows = self._rows("select year, people, basis from population where code = ? "
                              "order by year limit 1", (code,))
        return rows[0] if rows else None

    def edition(self, key: str) -> EditionRow | None:
        rows = self._rows("select key, title, dataset, period_end, published from editions "
                          "where key = ?", (key,))
        return EditionRow(*rows[0]) if rows else None

    def editions(self) -> list[EditionRow]:
        return [EditionRow(*r) for r in self._rows(
            "select key, title, dataset, period_end, published from editions "
            "order by period_end, key")]

    def offence_labels(self) -> dict[str, tuple[str, str | None]]:
        return {k: (label, parent) for k, label, parent in self._rows(
            "select key, label, parent from offences")}

    def latest_period(self) -> str | None:
        rows = self._rows("select max(period_end) from figures")
        return rows[0][0] if rows else None
