"""Profiles for missed targets: cProfile top functions and `python -X importtime` offenders.

Why in the results file: a missed target with no profile next to it sends the next person to
reproduce the run before they can start; the top of a profile usually names the fix.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def top_functions(stats: pstats.Stats | str | Path, limit: int = 15,
                  sort: str = "tottime") -> str:
    """The `limit` most expensive functions, as a fenced block with the repo paths shortened."""
    if not isinstance(stats, pstats.Stats):
        stats = pstats.Stats(str(stats))
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.strip_dirs().sort_stats(sort).print_stats(limit)
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    total = next((line.strip() for line in lines if "function calls" in line), "")
    body = "\n".join(line.rstrip() for line in lines[start:] if line.strip())
    return f"{total}, sorted by {sort}:\n\n```\n{body}\n```\n"


def profile_calls(call: Callable[[], object], limit: int = 15, sort: str = "tottime") -> str:
    """cProfile one in-process callable."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        call()
    finally:
        profiler.disable()
    return top_functions(pstats.Stats(profiler), limit, sort)


def profile_command(args: Sequence[str], out: Path, env: Mapping[str, str] | None = None,
                    limit: int = 15, sort: str = "tottime") -> str:
    """cProfile `python -m …` in a child process (the child pays the profiler, not us)."""
    done = subprocess.run([sys.executable, "-m", "cProfile", "-o", str(out), *args], cwd=ROOT,
                          env=dict(env) if env is not None else None, capture_output=True,
                          text=True, check=False)
    if not out.exists():
        return f"profile failed (exit {done.returncode}): {done.stderr.strip()[-400:]}\n"
    return top_functions(out, limit, sort)


def import_offenders(args: Sequence[str], env: Mapping[str, str], limit: int = 12) -> str:
    """`python -X importtime …` for the ask path: the slowest imports, cumulative and self."""
    done = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=ROOT, env=dict(env),
                          capture_output=True, text=True, check=False)
    rows = []
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if found:
            rows.append((int(found.group(2)), int(found.group(1)), len(found.group(3)) // 2,
                         found.group(4)))
    if not rows:
        return f"`-X importtime` printed nothing usable (exit {done.returncode}).\n"
    top_level = sum(cumulative for cumulative, _, depth, _ in rows if depth == 0)
    cumulative = sorted(rows, reverse=True)[:limit]
    by_self = sorted(rows, key=lambda r: r[1], reverse=True)[:limit]
    lines = [f"All imports: {top_level / 1000:.1f} ms (sum of top-level cumulative times, "
             "one run, with importtime's own overhead).", "",
             "| cumulative | self | depth | module |", "| --- | --- | --- | --- |"]
    lines += [f"| {c / 1000:.1f} ms | {s / 1000:.1f} ms | {d} | `{m}` |"
              for c, s, d, m in cumulative]
    lines += ["", "Largest self times:", ""]
    lines += [f"- `{m}` {s / 1000:.1f} ms" for _, s, _, m in by_self]
    return "\n".join(lines) + "\n"
