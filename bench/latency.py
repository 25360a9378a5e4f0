"""In-process answer latency, overall and split into parse, match and query+compose.

Why two passes: the headline figure must be the plain `Engine.ask` with nothing wrapped around
it, but a p99 that misses its target is only useful if it says which stage is slow. The second
pass wraps `bot.answer.parse` and the gazetteer's `match` (at run time, in this process only; the
library is not edited) to time each stage of the very same calls. Those two names belong to the
answer path's insides, which change; when either is gone the breakdown is skipped (and says so),
the headline numbers never depend on it.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import bot.answer
from bench.questions import Question
from bot.answer import Engine


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: an observed value, never an interpolation between two."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


@dataclass
class Latency:
    """Milliseconds per question for each stage, plus what the answers were."""

    total: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    parse: list[float] = field(default_factory=list)
    match: list[float] = field(default_factory=list)
    query_compose: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    slowest: list[tuple[float, str]] = field(default_factory=list)
    stages_skipped: str = ""

    def summary(self, values: list[float]) -> tuple[float, float, float]:
        return (percentile(values, 50), percentile(values, 95), percentile(values, 99))


def gazetteer_of(engine: Engine) -> Any:
    """The engine's gazetteer, as answering uses it (a property on some versions, a method on
    others); None when the engine has none."""
    found = getattr(engine, "gazetteer", None)
    if callable(found) and not hasattr(found, "match"):
        found = found()
    return found if hasattr(found, "match") else None


def measure(engine: Engine, questions: Sequence[Question], today: date,
            *, stages: bool = True) -> Latency:
    """Warm the engine, time every question once plainly, then once instrumented by stage.

    Each question's CPU time (this thread's) is kept beside its wall time: on a shared machine
    the wall time also holds the time other processes had the core, the CPU time does not.
    The garbage collector is left on (the bot runs with it on) but collected before each pass so
    one pass does not pay for another's garbage.
    """
    result = Latency()
    for question in questions[:200]:  # warm caches: gazetteer, sqlite pages, rapidfuzz
        engine.ask(question.text, today=today)
    gc.collect()
    clock = time.perf_counter_ns
    timed: list[tuple[float, str]] = []
    cpu_clock = time.thread_time_ns
    for question in questions:
        cpu_started, started = cpu_clock(), clock()
        answer = engine.ask(question.text, today=today)
        elapsed = (clock() - started) / 1e6
        result.cpu.append((cpu_clock() - cpu_started) / 1e6)
        result.total.append(elapsed)
        result.statuses[answer.status] += 1
        timed.append((elapsed, question.text))
    result.slowest = sorted(timed, reverse=True)[:5]
    if stages:
        gc.collect()
        _measure_stages(engine, questions, today, result)
    return result


def _measure_stages(engine: Engine, questions: Sequence[Question], today: date,
                    result: Latency) -> None:
    gazetteer = gazetteer_of(engine)
    if gazetteer is None or not callable(getattr(bot.answer, "parse", None)):
        result.stages_skipped = ("`bot.answer.parse` or the engine's gazetteer is not there "
                                 "any more, so parse and match cannot be timed apart")
        return
    clock = time.perf_counter_ns
    spent = {"parse": 0, "match": 0}
    real_parse = bot.answer.parse
    real_match = gazetteer.match

    def timed_parse(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return real_parse(*args, **kwargs)
        finally:
            spent["parse"] += clock() - started

    def timed_match(*args: Any, **kwargs: Any) -> Any:
        started = clock()
        try:
            return real_match(*args, **kwargs)
        finally:
            spent["match"] += clock() - started

    patched: Callable[..., Any] = timed_parse
    bot.answer.parse = patched  # type: ignore[assignment]
    gazetteer.match = timed_match  # type: ignore[method-assign]
    try:
        for question in questions:
            spent["parse"] = spent["match"] = 0
            started = clock()
            engine.ask(question.text, today=today)
            total = clock() - started
            result.parse.append((spent["parse"] - spent["match"]) / 1e6)
            result.match.append(spent["match"] / 1e6)
            result.query_compose.append((total - spent["parse"]) / 1e6)
    finally:
        bot.answer.parse = real_parse
        del gazetteer.match
