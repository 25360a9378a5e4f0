"""The SQLite store, opened read-only for serving.

Plain `sqlite3` rather than sqlite-utils here: the answer path must stay light and every query is a
handful of indexed look-ups. The store notices when `crimebot ingest` swaps a new file into place
and reopens it, so a running bot answers from the new edition without a restart.

A swapped-in file is checked deeply (schema version, every table the answers read, one real
query) before anything is answered from it, and each answer can pin one snapshot (connection and
generation) from start to end, so a swap in the middle of an answer or a chart never mixes two
stores or meets a closed connection.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import DEFAULT_DB as DEFAULT_DB  # re-exported: callers ask the store for it

# Store schemas this reader understands; must include the one bot.ingest writes (a test checks).
SCHEMA_VERSIONS = ("5",)
# The tables the answer engine and the charts read; a file without any of them is not servable.
EDITION_COLUMNS = ("key", "title", "dataset", "period_end", "published")
PROVENANCE_COLUMNS = ("released", "source_url", "fetched_at")
EXPECTED_TABLES = ("meta", "editions", "areas", "area_names", "figures", "offences",
                   "local_authorities", "population", "revisions", "notes", "breaks",
                   "sources", "labels", "place_names", "offence_phrases", "la_keys")
# An in-place overwrite (same file, new bytes) is loaded only once it has stopped changing.
IN_PLACE_SETTLE_S = 2.0

class StoreError(Exception):
    """The store is missing, empty or not a crimebot store; the message says what to do."""


@dataclass(frozen=True)
class AreaRow:
    code: str
    name: str
    kind: str
    force_code: str | None
    offered: bool


FIGURE_COLUMNS = "period_end, count, rate, rate_basis, edition, flag"


@dataclass(frozen=True)
class FigureRow:
    period_end: str
    count: int | None
    rate: float | None
    rate_basis: str | None
    edition: str
    flag: str | None


@dataclass(frozen=True)
class Break:
    """A point where ONS says a series is not comparable: figures ending before `starts` are
    never compared with figures from `starts` on (no change, record, "of the N years" or chart
    line across it). `area` None means every area the note covers."""

    area: str | None   # GSS code the break applies to
    offence: str       # offence key (as in the `offences` table)
    starts: str        # ISO date: period_end of the first 12-month period on the new basis
    reason: str        # one short clause from ONS's note
    edition: str       # key of the edition whose note says so


@dataclass(frozen=True)
class NoteRow:
    """A note as held, with what it does: kind is "undercount", "exclusion", "break",
    "method", "revision" or "" (see `bot.qualifications`)."""

    edition: str
    area: str | None
    offence: str | None
    period_from: str | None
    period_to: str | None
    text: str
    kind: str


@dataclass(frozen=True)
class SourceRow:
    """Where an edition printed a figure: file, sheet (empty for a CSV), cell, the row and column
    headings as printed, and for a total a reader added up, the cells it sums."""

    edition: str
    edition_title: str
    file: str
    page: str | None
    sheet: str
    cell: str | None
    row_label: str
    column_label: str
    cells: tuple[str, ...]


_SOURCE_SELECT = (
    "select s.edition, e.title, e.file, coalesce(e.source_url, e.page), s.sheet, s.cell, "
    "rl.label, cl.label, s.cells "
    "from sources s join editions e on e.key = s.edition "
    "left join labels rl on rl.id = s.row_label left join labels cl on cl.id = s.column_label ")


def _source(row: tuple) -> SourceRow:
    *head, cells = row
    return SourceRow(*head, tuple(cells.split(", ")) if cells else ())


@dataclass(frozen=True)
class EditionRow:
    key: str
    title: str
    dataset: str
    period_end: str
    published: str | None
    released: str | None = None
    source_url: str | None = None
    fetched_at: str | None = None


@dataclass(eq=False)
class Snapshot:
    """One opened store file: closed once it is retired and no answer holds it any more."""

    conn: sqlite3.Connection
    generation: int
    users: int = 0
    retired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    # offence key → parent, read once per file: an answer with notes needs the offence's family
    parents: dict[str, str | None] | None = None
    # offence key → its family (itself, what it belongs to, what belongs to it), as asked for
    families: dict[str, frozenset[str]] = field(default_factory=dict)
    editions: str = ""

    def hold(self) -> None:
        with self.lock:
            self.users += 1

    def release(self) -> None:
        with self.lock:
            self.users -= 1
            done = self.retired and self.users == 0
        if done:
            self.conn.close()

    def retire(self) -> None:
        with self.lock:
            self.retired = True
            done = self.users == 0
        if done:
            self.conn.close()


_pinned: ContextVar[dict[int, Snapshot] | None] = ContextVar("crimebot_store_pins", default=None)


def edition_columns(conn: sqlite3.Connection) -> str:
    """The select list for an `EditionRow`: a store built before editions recorded where they
    were fetched from reads as "not recorded" rather than failing every answer."""
    held = {row[1] for row in conn.execute("pragma table_info(editions)")}
    return ", ".join([*EDITION_COLUMNS, *(c if c in held else f"null as {c}"
                                          for c in PROVENANCE_COLUMNS)])


def check_store(conn: sqlite3.Connection, path: Path) -> None:
    """Raise StoreError unless `conn` is a crimebot store the answers can be read from.

    A file with only a `meta` table, an older schema or a table that cannot be queried would
    otherwise turn every later answer into "Sorry"; checking before the switch keeps the old one.
    """
    try:
        found = {name for (name,) in conn.execute(
            "select name from sqlite_master where type = 'table'")}
        missing = [name for name in EXPECTED_TABLES if name not in found]
        if missing:
            raise StoreError(f"{path} is not a complete crimebot store (missing tables: "
                             f"{', '.join(missing)}): rebuild it with `crimebot ingest`")
        row = conn.execute("select value from meta where key = 'schema'").fetchone()
        if row is None or row[0] not in SCHEMA_VERSIONS:
            raise StoreError(f"{path} has store schema {row[0] if row else None!r}, this "
                             f"version reads {', '.join(SCHEMA_VERSIONS)}: rebuild it with "
                             "`crimebot ingest`")
        conn.execute(
            "select f.period_end, f.count, f.flag, a.name, o.label from figures f join areas a on "
            "a.code = f.area join offences o on o.key = f.offence limit 1").fetchall()
    except sqlite3.DatabaseError as error:
        raise StoreError(f"{path} is not a crimebot store ({error}): rebuild it with "
                         "`crimebot ingest`") from error


class Store:
    """Read-only access to the figures; cheap to query, safe to share across one event loop.

    `in_memory` serves from a private copy of the file, so not even an in-place overwrite of the
    file (a `cp` over it) can change an answer that is being written; the bot uses it, the CLI
    does not need it.
    """

    def __init__(self, path: str | Path, *, in_memory: bool = False) -> None:
        self.path = Path(path)
        self.in_memory = in_memory
        self._lock = threading.Lock()
        self._current: Snapshot | None = None
        self._identity: tuple[int, int, int] | None = None
        self._changing: tuple[tuple[int, int, int], float] | None = None
        self._generation = 0
        self._install(self._load(self._stat_or_fail()))

    # --- opening and swapping -------------------------------------------------------------

    def _stat(self) -> tuple[int, int, int]:
        stat = self.path.stat()
        return (stat.st_ino, stat.st_mtime_ns, stat.st_size)

    def _stat_or_fail(self) -> tuple[int, int, int]:
        if not self.path.exists():
            raise StoreError(
                f"no store at {self.path}: build it with `crimebot ingest --source DIR` "
                "(or set CRIMEBOT_SOURCES)")
        identity = self._stat()
        if identity[2] == 0:
            raise StoreError(
                f"the store at {self.path} is empty: rebuild it with `crimebot ingest`")
        return identity

    def _load(self, identity: tuple[int, int, int]) -> tuple[sqlite3.Connection,
                                                             tuple[int, int, int]]:
        """Open (or copy) the file and check it deeply; the caller decides whether to switch."""
        try:
            conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True,
                                   check_same_thread=False)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"{self.path} is not a crimebot store ({error}): rebuild it with "
                             "`crimebot ingest`") from error
        try:
            check_store(conn, self.path)
            if self.in_memory:
                copy = sqlite3.connect(":memory:", check_same_thread=False)
                conn.backup(copy)
                conn.close()
                conn = copy
                check_store(conn, self.path)
        except (StoreError, sqlite3.DatabaseError) as error:
            conn.close()
            if isinstance(error, StoreError):
                raise
            raise StoreError(f"{self.path} could not be read ({error})") from error
        return conn, identity

    def _install(self, loaded: tuple[sqlite3.Connection, tuple[int, int, int]]) -> None:
        conn, identity = loaded
        self._generation += 1
        old, self._current = self._current, Snapshot(conn, self._generation,
                                                     editions=edition_columns(conn))
        self._identity = identity
        if old is not None:
            old.retire()

    def refresh(self, now: float | None = None) -> bool:
        """Switch to a new store file once it has passed the deep check; True when it did.

        A rename swap (what `crimebot ingest` does: a new inode) is checked and used at once.
        The same file changed in place may still be half written, so it is left alone until it
        has not changed for IN_PLACE_SETTLE_S; meanwhile, and whenever the check fails, the
        old snapshot keeps answering (from memory when `in_memory`, so the overwrite cannot
        reach it).
        """
        try:
            identity = self._stat()
        except OSError:
            return False
        if identity == self._identity:
            self._changing = None
            return False
        with self._lock:
            if identity == self._identity:
                return False
            assert self._identity is not None
            if identity[0] == self._identity[0]:
                clock = time.monotonic() if now is None else now
                if self._changing is None or self._changing[0] != identity:
                    self._changing = (identity, clock)
                    # Imported here, the one place the store logs: a fresh `crimebot ask` never
                    # gets here, and logging was a twentieth of its start.
                    import logging

                    logging.getLogger(__name__).warning(
                        "the store at %s was overwritten in place rather than swapped in by "
                        "rename; keeping generation %d until it stops changing", self.path,
                        self._generation)
                    return False
                if clock - self._changing[1] < IN_PLACE_SETTLE_S:
                    return False
            self._changing = None
            try:
                loaded = self._load(identity)
            except StoreError:
                self._identity = identity
                raise
            self._install(loaded)
        return True

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Snapshot]:
        """Pin the current snapshot for one answer or chart (worker threads started inside
        with `asyncio.to_thread` inherit the pin): every query sees the same store."""
        pins = _pinned.get() or {}
        if id(self) in pins:
            yield pins[id(self)]
            return
        current = self._current
        if current is None:
            raise StoreError("the store is closed")
        current.hold()
        token = _pinned.set({**pins, id(self): current})
        try:
            yield current
        finally:
            _pinned.reset(token)
            current.release()

    def _snap(self) -> Snapshot:
        pins = _pinned.get()
        if pins and id(self) in pins:
            return pins[id(self)]
        assert self._current is not None, "store is closed"
        return self._current

    @property
    def generation(self) -> int:
        """The generation of the pinned snapshot, else of the newest one."""
        pins = _pinned.get()
        if pins and id(self) in pins:
            return pins[id(self)].generation
        return self._generation

    @generation.setter
    def generation(self, value: int) -> None:
        self._generation = value

    def close(self) -> None:
        if self._current is not None:
            self._current.retire()
            self._current = None

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._snap().conn.execute(sql, params).fetchall()

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
            f"select {FIGURE_COLUMNS} from figures where area = ? and offence = ? "
            "order by period_end", (area, offence))]

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
        rows = self._rows(f"select {self._snap().editions} from editions where key = ?", (key,))
        return EditionRow(*rows[0]) if rows else None

    def editions(self) -> list[EditionRow]:
        return [EditionRow(*r) for r in self._rows(
            f"select {self._snap().editions} from editions order by period_end, key")]

    def newest_figures_edition(self) -> EditionRow | None:
        """The newest edition any figure is taken from: lookups and population estimates
        are not what ONS's quarterly crime calendar measures."""
        rows = self._rows(
            f"select {self._snap().editions} from editions e where exists (select 1 from "
            "figures f where f.edition = e.key) order by period_end desc, key desc limit 1")
        return EditionRow(*rows[0]) if rows else None

    def newest_edition(self) -> str | None:
        """The key `editions()[-1]` would give, in one row: the heartbeat asks on every beat."""
        rows = self._rows("select key from editions order by period_end desc, key desc limit 1")
        return rows[0][0] if rows else None

    def offence_labels(self) -> dict[str, tuple[str, str | None]]:
        return {k: (label, parent) for k, label, parent in self._rows(
            "select key, label, parent from offences")}

    # --- bounded reads for one answer (issue 9/12): a few rows each, never a whole series ---

    def figure(self, area: str, offence: str, period_end: str) -> FigureRow | None:
        """One figure with its flag ('derived', 'partial' or None)."""
        rows = self._rows(f"select {FIGURE_COLUMNS} from figures where area = ? and "
                          "offence = ? and period_end = ?", (area, offence, period_end))
        return FigureRow(*rows[0]) if rows else None

    def held_periods(self, area: str, offence: str) -> list[tuple[str, bool]]:
        """(period end, has a count) for every row held, oldest first: dates only, no figures."""
        return [(p, bool(c)) for p, c in self._rows(
            "select period_end, count is not null from figures where area = ? and offence = ? "
            "order by period_end", (area, offence))]

    def same_window(self, area: str, offence: str, period_end: str) -> list[FigureRow]:
        """The figures for the same 12-month window (years to the same month) up to a period:
        all a "highest since" needs. Partial totals are left out."""
        return [FigureRow(*r) for r in self._rows(
            f"select {FIGURE_COLUMNS} from figures where area = ? and offence = ? and "
            "period_end <= ? and substr(period_end, 6, 2) = ? and count is not null and "
            "coalesce(flag, '') != 'partial' order by period_end",
            (area, offence, period_end, period_end[5:7]))]

    def nearest_figure(self, area: str, offence: str, period_end: str) -> FigureRow | None:
        """The held figure closest in time to a period (the national figure to set a local one
        against when the exact period is not held); never a partial total."""
        rows = self._rows(
            f"select {FIGURE_COLUMNS} from figures where area = ? and offence = ? and "
            "count is not null and coalesce(flag, '') != 'partial' "
            "order by abs(julianday(period_end) - julianday(?)) limit 1",
            (area, offence, period_end))
        return FigureRow(*rows[0]) if rows else None

    def offence_table(self) -> dict[str, tuple[str, str | None, str]]:
        """key → (label, parent, level) for every offence the store holds."""
        return {k: (label, parent, level or "national") for k, label, parent, level in self._rows(
            "select key, label, parent, level from offences")}

    def meta(self, key: str) -> str | None:
        rows = self._rows("select value from meta where key = ?", (key,))
        return rows[0][0] if rows else None

    def stored_indexes(self) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, int]],
                                      list[tuple[str, int]]]:
        """The name indexes ingest built (see `bot.indexes`), each in the order it was written."""
        return (self._rows("select name, code, source from place_names order by rowid"),
                self._rows("select phrase, offence, label from offence_phrases order by rowid"),
                self._rows("select key, year from la_keys order by rowid"))

    def latest_period(self) -> str | None:
        """The newest period held, from `meta` (O(1)); older stores fall back to a scan."""
        try:
            rows = self._rows("select value from meta where key = 'latest_period'")
        except sqlite3.OperationalError:
            rows = []
        if not rows:
            rows = self._rows("select max(period_end) from figures")
        return rows[0][0] if rows else None

    # --- editions, revisions and notes (issue 10) -------------------------------------------

    def revisions(self, area: str, offence: str, period_end: str) -> list[tuple[str, int | None]]:
        """(edition key, count) in every edition that published the figure, oldest first.

        The `revisions` table holds figures published more than once; a figure published in one
        edition only is its `figures` row.
        """
        try:
            rows = self._rows(
                "select r.edition, r.count from revisions r join editions e on e.key = r.edition "
                "where r.area = ? and r.offence = ? and r.period_end = ? "
                "order by e.period_end, e.published, e.key", (area, offence, period_end))
        except sqlite3.OperationalError:
            rows = []
        if rows:
            return [(edition, count) for edition, count in rows]
        figure = self.figure(area, offence, period_end)
        if figure is None or figure.edition is None:
            return []
        return [(figure.edition, figure.count)]

    def source(self, area: str, offence: str, period_end: str, measure: str = "count"
               ) -> SourceRow | None:
        """Where the figure held (its count, or with measure "rate" its published rate) was
        printed. Not on the answer path: asked only when someone wants to check a number."""
        column = "rate_source" if measure == "rate" else "source"
        rows = self._rows(f"{_SOURCE_SELECT} where s.id = (select {column} from figures where "
                          "area = ? and offence = ? and period_end = ?)",
                          (area, offence, period_end))
        return _source(rows[0]) if rows else None

    def population_source(self, code: str, year: int) -> tuple[str, str, str | None] | None:
        """(file, sheet, cell) of the estimate held for a mid-year; a sum of local authority
        estimates has no cell of its own."""
        rows = self._rows("select e.file, p.sheet, p.cell from population p join editions e "
                          "on e.key = p.edition where p.code = ? and p.year = ?", (code, year))
        return rows[0] if rows else None

    def revision_sources(self, area: str, offence: str, period_end: str
                         ) -> list[tuple[int | None, SourceRow]]:
        """(count, where printed) in every edition that published the figure, oldest first."""
        rows = self._rows(
            "select r.count, s.edition, e.title, e.file, coalesce(e.source_url, e.page), s.sheet, "
            "s.cell, rl.label, "
            "cl.label, s.cells from revisions r join sources s on s.id = r.source "
            "join editions e on e.key = s.edition left join labels rl on rl.id = s.row_label "
            "left join labels cl on cl.id = s.column_label where r.area = ? and r.offence = ? "
            "and r.period_end = ? order by e.period_end, e.published, e.key",
            (area, offence, period_end))
        if rows:
            return [(row[0], _source(row[1:])) for row in rows]
        figure = self.figure(area, offence, period_end)
        held = self.source(area, offence, period_end)
        return [(figure.count, held)] if figure is not None and held is not None else []

    def labelled(self, area: str, offence: str, period_end: str | None = None) -> list[dict]:
        """Rows of the `figures_labelled` view (every code spelled out, with provenance) for one
        area and offence, oldest first; one period only when `period_end` is given."""
        snap = self._snap()
        cursor = snap.conn.execute(
            "select * from figures_labelled where area_code = ? and offence_key = ? "
            "and (? is null or period_end = ?) order by period_end",
            (area, offence, period_end, period_end))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def notes_for(self, area: str, offence: str, period_end: str,
                  edition: str | None = None) -> list[str]:
        """The files' own notes that qualify this figure, oldest edition first (see
        `qualifications`)."""
        return list(dict.fromkeys(n.text for n in self.qualifications(area, offence,
                                                                       period_end, edition)))

    def qualifications(self, area: str, offence: str, period_end: str,
                       edition: str | None = None) -> list[NoteRow]:
        """The notes that qualify this figure, with their kind, oldest edition first.

        A note applies when it names this area or its force (or names no area), names this
        offence, one it belongs to or one inside it (a burglary undercount is also an undercount
        of theft and of all crime), its periods include `period_end`, and, given the figure's
        `edition`, it is that edition's note: a note never qualifies a figure from an edition
        that does not carry it (June 2025 fixed Leicestershire's undercount).
        """
        rows = self._rows(
            "select n.edition, n.area, n.offence, n.period_from, n.period_to, n.text, "
            "coalesce(n.kind, '') from notes n left join editions e "
            "on e.key = n.edition where (n.area is null or n.area = ? or n.area = "
            "(select force_code from areas where code = ?)) "
            "and (n.period_from is null or n.period_from <= ?) "
            "and (n.period_to is null or n.period_to >= ?) and (? is null or n.edition = ?) "
            "order by e.period_end, n.rowid", (area, area, period_end, period_end, edition,
                                               edition))
        if not rows:
            return []
        family = self._offence_family(offence)
        return [NoteRow(*row) for row in rows if row[2] is None or row[2] in family]

    def undercounts(self, area: str, offence: str) -> list[NoteRow]:
        """Every note calling a figure of this area (or its force) and offence family an
        undercount, whatever its periods and edition, oldest edition first: one read serves
        every figure of a series (`bot.facts` filters by period and edition)."""
        rows = self._rows(
            "select n.edition, n.area, n.offence, n.period_from, n.period_to, n.text, n.kind "
            "from notes n left join editions e on e.key = n.edition where n.kind = 'undercount' "
            "and (n.area is null or n.area = ? or n.area = "
            "(select force_code from areas where code = ?)) order by e.period_end, n.rowid",
            (area, area))
        if not rows:
            return []
        family = self._offence_family(offence)
        return [NoteRow(*row) for row in rows if row[2] is None or row[2] in family]

    def breaks(self, area: str, offence: str) -> list[Break]:
        """The breaks that split this area's series of this offence, oldest first (a break
        stated for a force also splits its local areas' series)."""
        return [Break(*row) for row in self._rows(
            "select area, offence, starts, reason, edition from breaks where offence = ? and "
            "(area is null or area = ? or area = (select force_code from areas where code = ?))"
            " order by starts, area", (offence, area, area))]

    def method_notes(self, offence: str) -> list[str]:
        """What the newest edition that changed this offence's method says about it."""
        return [text for (text,) in self._rows(
            "select n.text from notes n join editions e on e.key = n.edition "
            "where n.kind = 'method' and n.offence = ? order by e.period_end desc", (offence,))]

    def all_notes(self) -> tuple[list[NoteRow], list[Break]]:
        """Every note and break held, for `crimebot notes`."""
        notes = [NoteRow(*row) for row in self._rows(
            "select n.edition, n.area, n.offence, n.period_from, n.period_to, n.text, "
            "coalesce(n.kind, '') from notes n left join editions e on e.key = n.edition "
            "order by e.period_end, n.rowid")]
        breaks = [Break(*row) for row in self._rows(
            "select area, offence, starts, reason, edition from breaks "
            "order by offence, area, starts")]
        return notes, breaks

    def _offence_family(self, offence: str) -> frozenset[str]:
        """The offence, every offence it belongs to and every one inside it: computed once per
        offence and store file, since a note's reach was most of a warm answer's Python."""
        snapshot = self._snap()
        found = snapshot.families.get(offence)
        if found is None:
            found = snapshot.families[offence] = frozenset(self._family(snapshot, offence))
        return found

    def _family(self, snapshot: Snapshot, offence: str) -> set[str]:
        if snapshot.parents is None:
            snapshot.parents = {key: parent for key, parent in self._rows(
                "select key, parent from offences")}
        parents = snapshot.parents
        family = {offence}
        node = parents.get(offence)
        while node and node not in family:
            family.add(node)
            node = parents.get(node)
        frontier = {offence}
        while frontier:
            frontier = {k for k, p in parents.items() if p in frontier} - family
            family |= frontier
        return family
