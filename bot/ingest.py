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
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlite_utils

from bot import indexes
from bot.config import LOOKUP_URL, ONS_BASE
from bot.offences import CATALOGUE
from bot.qualifications import breaks_in, kind_of, method_changes
from bot.readers import read_file, why_unread
from bot.readers.common import (
    Edition,
    FileContents,
    Observation,
    UnreadableFile,
    plain_name,
)
from bot.reconcile import LA_CODE, Areas, Geography
from bot.schema import FIGURES_LABELLED, INDEXES, SCHEMA_VERSION, create_tables, insert
from bot.sources import DATASETS, Provenance, shipped_provenance
from bot.store import Store


class IngestError(Exception):
    """A build that must not replace the store; the message is for the person at the terminal."""


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
        create_tables(db)
        latest = max((k[2] for k, h in held.items() if h.count or h.rate or h.derived),
                     default="")
        insert(conn, "meta", [("latest_period", latest), ("schema", SCHEMA_VERSION)])
        insert(conn, "editions", (
            # An edition's name is printed on every surface: ONS's "[note n]" markers never are.
            (c.edition.key, plain_name(c.edition.title), c.edition.dataset, c.edition.period_end,
             c.edition.published, c.edition.file, c.edition.sha256, page_of(c.edition),
             *_provenance_row(provenance.get(c.edition.sha256))) for c in contents))
        ordered = sorted(areas.areas.values(), key=lambda a: a.code)
        insert(conn, "areas", ((a.code, a.name, a.kind, a.force_code, int(a.offered), a.note)
                                for a in ordered))
        insert(conn, "area_names", ((name, a.code, "former name") for a in ordered
                                     for name in sorted(a.former_names)))
        _write_offences(conn, contents)
        sources = Sources()
        insert(conn, "figures", _figure_rows(held, sources))
        insert(conn, "revisions", _revision_rows(held, sources))
        insert(conn, "sources", sources.rows)
        insert(conn, "labels", ((number, label) for label, number in sources.labels.items()))
        insert(conn, "notes", _note_rows(contents, areas))
        write_qualifications(conn, contents, areas)
        _write_geography(conn, geography, areas, contents)
        for table, columns in INDEXES:
            db[table].create_index(columns, index_name=f"idx_{table}_{'_'.join(columns)}")
        db.create_view("figures_labelled", FIGURES_LABELLED)
        insert(conn, "ingest_notes", ((n,) for n in report.notes))
    write_indexes(conn, path)
    _fill_report(conn, report)
    conn.close()
    return report


def write_indexes(conn: sqlite3.Connection, path: Path) -> None:
    """The name indexes (`bot.indexes`), built by reading the finished tables back through the
    store as the answer engine does, so the stored index is the one it would build itself."""
    store = Store(path)
    try:
        built = indexes.build(store)
    finally:
        store.close()
    with conn:
        for table, rows in indexes.index_rows(built).items():
            insert(conn, table, rows)
        insert(conn, "meta", [("index_code", indexes.code_fingerprint())])


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
    insert(conn, "breaks", (breaks[key] for key in sorted(breaks, key=str)))
    insert(conn, "notes", methods)


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
    insert(conn, "offences", sorted(rows.values(), key=lambda r: r["key"]))


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
    insert(conn, "local_authorities", (las[k] for k in sorted(las)))

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
    insert(conn, "population", sorted(rows, key=lambda r: (r["code"], r["year"])))


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
