"""Grow a copy of the store tenfold with synthetic editions, to see how answers scale.

Why: every quarter ONS adds an edition and the store keeps older figures, so `figures` only
grows. Copying each figure into nine synthetic editions whose periods lie decades earlier makes
every series ten times longer (what `Store.series`, `series_context` and the England and Wales
look-ups walk) while keeping the latest periods, and so the answers, the same. Only a temporary
copy is touched; the real store is never written.
"""

from __future__ import annotations

import calendar
import shutil
import sqlite3
from pathlib import Path

COPIES = 9
MIN_STEP_YEARS = 20


def shift_month_end(period_end: str, years: int) -> str:
    """"2022-12-31" shifted back 20 years → "2002-12-31"; Februaries stay month-ends."""
    year, month = int(period_end[:4]) - years, int(period_end[5:7])
    return f"{year:04d}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"


def grow(source: Path, target: Path, copies: int = COPIES) -> dict[str, int]:
    """Copy `source` to `target` and add `copies` synthetic editions of every figure.

    The step between copies is 20 years, or the span of the held periods plus one when that is
    longer, so a shifted period can never land on a real one (the primary key would refuse it
    and the store would grow by less than it claims). Returns row counts before and after.
    """
    shutil.copyfile(source, target)
    conn = sqlite3.connect(target)
    conn.create_function("shift_month_end", 2, shift_month_end, deterministic=True)
    try:
        first, last = conn.execute("select min(period_end), max(period_end) from figures"
                                   ).fetchone()
        step = max(MIN_STEP_YEARS, int(last[:4]) - int(first[:4]) + 1)
        before = conn.execute("select count(*) from figures").fetchone()[0]
        template = conn.execute("select dataset, period_end from editions "
                                "order by period_end desc limit 1").fetchone()
        for n in range(1, copies + 1):
            key = f"synthetic-{n}"
            conn.execute(
                "insert into editions (key, title, dataset, period_end, published, file, sha256)"
                " values (?, ?, ?, ?, null, ?, null)",
                (key, f"Synthetic benchmark edition {n}", template[0],
                 shift_month_end(template[1], n * step), f"{key}.synthetic"))
            conn.execute(
                "insert into figures (area, offence, period_end, count, edition, rate, "
                "rate_basis, rate_edition) select area, offence, "
                "shift_month_end(period_end, ?), count, ?, rate, rate_basis, "
                "case when rate_edition is null then null else ? end "
                "from figures where coalesce(edition, '') not like 'synthetic-%'",
                (n * step, key, key))
        conn.commit()
        after = conn.execute("select count(*) from figures").fetchone()[0]
    finally:
        conn.close()
    return {"before": before, "after": after, "step_years": step}
