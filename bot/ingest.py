"""Files → store: read every source file, reconcile areas across editions, write SQLite atomically.

The store is what reporters' numbers rest on, so this module is strict where the files are
sloppy: a code printed against the wrong place is filed by the place, not merged; a missing marker
stays NULL; a newer edition replaces an older one and the figure remembers which edition it came
from. The store is built in a temporary file and swapped in only when every file loaded.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from bot.config import LOOKUP_URL, ONS_BASE
from bot.offences import CATALOGUE
from bot.places import KIND_BY_PREFIX, NATIONAL_NAME, name_key
from bot.qualifications import breaks_in, kind_of, method_changes
from bot.readers import read_file, why_unread
from bot.readers.common import (
    Edition,
    FileContents,
    LookupRow,
    Observation,
    UnreadableFile,
    plain_name,
    slug,
)
from bot.sources import DATASETS, Provenance, shipped_provenance

LA_CODE = re.compile(r"^(E06|E07|E08|E09|W06)\d{6}$")
GSS_CODE = re.compile(r"^[EWKNS]\d{8}$")

SCHEMA_VERSION = "4"


class IngestError(Exception):
    """A build that must not replace the store; the message is for the person at the terminal."""


@dataclass
class Area:
    code: str
    name: str
    kind: str
    force_code: str | None
    offered: bool
    former_names: set[str] = field(default_factory=set)
    note: str | None = None


@dataclass
class Report:
    """What a build did, for the one-screen summary."""

    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    skipped_why: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    periods: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    areas_by_kind: dict[str, int] = field(default_factory=dict)
    editions: list[tuple[str, str]] = field(default_factory=list)
    seconds: float = 0.0


def edition_rank(edition: Edition) -> tuple[str, str, str]:
    """Newer editions win: by the period they cover, then publication date, then key."""
    return (edition.period_end, edition.published or "", edition.key)


# --- reconciling areas ---------------------------------------------------------------------


class Geography:
    """What the lookups say, used to decide whether a printed CSP code really names that place."""

    def __init__(self, lookups: Iterable[LookupRow]) -> None:
        self.rows = list(lookups)
        self.names: dict[str, set[str]] = defaultdict(set)
        self.las_of_csp: dict[tuple[int, str], set[str]] = defaultdict(set)
        self.csps_of_la: dict[tuple[int, str], set[str]] = defaultdict(set)
        self.forces: dict[str, str] = {}
        for row in self.rows:
            self.names[row.csp_code].add(name_key(row.csp_name))
            self.las_of_csp[row.year, row.csp_code].add(row.la_code)
            self.csps_of_la[row.year, row.la_code].add(row.csp_code)
            self.forces.setdefault(name_key(row.force_name), row.force_code)
        self.years = sorted({row.year for row in self.rows})

    def same_place(self, code: str, name: str, la_code: str) -> bool:
        """True when the printed code belongs to the printed place (allowing a renamed CSP).

        A rename (Shepway → Folkestone and Hythe) keeps its single local authority; a reused
        code (Stroud's code printed for West Northamptonshire) does not.
        """
        if code not in self.names or name_key(name) in self.names[code]:
            return True
        return any(
            self.las_of_csp.get((year, code)) == {la_code}
            and self.csps_of_la.get((year, la_code)) == {code}
            for year in self.years
        )


class Areas:
    """Turns each observation's printed area into one stable area code."""

    def __init__(self, geography: Geography, observations: list[tuple[Edition, Observation]]):
        self.geography = geography
        self.areas: dict[str, Area] = {}
        self.notes: list[str] = []
        self.force_by_name: dict[str, str] = dict(geography.forces)
        for _, obs in observations:
            if obs.force_code[:3] in {"E23", "W15"} and obs.force_name:
                self.force_by_name.setdefault(name_key(obs.force_name), obs.force_code)
        self._seen_conflicts: set[tuple[str, str]] = set()

    def force_code(self, name: str) -> str | None:
        return self.force_by_name.get(name_key(name)) or self.force_by_name.get(
            name_key(re.sub(r"\bpolice\b", "", name, flags=re.I)))

    def _add(self, code: str, name: str, kind: str, force: str | None, *, offered: bool = True,
             newer: bool = True, note: str | None = None) -> str:
        area = self.areas.get(code)
        if area is None:
            self.areas[code] = Area(code, name, kind, force, offered, note=note)
        elif name_key(area.name) != name_key(name):
            if newer:
                area.former_names.add(area.name)
                area.name = name
            else:
                area.former_names.add(name)
        return code

    def resolve(self, obs: Observation, newer: bool, where: str) -> str:
        if obs.level == "csp":
            return self._csp(obs, newer, where)
        code = obs.code
        if not code:
            forced = self.force_code(obs.name)
            if forced:
                code = forced
            else:
                code = f"x-{slug(obs.name)}"
                offered = "british transport" in obs.name.lower()
                return self._add(code, obs.name, "other", None, offered=offered, newer=newer)
        kind = KIND_BY_PREFIX.get(code[:3], "other")
        name = NATIONAL_NAME if kind == "england_and_wales" else obs.name
        if kind == "country":
            name = name.title()
        return self._add(code, name, kind, code if kind == "pfa" else None, newer=newer)

    def _csp(self, obs: Observation, newer: bool, where: str) -> str:
        force = obs.force_code or self.force_code(obs.force_name)
        if obs.name.lower().startswith("unassigned"):
            owner = obs.name[len("unassigned"):].strip()
            force = self.force_code(owner) or force
            return self._add(f"unassigned-{force or slug(owner)}", f"Unassigned ({owner})",
                             "unassigned", force, offered=False, newer=newer)
        if not obs.code:
            return self._add(f"x-{slug(obs.name)}", obs.name, "other", force, newer=newer)
        if GSS_CODE.match(obs.code) and self.geography.same_place(obs.code, obs.name, obs.la_code):
            return self._add(obs.code, obs.name, "csp", force, newer=newer)
        if LA_CODE.match(obs.la_code):
            code = obs.la_code
            whose = ("which the lookups give to another place" if GSS_CODE.match(obs.code)
                     else "which is not an area code")
            why = (f"{where}: {obs.name} is printed with CSP code {obs.code!r}, {whose}; "
                   f"filed under its local authority code {code}")
        else:
            code = f"{obs.code}-{slug(obs.name)}"
            why = f"{where}: {obs.name} is printed with code {obs.code!r}; filed as {code}"
        if (obs.code, obs.name) not in self._seen_conflicts:
            self._seen_conflicts.add((obs.code, obs.name))
            self.notes.append(why)
        return self._add(code, obs.name, "csp", force, newer=newer,
                         note=f"ONS printed the code {obs.code!r} for this area")


# --- building -------------------------------------------------------------------------------


def source_files(sources: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files += sorted(p for p in source.iterdir()
                            if p.is_file() and not p.name.startswith("."))
        elif source.is_file():
            files.append(source)
        else:
            raise IngestError(f"{source}: no such file or directory")
    return files


def read_all(
    files: list[Path], progress: Callable[[int, int, str], None]
) -> tuple[list[FileContents], list[str]]:
    contents: list[FileContents] = []
    skipped: list[str] = []
    for index, path in enumerate(files, start=1):
        progress(index, len(files), path.name)
        try:
            found = read_file(path)
        except UnreadableFile as error:
            raise IngestError(str(error)) from error
        except (OSError, ValueError, KeyError, IndexError) as error:
            raise IngestError(
                f"{path.name}: could not be read ({type(error).__name__}: {error})") from error
        if found is None:
            skipped.append(path.name)
        else:
            contents.append(found)
    return contents, skipped


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a build runs.

    A build makes a few hundred thousand small records that live until it ends and form no
    cycles; the collector rescanning them took a third of the build (1.4 s of 4.3 s measured).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def build(sources: Iterable[Path], db_path: Path, *, progress: bool = False,
          provenance: Mapping[str, Provenance] | None = None) -> Report:
    """Build the store from source files and swap it in atomically; raise IngestError on failure.

    `provenance` (by SHA-256, from the fetch archive) says when and from where each file was
    fetched; files that are byte-for-byte the shipped ones get their SOURCES.md page and date.
    """
    with collector_paused():
        return _build(sources, db_path, progress=progress, provenance=provenance)


def _build(sources: Iterable[Path], db_path: Path, *, progress: bool,
           provenance: Mapping[str, Provenance] | None) -> Report:
    started = time.perf_counter()
    files = source_files(sources)
    if not files:
        raise IngestError("no source files found")
    contents, skipped = read_all(files, _progress_bar if progress else _quiet)
    if not any(c.observations for c in contents):
        raise IngestError("none of the source files holds police recorded crime figures")
    db_path.parent.mkdir(parents=True, exist_ok=True)
    for stale in db_path.parent.glob(f".{db_path.name}.building-*"):
        with contextlib.suppress(OSError):
            stale.unlink()
    handle, temp_name = tempfile.mkstemp(prefix=f".{db_path.name}.building-", dir=db_path.parent)
    os.close(handle)
    temp = Path(temp_name)
    try:
        report = write_store(contents, temp, shipped_provenance() | dict(provenance or {}))
        os.chmod(temp, 0o644)
        with open(temp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(temp, db_path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    report.files = [c.edition.file for c in contents]
    report.skipped = skipped
    report.skipped_why = {name: why_unread(Path(name)) for name in skipped}
    report.seconds = time.perf_counter() - started
    return report


def _quiet(index: int, total: int, name: str) -> None:
    return None


def _progress_bar(index: int, total: int, name: str) -> None:
    width = 30
    filled = width * index // total
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {index}/{total} {name[:40]:<40}")
    if index == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


@dataclass
class Held:
    """What the build keeps for one (area, offence, period): the winning values and every
    edition's published count."""

    count: tuple[tuple[str, str, str], int | None, str, str | None, Observation] | None = None
    rate: tuple[tuple[str, str, str], float, str, str, Observation] | None = None
    derived: tuple[int, str, Observation] | None = None
    editions: dict[str, tuple[tuple[str, str, str], int | None, Observation]] = field(
        default_factory=dict)


def collect(contents: list[FileContents], areas: Areas, report: Report
            ) -> dict[tuple[str, str, str], Held]:
    """Newest edition wins; a published count always beats a derived one; rates ride along."""
    held: dict[tuple[str, str, str], Held] = {}
    for content in contents:
        edition = content.edition
        rank = edition_rank(edition)
        where = edition.file
        resolved: dict[tuple[str, ...], str] = {}
        for obs in content.observations:
            place = (obs.level, obs.code, obs.name, obs.force_code, obs.force_name, obs.la_code)
            code = resolved.get(place)
            if code is None:
                code = resolved[place] = areas.resolve(obs, newer=True, where=where)
            key = (code, obs.offence, obs.period_end)
            entry = held.get(key)
            if entry is None:
                entry = held[key] = Held()
            if obs.rate is not None:
                if entry.rate is None or entry.rate[0] <= rank:
                    entry.rate = (rank, obs.rate, obs.rate_basis or "ONS published rate",
                                  edition.key, obs)
                continue
            if obs.rate_basis is not None:
                continue
            if obs.flag == "derived":
                entry.derived = ((obs.count, edition.key, obs) if obs.count is not None
                                 else None)
                continue
            entry.editions.setdefault(edition.key, (rank, obs.count, obs))
            current = entry.count
            if current is not None and current[0] == rank and current[1] != obs.count:
                report.notes.append(f"{where}: two different {obs.offence} figures for "
                                    f"{obs.name} ({obs.period_end}); kept the first")
                continue
            if current is None or current[0] < rank:
                entry.count = (rank, obs.count, edition.key, obs.flag, obs)
    return held


SCHEMA: dict[str, tuple[dict[str, str], tuple[str, ...]]] = {
    "meta": ({"key": "TEXT", "value": "TEXT"}, ("key",)),
    "editions": ({"key": "TEXT", "title": "TEXT", "dataset": "TEXT", "period_end": "TEXT",
                  "published": "TEXT", "file": "TEXT", "sha256": "TEXT", "page": "TEXT",
                  "released": "TEXT", "source_url": "TEXT", "fetched_at": "TEXT"}, ("key",)),
    "areas": ({"code": "TEXT", "name": "TEXT", "kind": "TEXT", "force_code": "TEXT",
               "offered": "INTEGER", "note": "TEXT"}, ("code",)),
    "area_names": ({"name": "TEXT", "code": "TEXT", "source": "TEXT"}, ("name", "code")),
    "ingest_notes": ({"note": "TEXT"}, ()),
    "offences": ({"key": "TEXT", "label": "TEXT", "parent": "TEXT", "level": "TEXT",
                  "ons_code": "TEXT"}, ("key",)),
    # Row and column headings as printed, each stored once (a heading labels many cells).
    "labels": ({"id": "INTEGER", "label": "TEXT"}, ("id",)),
    # Where an edition printed a figure: the cell a reporter opens to check it, or for a total
    # a reader added up, the cells it sums.
    "sources": ({"id": "INTEGER", "edition": "TEXT", "sheet": "TEXT", "cell": "TEXT",
                 "row_label": "INTEGER", "column_label": "INTEGER", "cells": "TEXT"}, ("id",)),
    "figures": ({"area": "TEXT", "offence": "TEXT", "period_end": "TEXT", "count": "INTEGER",
                 "edition": "TEXT", "rate": "FLOAT", "rate_basis": "TEXT",
                 "rate_edition": "TEXT", "flag": "TEXT", "source": "INTEGER",
                 "rate_source": "INTEGER"}, ("area", "offence", "period_end")),
    "revisions": ({"area": "TEXT", "offence": "TEXT", "period_end": "TEXT", "edition": "TEXT",
                   "count": "INTEGER", "source": "INTEGER"},
                  ("area", "offence", "period_end", "edition")),
    "notes": ({"edition": "TEXT", "area": "TEXT", "offence": "TEXT", "period_from": "TEXT",
               "period_to": "TEXT", "text": "TEXT", "kind": "TEXT"}, ()),
    "breaks": ({"area": "TEXT", "offence": "TEXT", "starts": "TEXT", "reason": "TEXT",
                "edition": "TEXT"}, ()),
    "local_authorities": ({"code": "TEXT", "name": "TEXT", "csp_code": "TEXT",
                           "force_code": "TEXT", "year": "INTEGER"},
                          ("code", "csp_code", "year")),
    "population": ({"code": "TEXT", "year": "INTEGER", "people": "INTEGER", "basis": "TEXT",
                    "edition": "TEXT", "sheet": "TEXT", "cell": "TEXT"}, ("code", "year")),
}
# Figures point at their area, offence and edition, so sqlite-utils and Datasette can follow
# (and label) them; codes from the lookups and population files are not all areas, so no keys.
_FIGURE_KEYS = (("area", "areas", "code"), ("offence", "offences", "key"),
                ("edition", "editions", "key"))
FOREIGN_KEYS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "area_names": (("code", "areas", "code"),),
    "sources": (("edition", "editions", "key"), ("row_label", "labels", "id"),
                ("column_label", "labels", "id")),
    "figures": (*_FIGURE_KEYS, ("rate_edition", "editions", "key"), ("source", "sources", "id"),
                ("rate_source", "sources", "id")),
    "revisions": (*_FIGURE_KEYS, ("source", "sources", "id")),
    "notes": (("edition", "editions", "key"), ("area", "areas", "code")),
    "population": (("edition", "editions", "key"),),
}
# The big keyed tables are stored in key order (no separate rowid b-tree).
WITHOUT_ROWID = frozenset({"figures", "revisions"})
INDEXES = (("figures", ("offence", "period_end")), ("figures", ("edition",)),
           ("areas", ("kind",)), ("local_authorities", ("name",)), ("notes", ("area",)))
# One row per figure with every code spelled out, for `sqlite-utils`, Datasette and exports.
FIGURES_LABELLED = """
select f.area as area_code, a.name as area, a.kind as area_kind, force.name as force,
       f.offence as offence_key, o.label as offence, f.period_end, f.count, f.rate,
       f.rate_basis, f.flag, e.title as edition, e.file, s.sheet, s.cell,
       rl.label as row_label, cl.label as column_label, s.cells, re.file as rate_file,
       r.sheet as rate_sheet, r.cell as rate_cell, e.page
from figures f
join areas a on a.code = f.area
left join areas force on force.code = a.force_code
join offences o on o.key = f.offence
join editions e on e.key = f.edition
left join sources s on s.id = f.source
left join labels rl on rl.id = s.row_label
left join labels cl on cl.id = s.column_label
left join sources r on r.id = f.rate_source
left join editions re on re.key = r.edition
"""


def _insert(conn: sqlite3.Connection, table: str, rows: Iterable[tuple | dict]) -> None:
    """Plain executemany: the store is a few tables of plain rows, no library needed."""
    columns = list(SCHEMA[table][0])
    marks = ", ".join("?" for _ in columns)
    conn.executemany(
        f"insert into [{table}] values ({marks})",
        ((tuple(r[c] for c in columns) if isinstance(r, dict) else r) for r in rows))


def _provenance_row(known: Provenance | None) -> tuple[str | None, str | None, str | None]:
    return (known.released, known.url, known.fetched_at) if known else (None, None, None)


def write_store(contents: list[FileContents], path: Path,
                provenance: Mapping[str, Provenance] | None = None) -> Report:
    provenance = provenance or {}
    contents = sorted(contents, key=lambda c: edition_rank(c.edition))
    geography = Geography(row for c in contents for row in c.lookups)
    observations = [(c.edition, o) for c in contents for o in c.observations]
    areas = Areas(geography, observations)
    report = Report()
    held = collect(contents, areas, report)
    held = {key: held[key] for key in sorted(held)}
    report.notes = areas.notes + report.notes

    conn = sqlite3.connect(path)
    # A fresh temporary file swapped in only when complete: no journal or fsync is needed
    # while it is written, and rows go in already sorted, so the file needs no VACUUM.
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-131072")
    db = sqlite_utils.Database(conn)
    with conn:
        _create_tables(db)
        latest = max((k[2] for k, h in held.items() if h.count or h.rate or h.derived),
                     default="")
        _insert(conn, "meta", [("latest_period", latest), ("schema", SCHEMA_VERSION)])
        _insert(conn, "editions", (
            # An edition's name is printed on every surface: ONS's "[note n]" markers never are.
            (c.edition.key, plain_name(c.edition.title), c.edition.dataset, c.edition.period_end,
             c.edition.published, c.edition.file, c.edition.sha256, page_of(c.edition),
             *_provenance_row(provenance.get(c.edition.sha256))) for c in contents))
        ordered = sorted(areas.areas.values(), key=lambda a: a.code)
        _insert(conn, "areas", ((a.code, a.name, a.kind, a.force_code, int(a.offered), a.note)
                                for a in ordered))
        _insert(conn, "area_names", ((name, a.code, "former name") for a in ordered
                                     for name in sorted(a.former_names)))
        _write_offences(conn, contents)
        sources = Sources()
        _insert(conn, "figures", _figure_rows(held, sources))
        _insert(conn, "revisions", _revision_rows(held, sources))
        _insert(conn, "sources", sources.rows)
        _insert(conn, "labels", ((number, label) for label, number in sources.labels.items()))
        _insert(conn, "notes", _note_rows(contents, areas))
        write_qualifications(conn, contents, areas)
        _write_geography(conn, geography, areas, contents)
        for table, columns in INDEXES:
            db[table].create_index(columns, index_name=f"idx_{table}_{'_'.join(columns)}")
        db.create_view("figures_labelled", FIGURES_LABELLED)
        _insert(conn, "ingest_notes", ((n,) for n in report.notes))
    _fill_report(conn, report)
    conn.close()
    return report


def _create_tables(db: sqlite_utils.Database) -> None:
    """Every table from SCHEMA, with its keys, in the SQL sqlite-utils writes for it."""
    for table, (columns, pk) in SCHEMA.items():
        sql = db.create_table_sql(table, columns, pk=pk or None,
                                  foreign_keys=FOREIGN_KEYS.get(table, ()))
        if table in WITHOUT_ROWID:
            sql = sql.rstrip().rstrip(";").rstrip() + " WITHOUT ROWID"
        db.execute(sql)


def page_of(edition: Edition) -> str | None:
    """Where an edition is published: its dataset's ONS page (the lookup's download)."""
    for prefix, dataset in (("pfa-series-", "pfa-series"), ("pfa-", "pfa"), ("csp-", "csp"),
                            ("appendix-", "appendix"), ("population-", "population")):
        if edition.key.startswith(prefix):
            return ONS_BASE + DATASETS[dataset]
    return LOOKUP_URL if edition.key.startswith("lookup-") else None


@dataclass
class Sources:
    """The `sources` rows the figures and revisions point at, numbered as they are cited."""

    rows: list[tuple] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)
    _cited: dict[int, int] = field(default_factory=dict)

    def cite(self, edition: str, obs: Observation) -> int:
        number = self._cited.get(id(obs))
        if number is None:
            number = self._cited[id(obs)] = len(self.rows) + 1
            self.rows.append((number, edition, obs.sheet, obs.cell or None,
                              self.labels.setdefault(obs.row_label, len(self.labels) + 1),
                              self.labels.setdefault(obs.column_label, len(self.labels) + 1),
                              ", ".join(obs.cells) or None))
        return number


def _figure_rows(held: dict[tuple[str, str, str], Held], sources: Sources) -> Iterable[tuple]:
    for key in held:
        entry = held[key]
        area, offence, period_end = key
        rate = entry.rate
        source = None
        if entry.count is not None:
            count, edition, flag = entry.count[1], entry.count[2], entry.count[3]
            source = sources.cite(edition, entry.count[4])
        elif entry.derived is not None:
            count, edition, flag = entry.derived[0], entry.derived[1], "derived"
            source = sources.cite(edition, entry.derived[2])
        elif rate is not None:
            count, edition, flag = None, rate[3], None
        else:
            continue
        yield (area, offence, period_end, count, edition,
               rate[1] if rate else None, rate[2] if rate else None, rate[3] if rate else None,
               flag, source, sources.cite(rate[3], rate[4]) if rate else None)


def _revision_rows(held: dict[tuple[str, str, str], Held], sources: Sources
                   ) -> Iterable[tuple]:
    """Every edition's count wherever more than one edition published the figure."""
    for key in held:
        editions = held[key].editions
        if len(editions) < 2:
            continue
        for edition, (_, count, obs) in sorted(editions.items(), key=lambda item: item[1][0]):
            yield (*key, edition, count, sources.cite(edition, obs))


def _note_rows(contents: list[FileContents], areas: Areas) -> Iterable[tuple]:
    seen: set[tuple] = set()
    for content in contents:
        for note in content.notes:
            area = note.area_code or (areas.force_code(note.area_name) if note.area_name
                                      else None)
            row = (content.edition.key, area or None, note.offence, note.period_from,
                   note.period_to, note.text, kind_of(note.text))
            if row not in seen:
                seen.add(row)
                yield row


def write_qualifications(conn: sqlite3.Connection, contents: list[FileContents],
                         areas: Areas) -> None:
    """The breaks ONS's notes state, and the figures a newer edition's method change leaves on
    the old method (flag 'old_method'), read by `bot.qualifications` from the notes as printed.

    `contents` is oldest edition first: where two editions state the same break, the newest
    one's wording is kept. A method change marks every older edition's figure of that offence
    that the newer edition did not replace, except in the areas the note says did not move.
    """
    places = {area.name: area.code for area in areas.areas.values()
              if area.kind == "pfa" or "police" in area.name.lower()}
    breaks: dict[tuple[str | None, str, str], tuple] = {}
    methods: list[tuple] = []
    for content in contents:
        edition = content.edition.key
        for row in breaks_in(edition, content.note_texts, content.markers,
                             content.table_offences, places):
            breaks[row.area, row.offence, row.starts] = (row.area, row.offence, row.starts,
                                                         row.reason, row.edition)
        for change in method_changes(edition, content.note_texts, content.table_offences,
                                     places):
            methods.append((edition, None, change.offence, None, None, change.reason,
                            "method"))
            older = [c.edition.key for c in contents
                     if edition_rank(c.edition) < edition_rank(content.edition)]
            conn.execute(
                f"update figures set flag = 'old_method' where offence = ? and flag is null "
                f"and edition in ({', '.join('?' for _ in older)}) "
                f"and area not in ({', '.join('?' for _ in change.exempt)})",
                (change.offence, *older, *change.exempt))
    _insert(conn, "breaks", (breaks[key] for key in sorted(breaks, key=str)))
    _insert(conn, "notes", methods)


def _write_offences(conn: sqlite3.Connection, contents: list[FileContents]) -> None:
    rows = {o.key: {"key": o.key, "label": o.label, "parent": o.parent, "level": o.level,
                    "ons_code": None} for o in CATALOGUE}
    for content in contents:
        for extra in content.offences:
            row = rows.setdefault(extra.key, {"key": extra.key, "label": extra.label,
                                              "parent": None, "level": "national",
                                              "ons_code": extra.ons_code})
            if row["parent"] is None and extra.parent:
                row["parent"] = extra.parent
    _insert(conn, "offences", sorted(rows.values(), key=lambda r: r["key"]))


def _write_geography(conn: sqlite3.Connection, geography: Geography, areas: Areas,
                     contents: list[FileContents]) -> None:
    """Local authorities → CSP, and populations for every area we can add up honestly.

    A CSP gets a population only when each of its local authorities lies wholly inside it in the
    latest lookup; a force gets the sum of its local authorities. Areas filed under their local
    authority code take that authority's population directly.
    """
    las: dict[tuple[str, str, int], dict] = {}
    for row in geography.rows:
        las[row.la_code, row.csp_code, row.year] = {
            "code": row.la_code, "name": row.la_name, "csp_code": row.csp_code,
            "force_code": row.force_code, "year": row.year}
    for code, area in areas.areas.items():
        if LA_CODE.match(code):
            las[code, code, 9999] = {"code": code, "name": area.name, "csp_code": code,
                                     "force_code": area.force_code, "year": 9999}
    _insert(conn, "local_authorities", (las[k] for k in sorted(las)))

    people: dict[tuple[str, int], tuple[tuple[str, str, str], int, str, str, str]] = {}
    names: dict[str, str] = {}
    for content in contents:
        rank = edition_rank(content.edition)
        for pop in content.populations:
            names.setdefault(pop.code, pop.name)
            held = people.get((pop.code, pop.year))
            if held is None or held[0] <= rank:
                people[pop.code, pop.year] = (rank, pop.people, content.edition.key,
                                              pop.sheet, pop.cell)
    rows = [{"code": code, "year": year, "people": value, "basis": "ONS estimate",
             "edition": edition, "sheet": sheet, "cell": cell or None}
            for (code, year), (_, value, edition, sheet, cell) in people.items()]
    latest = geography.years[-1] if geography.years else None
    years = sorted({year for _, year in people})
    if latest is not None:
        members: dict[str, set[str]] = defaultdict(set)
        force_members: dict[str, set[str]] = defaultdict(set)
        for row in geography.rows:
            if row.year != latest:
                continue
            members[row.csp_code].add(row.la_code)
            force_members[row.force_code].add(row.la_code)
        whole = {csp: las_ for csp, las_ in members.items()
                 if all(geography.csps_of_la[latest, la] == {csp} for la in las_)}
        for group, basis in ((whole, "sum of local authority estimates"),
                             (force_members, "sum of local authority estimates")):
            for code, las_ in group.items():
                if code not in areas.areas:
                    continue
                for year in years:
                    values = [people.get((la, year)) for la in sorted(las_)]
                    if all(values) and (code, year) not in people:
                        rows.append({"code": code, "year": year,
                                     "people": sum(v[1] for v in values if v),
                                     "basis": basis, "edition": values[0][2] if values[0] else "",
                                     **summed_cells([v for v in values if v])})
    _insert(conn, "population", sorted(rows, key=lambda r: (r["code"], r["year"])))


def summed_cells(values: list[tuple[tuple[str, str, str], int, str, str, str]]) -> dict:
    """The sheet and cells a summed population adds up, when one edition printed them all."""
    if len({(edition, sheet) for _, _, edition, sheet, _ in values}) != 1:
        return {"sheet": None, "cell": None}
    return {"sheet": values[0][3], "cell": ", ".join(cell for *_, cell in values)}


def _fill_report(conn: sqlite3.Connection, report: Report) -> None:
    report.areas_by_kind = dict(conn.execute(
        "select kind, count(*) from areas group by kind order by kind").fetchall())
    report.counts = {
        "figures": conn.execute("select count(*) from figures").fetchone()[0],
        "figures_missing": conn.execute(
            "select count(*) from figures where count is null").fetchone()[0],
        "offences": conn.execute("select count(*) from offences").fetchone()[0],
        "local_authorities": conn.execute(
            "select count(distinct code) from local_authorities").fetchone()[0],
    }
    for kind, first, last, n in conn.execute(
        "select a.kind, min(f.period_end), max(f.period_end), count(distinct f.period_end) "
        "from figures f join areas a on a.code = f.area group by a.kind order by a.kind"
    ):
        report.periods[kind] = (first, last, n)
    report.editions = conn.execute(
        "select key, title from editions order by period_end, key").fetchall()


def summary(report: Report, db_path: Path) -> str:
    """The one-screen summary printed after a build."""
    lines = [f"Built {db_path} from {len(report.files)} files in {report.seconds:.1f} s."]
    kinds = ", ".join(f"{n} {kind}" for kind, n in report.areas_by_kind.items())
    lines.append(f"Areas: {kinds}; {report.counts['local_authorities']} local authorities.")
    lines.append(f"Offences: {report.counts['offences']}.  Figures: {report.counts['figures']:,} "
                 f"({report.counts['figures_missing']:,} not available as published).")
    lines.append("Periods (12 months ending):")
    for kind, (first, last, n) in report.periods.items():
        lines.append(f"  {kind:<18} {first} … {last}  ({n} periods)")
    lines.append(f"Editions ({len(report.editions)}):")
    lines += [f"  {key:<28} {title[:90]}" for key, title in report.editions]
    if report.skipped:
        lines.append("Skipped (no reader recognised them):")
        lines += [f"  {name}: {report.skipped_why.get(name, '')}" for name in report.skipped]
    if report.notes:
        lines.append(f"Notes ({len(report.notes)}):")
        lines += [f"  - {note}" for note in report.notes[:12]]
        if len(report.notes) > 12:
            lines.append(f"  … and {len(report.notes) - 12} more in the ingest_notes table")
    return "\n".join(lines)
