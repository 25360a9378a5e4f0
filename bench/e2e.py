"""End to end through Telegram: a real `crimebot run` process long-polling a fake Bot API.

Why a separate process: the in-process numbers leave out python-telegram-bot's polling, JSON
decoding, handler dispatch, rate limiting and the HTTP round trip for every reply, which is
where a bot under load actually spends its time. The fake server (tests/fake_telegram.py) runs in
this process and records when each `sendMessage` arrives; injection time is taken on the same
clock, so latency is injection → reply as a user would see it (minus Telegram's own network).
"""

from __future__ import annotations

import asyncio
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.latency import percentile

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:BENCH"
STARTUP_TIMEOUT = 60.0


class Unavailable(Exception):
    """The Telegram layer (bot.telegram or tests/fake_telegram.py) is missing or broken."""


@dataclass
class Phase:
    """One load pattern: how many messages went in, how many answers came back, how fast."""

    name: str
    injected: int
    answered: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0

    def p(self, pct: float) -> float:
        return percentile(self.latencies_ms, pct)


@dataclass
class E2EResult:
    """The load phases, the bot's peak memory, and CPU seconds spent on each side of the wire
    during the load (to tell a slow bot from a slow fake server on a small machine)."""

    phases: list[Phase]
    peak_rss_mb: float
    errors: list[str]
    bot_cpu_s: float = 0.0
    fake_cpu_s: float = 0.0


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc/<pid>/stat (Linux only)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _vm_hwm_mb(pid: int) -> float:
    """Peak resident set size of a live process, from /proc (Linux only)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class _Collector:
    """Follows the fake's call log incrementally: first sendMessage per chat is the answer."""

    def __init__(self, tg: object) -> None:
        self.tg = tg
        self.seen = 0
        self.answered_at: dict[int, float] = {}
        self.errors: list[str] = []

    def poll(self) -> None:
        calls = self.tg.calls  # type: ignore[attr-defined]
        while self.seen < len(calls) and calls[self.seen].finished:
            call = calls[self.seen]
            self.seen += 1
            if call.method != "sendMessage":
                continue
            chat = call.params.get("chat_id")
            if not call.ok:
                self.errors.append(f"sendMessage to {chat}: {call.status} {call.error}")
            if isinstance(chat, int) and chat not in self.answered_at:
                self.answered_at[chat] = call.time


async def _wait_ready(tg: object, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Ready once the bot has registered its commands and is long-polling.

    Either order is accepted: a bot with a durable inbox may start polling before its
    post-init registers the command menu.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STARTUP_TIMEOUT
    while loop.time() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-600:]
            raise Unavailable(f"crimebot run exited with {proc.returncode}: {tail.strip()}")
        methods = {c.method for c in tg.calls}  # type: ignore[attr-defined]
        if {"setMyCommands", "getUpdates"} <= methods:
            await asyncio.sleep(0.2)
            return
        await asyncio.sleep(0.05)
    raise Unavailable(f"crimebot run did not start polling within {STARTUP_TIMEOUT:.0f}s")


async def _drain(collector: _Collector, chats: Sequence[int], timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        collector.poll()
        if all(c in collector.answered_at for c in chats):
            return
        await asyncio.sleep(0.01)
    collector.poll()


def _phase(name: str, chats: Sequence[int], injected_at: dict[int, float],
           collector: _Collector) -> Phase:
    phase = Phase(name, len(chats))
    done = [c for c in chats if c in collector.answered_at]
    phase.answered = len(done)
    phase.latencies_ms = [(collector.answered_at[c] - injected_at[c]) * 1000 for c in done]
    if done:
        phase.seconds = max(collector.answered_at[c] for c in done) - min(
            injected_at[c] for c in chats)
    return phase


async def _run(db: Path, questions: Sequence[str], burst: int, rate: int, seconds: float,
               drain_timeout: float, workdir: Path, command: Sequence[str],
               extra_env: dict[str, str]) -> E2EResult:
    try:
        from tests.fake_telegram import FakeTelegram
    except Exception as error:  # any import failure means the layer is not usable yet
        raise Unavailable(f"tests/fake_telegram.py: {error!r}") from error
    log = workdir / "crimebot-run.log"
    result: list[E2EResult] = []
    try:
        await _serve(FakeTelegram(token=TOKEN, bot_username="crimebot"), db, questions, burst,
                     rate, seconds, drain_timeout, log, command, extra_env, result)
    except AssertionError as error:  # the fake's own self-check on exit, after the load
        if not result:
            raise Unavailable(f"the fake Bot API failed: {error}") from error
        result[0].errors.append(f"fake server on exit: {error}")
    return result[0]


async def _serve(fake: object, db: Path, questions: Sequence[str], burst: int, rate: int,
                 seconds: float, drain_timeout: float, log: Path, command: Sequence[str],
                 extra_env: dict[str, str], result: list[E2EResult]) -> None:
    """Start the bot against `fake`, run the phases, append the result to `result` (so it
    survives the fake's own assertion on exit)."""
    async with fake as tg:  # type: ignore[attr-defined]
        env = {**os.environ, "TELEGRAM_BOT_TOKEN": TOKEN,
               "TELEGRAM_API_BASE_URL": f"{tg.url}/bot", "CRIMEBOT_COOLDOWN_SECONDS": "0",
               "CRIMEBOT_DB": str(db), "CRIMEBOT_LOG_LEVEL": "WARNING",
               "CRIMEBOT_ALLOWED_CHATS": "", "CRIMEBOT_ALLOWED_USERS": "", **extra_env}
        with open(log, "wb") as sink:
            proc = subprocess.Popen([sys.executable, *command], env=env, cwd=ROOT,
                                    stdout=sink, stderr=subprocess.STDOUT)
        try:
            await _wait_ready(tg, proc, log)
            collector = _Collector(tg)
            bot_cpu, fake_cpu = _cpu_seconds(proc.pid), _own_cpu_seconds()
            injected_at: dict[int, float] = {}
            texts = iter(questions * (1 + (burst + int(rate * seconds)) // max(1, len(questions))))
            phases = []

            burst_chats = list(range(10_001, 10_001 + burst))
            for chat in burst_chats:
                injected_at[chat] = time.time()
                tg.inject_message(chat, next(texts))
            await _drain(collector, burst_chats, drain_timeout)
            phases.append(_phase(f"burst of {burst} at once", burst_chats, injected_at,
                                 collector))

            steady_chats = list(range(20_001, 20_001 + int(rate * seconds)))
            loop = asyncio.get_running_loop()
            start = loop.time()
            for number, chat in enumerate(steady_chats):
                due = start + number / rate
                if due > loop.time():
                    await asyncio.sleep(due - loop.time())
                injected_at[chat] = time.time()
                tg.inject_message(chat, next(texts))
                collector.poll()
            await _drain(collector, steady_chats, drain_timeout)
            phases.append(_phase(f"steady {rate}/s for {seconds:g} s", steady_chats,
                                 injected_at, collector))
            if proc.poll() is not None:
                raise Unavailable(f"crimebot run died during the load (exit {proc.returncode})")
            peak = _vm_hwm_mb(proc.pid)
            bot_cpu, fake_cpu = _cpu_seconds(proc.pid) - bot_cpu, _own_cpu_seconds() - fake_cpu
            errors = collector.errors[:5] + [f"fake server: {e!r}" for e in tg.internal_errors[:3]]
            result.append(E2EResult(phases, peak, errors, bot_cpu, fake_cpu))
        finally:
            await _stop(proc)


async def _stop(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, then wait without blocking the loop: the fake server must keep answering the
    bot's last requests (its final getUpdates, the shutdown calls) while it stops."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while proc.poll() is None and loop.time() < deadline:
        await asyncio.sleep(0.05)
    if proc.poll() is None:
        proc.kill()
        proc.wait()


LIMIT_SCALE_VARIABLE = "CRIMEBOT_LIMIT_SCALE"
LIMIT_SCALE_OFF = "0.000001"


def limiter_switch() -> tuple[dict[str, str], str, str]:
    """How to run the bot without its rate limiter: (environment, ptb variant, description).

    The bot's own setting wins when it has one (the Telegram package's CRIMEBOT_LIMIT_SCALE
    shrinks every window to a microsecond, so nothing ever waits); otherwise
    bench/ptb_variant.py drops whatever limiter the bot hands python-telegram-bot.
    """
    package = ROOT / "bot"
    for source in sorted(package.rglob("*.py")):
        if LIMIT_SCALE_VARIABLE in source.read_text(encoding="utf-8", errors="replace"):
            return ({LIMIT_SCALE_VARIABLE: LIMIT_SCALE_OFF}, "",
                    f"`{LIMIT_SCALE_VARIABLE}={LIMIT_SCALE_OFF}` (the bot's own setting)")
    return ({}, "nolimit", "bench/ptb_variant.py (`ApplicationBuilder.rate_limiter` ignored; "
                           "the bot has no setting for it)")


def run_e2e(db: Path, questions: Sequence[str], *, burst: int, rate: int, seconds: float,
            drain_timeout: float, workdir: Path, limiter: bool = True, variant: str = "",
            profile_to: Path | None = None) -> E2EResult:
    """Run the stage; raise Unavailable when the Telegram layer or the fake is not usable.

    `limiter=False` runs the bot without its rate limiter (see `limiter_switch`); `variant`
    adds bench/ptb_variant.py settings (e.g. "concurrent"); `profile_to` runs the bot under
    cProfile and leaves the stats there.
    """
    try:
        import bot.telegram  # noqa: F401  (only checking that the layer imports)
    except Exception as error:
        raise Unavailable(f"bot.telegram: {error!r}") from error
    if not (ROOT / "tests" / "fake_telegram.py").exists():
        raise Unavailable("tests/fake_telegram.py does not exist")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    env: dict[str, str] = {}
    words = [w for w in variant.split(",") if w]
    if not limiter:
        switch_env, switch_variant, _ = limiter_switch()
        env.update(switch_env)
        words += [switch_variant] if switch_variant else []
    workdir.mkdir(parents=True, exist_ok=True)
    # A fresh journal per run: update ids restart at 1 with every fake server, and a bot that
    # dedupes by update id would drop them as already handled.
    env["CRIMEBOT_INBOX"] = str(workdir / f"inbox-{time.monotonic_ns()}.db")
    command = ["-m", "bench.ptb_variant"] if words else ["-m", "bot", "run"]
    if words:
        env["BENCH_PTB_VARIANT"] = ",".join(words)
    if profile_to is not None:
        command = ["-m", "cProfile", "-o", str(profile_to), *command]
    return asyncio.run(_run(db, questions, burst, rate, seconds, drain_timeout, workdir,
                            command, env))
