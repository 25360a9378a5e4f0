"""Grow a copy of the store about thirtyfold, the way the real one grows, to see how answers scale.

Why this shape: the store grows in two directions. Every quarter ONS adds an edition and older
periods stay, so series get longer (what `Store.series`, the "highest since" context and the
England and Wales look-ups walk); and finer geographies mean more areas per force (what any
per-kind or per-force count or ranking walks). So the copy gets both: every local area (CSP and
force) is copied a few times under new codes, and then every row is copied into synthetic editions
whose periods lie decades earlier. The latest periods, and the areas questions name, are the same
as in the real store, so the answers are the same and only the size differs.

Synthetic areas are stored with `offered = 0` and a "(synthetic n)" name: they sit in the tables
and indexes every query walks (same kind, same force) but the gazetteer does not offer them, so a
question cannot be answered from made-up data. Every table keyed by area or period is grown,
whatever its columns (figures, and revisions and notes when the ingest writes them), with
indexes kept; only a temporary copy is touched.
"""

from __future__ import annotations

import calendar
import math
import shutil
import sqlite3
from pathlib import Path

TARGET_FACTOR = 30
PERIOD_COPIES = 6  # the real periods plus five shifted spans
MIN_STEP_YEARS = 20
LOCAL_KINDS = ("csp", "pfa")
GROWN_TABLES = ("figures", "revisions", "notes")
PERIOD_COLUMNS = ("period_end", "period_from", "period_to")
EDITION_COLUMNS = ("edition", "rate_edition")


def shift_month_end(period_end: str | None, years: int) -> str | None:
    """"2022-12-31" shifted back 20 years → "2002-12-31"; Februaries stay month-ends."""
    if not period_end or years == 0:
        return period_end
    year, month = int(period_end[:4]) - years, int(period_end[5:7])
    return f"{year:04d}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"pragma table_info([{table}])")]


def _tables(conn: sqlite3.Connection) -> list[str]:
    have = {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}
    return [t for t in GROWN_TABLES if t in have]


def _count(conn: sqlite3.Connection, table: str) -> int:
    return conn.execute(f"select count(*) from [{table}]").fetchone()[0]


def _copy_areas(conn: sqlite3.Connection, copies: int, tables: list[str]) -> int:
    """Add `copies` synthetic twins of every local area, with their figures; returns areas added."""
    conn.execute("create temp table bench_area_map (old text, new text, n integer)")
    local = conn.execute(
        f"select code from areas where kind in ({', '.join('?' for _ in LOCAL_KINDS)})",
        LOCAL_KINDS).fetchall()
    conn.executemany("insert into bench_area_map values (?, ?, ?)",
                     [(code, f"Z{n}{code}", n) for (code,) in local
                      for n in range(1, copies + 1)])
    area_cols = _columns(conn, "areas")
    exprs = {"code": "m.new", "name": "a.name || ' (synthetic ' || m.n || ')'", "offered": "0",
             "force_code": "case when a.force_code = a.code then m.new else a.force_code end"}
    conn.execute(
        f"insert into areas ({', '.join(area_cols)}) select "
        + ", ".join(exprs.get(c, f"a.[{c}]") for c in area_cols)
        + " from areas a join bench_area_map m on a.code = m.old")
    if "population" in {r[0] for r in conn.execute("select name from sqlite_master")}:
        cols = _columns(conn, "population")
        conn.execute(f"insert or ignore into population ({', '.join(cols)}) select "
                     + ", ".join("m.new" if c == "code" else f"p.[{c}]" for c in cols)
                     + " from population p join bench_area_map m on p.code = m.old")
    for table in tables:
        cols = _columns(conn, table)
        if "area" not in cols:
            continue
        conn.execute(f"insert or ignore into [{table}] ({', '.join(cols)}) select "
                     + ", ".join("m.new" if c == "area" else f"t.[{c}]" for c in cols)
                     + f" from [{table}] t join bench_area_map m on t.area = m.old")
    return len(local) * copies


def _copy_periods(conn: sqlite3.Connection, copies: int, step: int, tables: list[str]) -> None:
    """Copy every row (and every edition) into `copies` synthetic editions `step` years apart."""
    conn.execute("create temp table bench_shift (n integer, years integer, key text)")
    conn.executemany("insert into bench_shift values (?, ?, ?)",
                     [(n, n * step, f"synthetic-{n}") for n in range(1, copies + 1)])
    ed_cols = _columns(conn, "editions")
    exprs = {"key": "s.key || '/' || e.key", "title": "'Synthetic benchmark edition ' || s.n",
             "period_end": "shift_month_end(e.period_end, s.years)", "published": "null",
             "file": "s.key || '.synthetic'", "sha256": "null"}
    conn.execute(f"insert into editions ({', '.join(ed_cols)}) select "
                 + ", ".join(exprs.get(c, f"e.[{c}]") for c in ed_cols)
                 + " from editions e cross join bench_shift s")
    for table in tables:
        cols = _columns(conn, table)
        if not any(c in cols for c in PERIOD_COLUMNS):
            continue

        def expr(column: str) -> str:
            if column in PERIOD_COLUMNS:
                return f"shift_month_end(t.[{column}], s.years)"
            if column in EDITION_COLUMNS:
                return (f"case when t.[{column}] is null then null "
                        f"else s.key || '/' || t.[{column}] end")
            return f"t.[{column}]"

        conn.execute(f"insert or ignore into [{table}] ({', '.join(cols)}) select "
                     + ", ".join(expr(c) for c in cols)
                     + f" from [{table}] t cross join bench_shift s")


def grow(source: Path, target: Path, factor: int = TARGET_FACTOR) -> dict[str, object]:
    """Copy `source` to `target` and grow it to about `factor` times its figures.

    The step between period copies is 20 years, or the span of the held periods plus one when
    that is longer, so a shifted period never lands on a real one (the primary key would refuse
    it and the store would grow by less than it claims). The number of area twins is chosen so
    periods × areas reaches `factor`. Returns what was done, with row counts before and after.
    """
    shutil.copyfile(source, target)
    conn = sqlite3.connect(target)
    conn.create_function("shift_month_end", 2, shift_month_end, deterministic=True)
    conn.execute("pragma journal_mode = off")
    conn.execute("pragma synchronous = off")
    conn.execute("pragma cache_size = -262144")
    try:
        tables = _tables(conn)
        first, last = conn.execute("select min(period_end), max(period_end) from figures"
                                   ).fetchone()
        step = max(MIN_STEP_YEARS, int(last[:4]) - int(first[:4]) + 1)
        before = {t: _count(conn, t) for t in tables}
        local_rows = conn.execute(
            "select count(*) from figures f join areas a on a.code = f.area where a.kind in "
            f"({', '.join('?' for _ in LOCAL_KINDS)})", LOCAL_KINDS).fetchone()[0]
        other_rows = before["figures"] - local_rows
        periods = max(1, min(PERIOD_COPIES, factor))
        per_period = factor * before["figures"] / periods
        twins = max(0, math.ceil((per_period - other_rows) / max(1, local_rows)) - 1)
        areas_added = _copy_areas(conn, twins, tables)
        _copy_periods(conn, periods - 1, step, tables)
        if conn.execute("select 1 from sqlite_master where name = 'sqlite_stat1'").fetchone():
            conn.execute("analyze")
        conn.commit()
        after = {t: _count(conn, t) for t in tables}
    finally:
        conn.close()
    return {"before": before, "after": after, "step_years": step, "area_twins": twins,
            "areas_added": areas_added, "period_copies": periods}
