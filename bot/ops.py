"""Running the bot in production: logs, liveness and a self-check an operator can run.

Three audiences, one shared `Status`:

- the logs (journald, `docker logs`): one line per record, the bot token never in them, one
  `update id=… chat=… status=… ms=…` line per handled update so a grep answers "did it see my
  message, and how long did it take?";
- the supervisors (Docker's HEALTHCHECK, `crimebot healthcheck`, `GET /healthz`): a heartbeat
  file rewritten every 30 s by the running bot, judged fresh for 120 s;
- the person installing it (`crimebot doctor`): settings, token and store checked in one go,
  one line each, with what to do about anything that is wrong.

This module deliberately does not import python-telegram-bot at load time: Docker runs
`crimebot healthcheck` every 30 s and it should cost a file read, not a 0.3 s library import.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Literal, NamedTuple, TextIO
from urllib.parse import quote

from bot import config as settings
from bot import periods
from bot.config import Config, ConfigError
from bot.freshness import Freshness, freshness
from bot.store import Store, StoreError

log = logging.getLogger(__name__)

REDACTED = "[token]"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS = ("httpx", "httpcore")
HEARTBEAT_INTERVAL_S = 30.0
HEARTBEAT_MAX_AGE_S = 120.0


# --- logging ------------------------------------------------------------------------------------


class RedactSecrets(logging.Filter):
    """Replace each secret wherever a record would show it.

    HTTP libraries log request URLs and the Bot API puts the token in every one
    (`https://api.telegram.org/bot<token>/getMe`), so a token in a log file is a leaked bot.
    The filter sits on the handler, so it sees records from every logger, and rewrites the
    formatted message, the traceback and the stack, which are the three places text comes from.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        variants = {form for secret in secrets if secret
                    for form in (secret, quote(secret, safe=""))}
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted(variants, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class OneLineFormatter(logging.Formatter):
    """Tracebacks and multi-line messages become one line with literal `\\n`s.

    Docker's json-file driver and journald store each output line as its own entry, so a
    traceback would otherwise arrive as thirty unrelated records that grep cannot tie together.
    """

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\n", "\\n")


def setup_logging(level: str, secrets: Iterable[str],
                  stream: TextIO | None = None) -> logging.Handler:
    """Root logging to stderr, secrets redacted, one line per record; returns the handler.

    httpx and httpcore go to WARNING: at INFO they log one line per Bot API request (with the
    token in the URL), which is noise every long poll.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RedactSecrets(secrets))
    handler.setFormatter(OneLineFormatter(LOG_FORMAT))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


def log_update(logger: logging.Logger, update_id: int | None, chat_type: str, status: str,
               latency_ms: float, waited_ms: float = 0.0) -> None:
    """One key=value line per finished update: `update id=123 chat=group status=answered
    ms=3.2 waited_ms=0`. `waited_ms` is the time it queued behind its chat's earlier updates."""
    logger.info("update id=%s chat=%s status=%s ms=%.1f waited_ms=%.0f", update_id, chat_type,
                status, latency_ms, waited_ms)


class RedactingStream:
    """A text stream that writes through with every secret replaced.

    Logging has its own filter, but a `print` of an error, a warning or an uncaught traceback
    goes straight to stderr; wrapping stderr itself closes that path for good.
    """

    def __init__(self, stream: TextIO, secrets: Iterable[str]) -> None:
        self.stream = stream
        self.redactor = RedactSecrets(secrets)

    def write(self, text: str) -> int:
        self.stream.write(self.redactor.redact(text))
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def redact_stderr(secrets: Iterable[str]) -> None:
    """Make every later write to sys.stderr (prints, warnings, tracebacks) redact `secrets`."""
    current = sys.stderr
    base = current.stream if isinstance(current, RedactingStream) else current
    sys.stderr = RedactingStream(base, secrets)


def chat_kind(update: object) -> str:
    """private/group/supergroup/channel, or `inline` for updates that come without a chat."""
    chat = getattr(update, "effective_chat", None)
    if chat is not None:
        return str(chat.type)
    return "inline" if getattr(update, "inline_query", None) is not None else "none"


# --- status -------------------------------------------------------------------------------------


class StoreFacts(NamedTuple):
    edition: str | None
    latest_period: str | None
    freshness: Freshness | None = None


def newest_freshness(store: Store, grace_days: int, today: date) -> Freshness | None:
    """How far the newest edition figures come from lags ONS's calendar (None: no figures)."""
    newest = store.newest_figures_edition()
    if newest is None:
        return None
    return freshness(newest.period_end, newest.released or newest.published, today, grace_days)


def store_facts(store: Store, grace_days: int = settings.DEFAULT_STALE_GRACE_DAYS,
                today: date | None = None) -> StoreFacts:
    """The newest edition and latest period held, after picking up a freshly ingested store,
    and how far that lags ONS's quarterly calendar.

    Refreshing here means /healthz and the heartbeat show the nightly refresh as soon as it
    lands, not only after the next question; a broken new file keeps the old one (and says so).
    """
    try:
        if store.refresh():
            log.info("store reopened (generation %d)", store.generation)
    except StoreError as error:
        log.warning("the new store is not usable, still answering from the old one: %s", error)
    return StoreFacts(store.newest_edition(), store.latest_period(),
                      newest_freshness(store, grace_days, today or _utc_now().date()))


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="seconds") if moment else None


@dataclass
class Status:
    """What the running bot has done so far, shared by the heartbeat, /healthz and the logs.

    `facts` is a getter rather than a value so every report shows the store as it is now.
    """

    facts: Callable[[], StoreFacts]
    started_at: datetime = field(default_factory=_utc_now)
    last_update_at: datetime | None = None
    last_update_id: int | None = None
    updates_handled: int = 0
    replies_waiting: int = 0  # replies Telegram could not be reached for, to be sent again
    replies_given_up: int = 0  # replies abandoned after trying for `Tuning.give_up` seconds

    def handled(self, update_id: int | None, when: datetime | None = None) -> None:
        """Count one finished update."""
        self.updates_handled += 1
        self.last_update_id = update_id
        self.last_update_at = when or _utc_now()

    def snapshot(self) -> dict[str, Any]:
        edition, latest, fresh = self.facts()
        return {
            "edition": edition,
            "latest_period": latest,
            **(fresh.as_json() if fresh else {}),
            "started_at": _iso(self.started_at),
            "last_update": _iso(self.last_update_at),
            "last_update_id": self.last_update_id,
            "updates_handled": self.updates_handled,
            "replies_waiting": self.replies_waiting,
            "replies_given_up": self.replies_given_up,
        }


# --- heartbeat ----------------------------------------------------------------------------------


def write_heartbeat(path: Path, status: Status, now: float | None = None) -> None:
    """Replace the heartbeat file atomically, so a healthcheck never reads half a file."""
    replace_json(path, {"time": time.time() if now is None else now, "pid": os.getpid(),
                        **status.snapshot()})


def replace_json(path: Path, record: dict[str, Any]) -> None:
    """Write `record` to `path` through a temporary file and a rename: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".heartbeat-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def heartbeat_problem(path: Path, max_age_s: float = HEARTBEAT_MAX_AGE_S,
                      now: float | None = None) -> str | None:
    """Why the heartbeat does not show a live bot, in one line; None when it does."""
    try:
        written = float(json.loads(path.read_text(encoding="utf-8"))["time"])
    except FileNotFoundError:
        return (f"no heartbeat at {path}: the bot is not running (or CRIMEBOT_HEARTBEAT differs "
                "from the bot's)")
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"unreadable heartbeat at {path}: {error}"
    age = (time.time() if now is None else now) - written
    if age > max_age_s:
        return (f"heartbeat at {path} is {age:.0f} s old (limit {max_age_s:.0f} s): the bot has "
                "stopped or is stuck")
    return None


class Heartbeat:
    """The liveness file, written only after a successful round trip to Telegram.

    A timer would keep it fresh while polling fails for good (a revoked token, a proxy that
    answers 404), so Docker and systemd would report a deaf bot as healthy. Writing it on
    success instead means it goes stale, and the healthcheck red, as soon as the bot cannot
    hear. At most one write per `interval`; a failed write is logged once and tried again.
    """

    def __init__(self, path: Path, status: Status,
                 interval: float = HEARTBEAT_INTERVAL_S) -> None:
        self.path = path
        self.status = status
        self.interval = interval
        self._written = float("-inf")
        self._failing = False

    def beat(self) -> None:
        now = time.monotonic()
        if now - self._written < self.interval:
            return
        try:
            write_heartbeat(self.path, self.status)
        except (OSError, sqlite3.Error) as error:  # the snapshot reads the store
            if not self._failing:
                log.warning("cannot write the heartbeat %s: %s", self.path, error)
            self._failing = True
            return
        self._failing = False
        self._written = now

    def stop(self) -> None:
        """Remove the file, so a stopped bot is seen at once."""
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)


# --- start-up and filesystem problems -----------------------------------------------------------

STORE_POLL_S = 5.0
STORE_REMIND_S = 600.0
# Where systemd's sandbox makes a path invisible or inaccessible to the services.
PROTECTED_HOME = ("/home", "/root", "/run/user")
PRIVATE_TMP = ("/tmp", "/var/tmp")


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root + "/") for root in roots)


def _ownership(path: Path) -> str:
    """Owner and mode of the path, or of its nearest ancestor this user can see."""
    for candidate in (path, *path.parents):
        try:
            info = candidate.stat()
        except OSError:
            continue
        mode = f"{info.st_mode & 0o7777:04o}"
        if info.st_uid == os.getuid():
            return f"{candidate} has mode {mode}, which shuts out its own owner: chmod u+rwX it"
        return (f"{candidate} is owned by uid {info.st_uid}:{info.st_gid} with mode {mode}, and "
                f"crimebot runs as uid {os.getuid()}: chown it to that user (under Docker the "
                "/data volume must belong to uid 10001)")
    return f"crimebot runs as uid {os.getuid()}, which may not use it"


def likely_cause(error: OSError) -> str | None:
    """The usual reason for this error in a deployment, in words an operator can act on."""
    import errno

    where = str(error.filename or "")
    if error.errno in (errno.EACCES, errno.EPERM):
        if _under(where, PROTECTED_HOME):
            return ("systemd's ProtectHome=yes hides /home, /root and /run/user from the "
                    "service: move it under /srv or /var/lib/crimebot")
        return _ownership(Path(where))
    if error.errno == errno.ENOENT and _under(where, PRIVATE_TMP):
        return ("under systemd, PrivateTmp=yes gives the service its own /tmp, so files in the "
                "host's /tmp are not there: move them under /srv or /var/lib/crimebot")
    if error.errno == errno.EROFS:
        return ("read-only file system: systemd's ProtectSystem=strict leaves only "
                "/var/lib/crimebot writable, the container only /data and /tmp; point "
                "CRIMEBOT_DB there")
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    if error.errno == errno.EADDRINUSE:
        return "another process already listens there: change CRIMEBOT_WEBHOOK_PORT"
    return None


def explain_os_error(error: OSError, action: str) -> str:
    """One line: what could not be done to which path, why, and the likely deployment cause."""
    target = f" {error.filename}" if error.filename else ""
    reason = (error.strerror or str(error)).lower()
    cause = likely_cause(error)
    return f"cannot {action}{target}: {reason}" + (f" ({cause})" if cause else "")


def store_unopenable(path: Path) -> str | None:
    """Why this user cannot read the store file, in one line; None when it can (or it is absent,
    which the store's own message covers)."""
    try:
        with open(path, "rb"):
            return None
    except FileNotFoundError:
        return None
    except OSError as error:
        return explain_os_error(error, "read the store")


def _store_present(path: Path) -> bool:
    """False only while the store is plainly not there yet; any other problem ends the wait
    so that `store_unopenable` can name it."""
    try:
        return path.stat().st_size > 0
    except FileNotFoundError:
        return False
    except OSError:
        return True


WAITING_FOR_STORE = "waiting for the store"


def write_waiting(heartbeat: Path, store: Path) -> None:
    """A heartbeat that says the bot is up and waiting for its store: healthy, and why."""
    replace_json(heartbeat, {"time": time.time(), "pid": os.getpid(),
                             "state": WAITING_FOR_STORE, "store": str(store)})


def heartbeat_state(path: Path) -> str | None:
    """What a fresh heartbeat says the bot is doing besides answering, e.g. waiting."""
    try:
        return json.loads(path.read_text(encoding="utf-8")).get("state")
    except (OSError, ValueError, AttributeError):
        return None


def wait_for_store(path: Path, poll_s: float = STORE_POLL_S,
                   sleep: Callable[[float], None] = time.sleep, out: TextIO | None = None,
                   heartbeat: Path | None = None) -> float:
    """Block until the store exists; returns the seconds waited.

    A bot started before the first ingest would otherwise exit, be restarted by systemd or
    Docker every few seconds and use up the unit's start limit; waiting keeps it up and says,
    once (and every ten minutes), what will end the wait. The `heartbeat` is kept fresh
    meanwhile, saying "waiting for the store", so the healthcheck neither calls the bot dead
    nor has Docker restart it.
    """
    stream = out or sys.stderr
    if _store_present(path):
        return 0.0
    waited = 0.0
    while not _store_present(path):
        if heartbeat is not None:
            try:
                write_waiting(heartbeat, path)
            except OSError as error:
                if waited == 0:
                    print(f"crimebot run: cannot write the heartbeat {heartbeat}: {error}",
                          file=stream, flush=True)
        if waited % STORE_REMIND_S == 0:
            print(f"crimebot run: no store at {path} yet, waiting for it: build it with "
                  "`systemctl start crimebot-refresh.service` (systemd), the compose `refresh` "
                  "service (Docker) or `crimebot ingest`", file=stream, flush=True)
        sleep(poll_s)
        waited += poll_s
    print(f"crimebot run: the store at {path} appeared after {waited:.0f} s; starting",
          file=stream, flush=True)
    return waited


# --- doctor -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One doctor line. WARN is seen but does not fail the doctor: a store behind ONS's
    calendar still answers correctly for the periods it holds."""

    name: str
    state: Literal["ok", "FAIL", "skip", "WARN"]
    detail: str

    def line(self) -> str:
        return f"{self.state:<4}  {self.name}: {self.detail}"


def setting_checks(env: Mapping[str, str]) -> list[Check]:
    """Every declared setting on its own line, so one run shows every mistake, not just the first.

    A webhook-only setting left unset is fine for a polling bot, so it is reported, not failed.
    """
    checks = []
    for setting in settings.SETTINGS:
        raw = settings.raw_value(setting.name, env)
        if setting.used_by == "webhook" and not raw:
            checks.append(Check(setting.name, "ok", "not set (only `run --webhook` reads it)"))
            continue
        try:
            checks.append(Check(setting.name, "ok", setting.describe(setting.parse(raw))))
        except ConfigError as error:
            checks.append(Check(setting.name, "FAIL", str(error)))
    return checks


async def token_check(token: str, base_url: str) -> Check:
    """Ask Telegram who the token belongs to (`getMe`), telling a bad token from no network."""
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError, TelegramError

    try:
        async with Bot(token, base_url=base_url) as bot:
            me = bot.bot
    except InvalidToken:
        return Check("token", "FAIL", "bad token: Telegram answered 401 Unauthorized; copy it "
                                      "again from @BotFather (or /revoke there for a new one)")
    except NetworkError as error:
        return Check("token", "FAIL", f"cannot reach the Bot API at {base_url}: {error}")
    except TelegramError as error:
        return Check("token", "FAIL", f"getMe failed at {base_url}: {error}")
    return Check("token", "ok", f"accepted by Telegram as @{me.username} (id {me.id})")


def store_checks(path: Path, grace_days: int, today: date) -> list[Check]:
    """Present, readable, a crimebot store, holding figures; and how fresh they are."""
    if not path.exists():
        return [Check("store", "FAIL", f"no store at {path}: run `crimebot ingest` to build it")]
    if not os.access(path, os.R_OK):
        return [Check("store", "FAIL",
                      f"{path} is not readable by this user (uid {os.getuid()})")]
    try:
        store = Store(path)
    except StoreError as error:
        return [Check("store", "FAIL", str(error))]
    try:
        editions, latest = store.editions(), store.latest_period()
        fresh = newest_freshness(store, grace_days, today)
    finally:
        store.close()
    if not editions or latest is None or fresh is None:
        return [Check("store", "FAIL",
                      f"{path} holds no figures: rebuild it with `crimebot ingest`")]
    return [Check("store", "ok", f"{path}: {len(editions)} editions, newest {editions[-1].key}, "
                                 f"figures up to {periods.label(latest)}"),
            Check("freshness", "WARN" if fresh.late else "ok", fresh.line())]


REFRESH_OVERDUE_DAYS = 7  # the timer runs nightly: a week without a discovery is a stopped timer


def refresh_check(record: Mapping[str, Any] | None, where: Path, now: datetime) -> Check:
    """What the latest `crimebot fetch`/`refresh` learnt from ONS, from its discovery record.

    Freshness says the store is behind; this says why: no refresh ever ran, it last ran long
    ago, it could not reach ONS, or some datasets' pages were not understood.
    """
    if record is None:
        return Check("refresh", "WARN", f"no discovery record at {where}: no `crimebot fetch` or "
                                        "`refresh` has run here, so no new edition can arrive")
    checked = datetime.fromisoformat(record["checked_at"])
    days = (now - checked).days
    when = f"last discovery {checked:%Y-%m-%d %H:%M} UTC ({days} days ago)"
    if "unreachable" in record:
        return Check("refresh", "WARN", f"{when} could not reach ONS: {record['unreachable']}")
    datasets = record.get("datasets", [])
    failed = [d["line"] for d in datasets if d["way"] is None]
    if failed:
        return Check("refresh", "WARN", f"{when}: {len(failed)} of {len(datasets)} datasets not "
                                        f"discovered: " + " | ".join(failed))
    ways = sorted({d["way"] for d in datasets})
    detail = (f"{when}: all {len(datasets)} datasets discovered ("
              + ", ".join(f"{sum(d['way'] == way for d in datasets)} via "
                          + ("/data JSON" if way == "json" else "HTML pages") for way in ways)
              + ")")
    if days > REFRESH_OVERDUE_DAYS:
        return Check("refresh", "WARN", f"{detail}; none since: is the refresh timer running?")
    return Check("refresh", "ok", detail)


def discovery_record(path: Path) -> dict[str, Any] | None:
    """The record `crimebot fetch` leaves; None when absent or not one (read as "never ran")."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        datetime.fromisoformat(record["checked_at"])
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return record


def _refresh_checks(env: Mapping[str, str]) -> list[Check]:
    """The refresh line, unless the deployment is fed from a local folder instead of ONS."""
    from bot.fetch import DISCOVERY

    try:
        if settings.read("CRIMEBOT_SOURCES", env):
            return [Check("refresh", "ok", "CRIMEBOT_SOURCES is set: refresh ingests that "
                                           "folder and does not ask ONS")]
        where = settings.Paths.from_env(env).archive / DISCOVERY
    except ConfigError:
        return []
    return [refresh_check(discovery_record(where), where, _utc_now())]


def _grace_days(env: Mapping[str, str]) -> int:
    """The configured grace, or the default while the setting's own line reports it bad."""
    try:
        return settings.read("CRIMEBOT_STALE_GRACE_DAYS", env)
    except ConfigError:
        return settings.DEFAULT_STALE_GRACE_DAYS


def doctor(config_env: Mapping[str, str]) -> tuple[int, str]:
    """Check settings, token and store; (exit code, report). Never prints the token."""
    checks = setting_checks(config_env)
    if any(check.state == "FAIL" for check in checks):
        checks.append(Check("token", "skip", "not checked until the settings above are fixed"))
    else:
        config = Config.from_env(config_env)
        checked = asyncio.run(token_check(config.token, config.api_base_url))
        # Error texts come from httpx and PTB; make sure none of them carries the token.
        checks.append(replace(checked, detail=RedactSecrets([config.token]).redact(checked.detail)))
    checks += store_checks(settings.Paths.from_env(config_env).store, _grace_days(config_env),
                           _utc_now().date())
    checks += _refresh_checks(config_env)
    failed = any(check.state == "FAIL" for check in checks)
    return (1 if failed else 0), "\n".join(check.line() for check in checks)
