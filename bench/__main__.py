"""`python -m bench [--sources DIR] [--quick]`: run every benchmark stage, write bench/results.md.

Why one command and one file: the targets (ingest time and memory, answer latency, a fresh
`crimebot ask`, the bot under Telegram load, a store ten times bigger) are only useful if anyone
can rerun them on their machine before a release and diff the table against the committed one.
Everything is built in a temporary directory, so the real store is never touched.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bench.e2e import E2EResult
from bench.latency import Latency, measure
from bench.questions import Question, generate, load_universe

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results.md"
GNU_TIME = Path("/usr/bin/time")
FRESH_QUESTION = "sexual offences Wrexham 2022"


@dataclass
class Row:
    """One line of the results table; `met` is None when the stage was skipped."""

    stage: str
    metric: str
    target: str
    measured: str
    met: bool | None

    def cells(self) -> list[str]:
        verdict = "skipped" if self.met is None else "yes" if self.met else "**no**"
        return [self.stage, self.metric, self.target, self.measured, verdict]


@dataclass
class Settings:
    """Sizes of each stage; `--quick` shrinks them for a smoke run, not for the record."""

    questions: int
    fresh_runs: int
    burst: int
    rate: int
    seconds: float
    drain_timeout: float

    @classmethod
    def for_run(cls, quick: bool) -> Settings:
        if quick:
            return cls(questions=400, fresh_runs=5, burst=100, rate=100, seconds=2,
                       drain_timeout=60)
        return cls(questions=2400, fresh_runs=15, burst=500, rate=200, seconds=5,
                   drain_timeout=180)


class Report:
    """Collects rows, detail sections and the reasons for missed targets while stages run."""

    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.details: list[str] = []
        self.why: list[str] = []

    def row(self, stage: str, metric: str, target: str, measured: str,
            met: bool | None) -> None:
        self.rows.append(Row(stage, metric, target, measured, met))
        print(f"  {stage}: {metric} = {measured} (target {target})", flush=True)


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(value: float) -> str:
    return f"{value:.2f} ms" if value < 100 else f"{value:,.0f} ms"


# --- ingest -------------------------------------------------------------------------------------


def stage_ingest(report: Report, sources: Path, db: Path, scratch: Path) -> None:
    """Build the store in a child process so its peak RSS is the ingest's alone."""
    command = [sys.executable, "-m", "bot", "ingest", "--source", str(sources), "--db", str(db),
               "--quiet"]
    timing = scratch / "ingest-time.txt"
    use_time = GNU_TIME.exists()
    if use_time:
        command = [str(GNU_TIME), "-v", "-o", str(timing), *command]
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"bench: ingest failed (exit {done.returncode}):\n{done.stderr}")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)",
                      timing.read_text() if use_time and timing.exists() else "")
    if found:
        peak_kb, how = int(found.group(1)), "/usr/bin/time -v"
    else:
        peak_kb, how = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "getrusage"
    peak_mb = peak_kb / 1024
    report.row("ingest", "wall time", "< 30 s", f"{seconds:.1f} s", seconds < 30)
    report.row("ingest", f"peak RSS ({how})", "< 1 GiB", f"{peak_mb:,.0f} MB", peak_mb < 1024)
    if seconds >= 30:
        report.why.append(f"Ingest took {seconds:.1f} s; profile with `python -m cProfile -s "
                          "cumtime -m bot ingest --source … --db /tmp/x.db --quiet`.")


# --- in-process answers -------------------------------------------------------------------------


def _mix(questions: list[Question]) -> str:
    def counted(get: Callable[[Question], str]) -> str:
        return ", ".join(f"{k} {v}" for k, v in sorted(Counter(map(get, questions)).items()))

    return "\n".join([
        f"- categories: {counted(lambda q: q.category)}",
        f"- area kinds: {counted(lambda q: q.area_kind)}",
        f"- period forms: {counted(lambda q: q.period_form)}",
        f"- offences: {len({q.offence for q in questions})} catalogue keys",
    ])


def stage_answers(report: Report, db: Path, questions: list[Question], today: date,
                  label: str, target_ms: float, stage: str) -> Latency:
    """p50/p95/p99 of `Engine.ask` on a warm engine, plus the per-stage breakdown."""
    from bot.answer import open_engine

    engine = open_engine(db, today=today)
    try:
        latency = measure(engine, questions, today)
    finally:
        engine.store.close()
    p50, p95, p99 = latency.summary(latency.total)
    report.row(stage, f"answer p50 / p95 / p99 ({len(questions):,} questions, {label})",
               f"p99 < {target_ms:g} ms", f"{_ms(p50)} / {_ms(p95)} / {_ms(p99)}",
               p99 < target_ms)
    rows = []
    for name, values in (("parse (excl. match)", latency.parse), ("match", latency.match),
                         ("query + compose", latency.query_compose),
                         ("whole `Engine.ask`", latency.total)):
        rows.append([name, *(_ms(v) for v in latency.summary(values)),
                     _ms(statistics.fmean(values))])
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(latency.statuses.items()))
    slowest = "\n".join(f"- {_ms(ms)}: `{text}`" for ms, text in latency.slowest)
    report.details.append(
        f"### Answer latency by stage — {label}\n\n"
        + _table(["stage", "p50", "p95", "p99", "mean"], rows)
        + f"\n\nAnswer statuses: {statuses}.\n\nSlowest questions:\n{slowest}\n")
    return latency


# --- a fresh process ----------------------------------------------------------------------------


def stage_fresh_ask(report: Report, db: Path, runs: int) -> None:
    """Wall time of `python -m bot ask` from exec to exit: imports, opening the store, one answer.

    One untimed run first, so the numbers are for warm OS caches (.pyc files, the store's pages),
    which is the case for a reporter who asks twice.
    """
    env = {**os.environ, "CRIMEBOT_DB": str(db)}
    command = [sys.executable, "-m", "bot", "ask", FRESH_QUESTION]
    times = []
    for number in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                              check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0 or not done.stdout.strip():
            raise SystemExit(f"bench: `crimebot ask` failed (exit {done.returncode}):\n"
                             f"{done.stderr}")
        if number:
            times.append(elapsed)
    median = statistics.median(times)
    report.row("crimebot ask", f"fresh process, median of {runs}", "< 1 s",
               f"{median * 1000:,.0f} ms (min {min(times) * 1000:,.0f}, "
               f"max {max(times) * 1000:,.0f})", median < 1)
    if median >= 1:
        report.why.append(f"A fresh `crimebot ask` took {median:.2f} s: run `python -X "
                          "importtime -m bot ask …` to see which imports dominate.")


# --- a store ten times bigger -------------------------------------------------------------------


def stage_scaling(report: Report, db: Path, scratch: Path, questions: list[Question],
                  today: date) -> None:
    from bench.grow import grow

    grown = scratch / "grown.db"
    sizes = grow(db, grown)
    report.details.append(
        f"### Grown store\n\n`figures` rows: {sizes['before']:,} → {sizes['after']:,} "
        f"(×{sizes['after'] / sizes['before']:.1f}); 9 synthetic editions, periods shifted back "
        f"by multiples of {sizes['step_years']} years; file {db.stat().st_size / 2**20:.1f} MB → "
        f"{grown.stat().st_size / 2**20:.1f} MB.\n")
    stage_answers(report, grown, questions, today, "store grown 10×", 10, "10× store")


# --- Telegram -----------------------------------------------------------------------------------


def stage_e2e(report: Report, db: Path, scratch: Path, questions: list[Question],
              settings: Settings, engine_ms: float) -> None:
    """The bot as deployed, under load; when it misses, rerun with one framework setting changed
    at a time (bench/ptb_variant.py) so the report can say what sets the ceiling."""
    from bench.e2e import Unavailable, run_e2e

    def load(variant: str = "") -> E2EResult:
        return run_e2e(db, [q.text for q in questions], burst=settings.burst,
                       rate=settings.rate, seconds=settings.seconds,
                       drain_timeout=settings.drain_timeout, workdir=scratch, variant=variant)

    try:
        result = load()
    except Unavailable as error:
        for metric, target in (("answered msg/s, p99 latency", "≥ 200 msg/s, p99 < 100 ms"),
                               ("bot peak RSS (VmHWM)", "< 200 MB")):
            report.row("telegram e2e", metric, target,
                       f"skipped: telegram layer not available ({error})", None)
        return
    burst, steady = result.phases
    fast = burst.rate >= 200 and burst.answered == burst.injected
    prompt = steady.p(99) < 100 and steady.answered == steady.injected
    report.row("telegram e2e", f"throughput, {burst.name}", "≥ 200 msg/s",
               f"{burst.rate:,.0f} msg/s ({burst.answered}/{burst.injected} answered in "
               f"{burst.seconds:.1f} s)", fast)
    report.row("telegram e2e", f"latency p50 / p99, {steady.name}", "p99 < 100 ms",
               f"{_ms(steady.p(50))} / {_ms(steady.p(99))} ({steady.answered}/"
               f"{steady.injected} answered, {steady.rate:,.0f} msg/s)", prompt)
    report.row("telegram e2e", "bot peak RSS (VmHWM)", "< 200 MB",
               f"{result.peak_rss_mb:,.0f} MB", result.peak_rss_mb < 200)
    runs = [("as built (`crimebot run`)", result)]
    if not (fast and prompt):
        for variant, label in (("nolimit", "diagnosis: AIORateLimiter removed"),
                               ("nolimit,concurrent", "diagnosis: no rate limiter, "
                                                      "concurrent_updates(True)")):
            print(f"  {label}…", flush=True)
            runs.append((label, load(variant)))
    rows = []
    for label, run in runs:
        handled = sum(p.answered for p in run.phases) or 1
        for p in run.phases:
            rows.append([label, p.name, f"{p.answered}/{p.injected}", f"{p.seconds:.1f} s",
                         f"{p.rate:,.1f}", _ms(p.p(50)), _ms(p.p(95)), _ms(p.p(99))])
        rows.append([label, "CPU per answered message", "", "", "",
                     f"bot {run.bot_cpu_s / handled * 1000:.2f} ms",
                     f"fake {run.fake_cpu_s / handled * 1000:.2f} ms", ""])
    errors = "".join(f"\n- {e}" for label, run in runs for e in run.errors) or " none."
    report.details.append(
        "### Telegram end to end\n\nOne `crimebot run` process long-polling the fake Bot API "
        "(tests/fake_telegram.py) in the bench process; one private chat per message; latency is "
        "injection → arrival of the first `sendMessage` for that chat. Diagnosis rows rerun the "
        "same load with python-telegram-bot settings changed at run time by "
        "bench/ptb_variant.py (bot/ is not edited).\n\n"
        + _table(["bot", "phase", "answered", "span", "msg/s", "p50", "p95", "p99"], rows)
        + f"\n\nErrors seen by the fake:{errors}\n")
    if len(runs) > 1:
        report.why.append(_e2e_why(result, runs[1][1], runs[2][1], engine_ms))


def _e2e_why(base: E2EResult, unlimited: E2EResult, concurrent: E2EResult,
             engine_ms: float) -> str:
    """Say what sets the end-to-end ceiling, from the diagnosis runs' own numbers.

    Throughput and the steady-phase p99 are judged separately: the rate limiter can explain one
    and not the other, and the report should not claim more than the runs show.
    """
    def cpu_ms(run: E2EResult) -> float:
        return run.bot_cpu_s / (sum(p.answered for p in run.phases) or 1) * 1000

    free_burst, free_steady = unlimited.phases
    text = (f"Telegram e2e: the bot as built answers {base.phases[0].rate:,.0f} msg/s. "
            "`bot.telegram.build_application` installs python-telegram-bot's `AIORateLimiter`, "
            "whose default overall limit is 30 requests/s (Telegram's own limit for bots "
            "sending to many chats), so replies beyond that wait in the limiter and latency "
            "grows with the queue. ")
    text += (f"With the limiter removed (bench/ptb_variant.py) the same load gives "
             f"{free_burst.rate:,.0f} msg/s for the burst and a p99 of "
             f"{_ms(free_steady.p(99))} at the steady rate ({free_steady.rate:,.0f} msg/s "
             f"delivered). ")
    if free_burst.rate >= 200:
        text += "So throughput is capped by the limiter, not by the answer engine. "
    else:
        text += "So even without the limiter throughput falls short. "
    if free_steady.p(99) >= 100:
        capacity = 1000 / cpu_ms(unlimited)
        text += (f"The latency target is missed even then: updates are handled one at a time "
                 f"and each costs the bot {cpu_ms(unlimited):.1f} ms of CPU (about "
                 f"{capacity:,.0f} msg/s at most on one core), of which `Engine.ask` is about "
                 f"{engine_ms:.1f} ms; cProfile puts most of the rest in python-telegram-bot's "
                 "httpx request for each `sendMessage`. At 200 msg/s the bot runs near "
                 "saturation, on a machine whose other CPU also serves the fake Bot API, so "
                 "queues form. ")
    text += (f"Turning on `concurrent_updates` does not help ({concurrent.phases[0].rate:,.0f} "
             f"msg/s, steady p99 {_ms(concurrent.phases[1].p(99))}; CPU per message rises to "
             f"{cpu_ms(concurrent):.1f} ms with hundreds of requests in flight). Against the "
             "real Telegram a bot cannot send much above 30 msg/s anyway, so the 200 msg/s "
             "target measures the bot's spare capacity, not what users will see.")
    return text


# --- the report ---------------------------------------------------------------------------------


def _machine() -> str:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"model name\s*:\s*(.+)", cpuinfo.read_text())
        cpu = f", {found.group(1).strip()}" if found else ""
    return (f"{os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}){cpu}; Python "
            f"{platform.python_version()} ({platform.python_implementation()}); "
            f"{platform.system()} {platform.release()}; SQLite {sqlite3.sqlite_version}")


def write_results(report: Report, settings: Settings, quick: bool, sources: Path,
                  started: datetime, today: date) -> str:
    missed = [r for r in report.rows if r.met is False]
    why = report.why or (["A target was missed; see the details below."] if missed else [])
    text = "\n".join([
        "# crimebot benchmarks",
        "",
        f"Generated by `python -m bench{' --quick' if quick else ''}` on "
        f"{started:%Y-%m-%d %H:%M} (took {(datetime.now() - started).total_seconds():.0f} s). "
        "Overwritten on every run.",
        "",
        f"- Machine: {_machine()}",
        f"- Sources: `{sources}`",
        f"- Questions: {settings.questions:,}, generated from the store with a fixed seed "
        "(bench/questions.py)" + (" — **quick run, not for the record**" if quick else ""),
        f"- Answers are given as if today were {today:%-d %B %Y} (four months after the latest "
        "period held, as after a publication), so “last year” means the same on every run",
        "",
        _table(["stage", "metric", "target", "measured", "met"], [r.cells() for r in report.rows]),
        "",
        "## Why" if why else "All measured targets met.",
        "",
        *(f"- {line}" for line in why),
        "",
        "## Details",
        "",
        *report.details,
    ])
    RESULTS.write_text(text.rstrip() + "\n", encoding="utf-8")
    return text


def pinned_today(latest_period: str) -> date:
    """Four months after the latest period held: when the bot would be answering from it."""
    end = date.fromisoformat(latest_period)
    month = end.month + 4
    return date(end.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def main(argv: list[str] | None = None) -> int:
    default_sources = os.environ.get("CRIMEBOT_SOURCES") or str(ROOT.parent / "shared" / "data"
                                                                / "ons")
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sources", default=default_sources,
                        help="folder of ONS files (default $CRIMEBOT_SOURCES or "
                             "../shared/data/ons)")
    parser.add_argument("--quick", action="store_true",
                        help="smaller question set and load, for a smoke run")
    args = parser.parse_args(argv)
    sources = Path(args.sources).resolve()
    if not sources.exists():
        parser.error(f"no ONS sources at {sources}; pass --sources or set CRIMEBOT_SOURCES")
    settings = Settings.for_run(args.quick)
    started = datetime.now()
    report = Report()

    with tempfile.TemporaryDirectory(prefix="crimebot-bench-") as tmp:
        scratch = Path(tmp)
        db = scratch / "crime.db"
        print("ingest…", flush=True)
        stage_ingest(report, sources, db, scratch)
        universe = load_universe(db)
        today = pinned_today(universe.periods[-1])
        questions = generate(universe, settings.questions)
        report.details.append("### Question mix\n\n" + _mix(questions) + "\n")
        print("answers…", flush=True)
        latency = stage_answers(report, db, questions, today, "built store", 5, "answer")
        print("fresh `crimebot ask`…", flush=True)
        stage_fresh_ask(report, db, settings.fresh_runs)
        print("10× store…", flush=True)
        stage_scaling(report, db, scratch, questions, today)
        print("telegram end to end…", flush=True)
        stage_e2e(report, db, scratch, questions, settings, statistics.fmean(latency.total))
    text = write_results(report, settings, args.quick, sources, started, today)
    print()
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
