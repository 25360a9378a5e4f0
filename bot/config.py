"""Every setting crimebot reads from the environment, declared once in `SETTINGS`.

Every setting is an environment variable so Docker, systemd and a shell all configure the bot the
same way. The table is the single place a variable is named: `Config`, the webhook settings,
`crimebot doctor`'s table, `crimebot run --help` and the check of `deploy/.env.example` are all
derived from it, so a new variable cannot be documented in one place and forgotten in another.

Settings are read here, once, at start, into typed objects (`Config` for the bot, `Paths` for
every file kept beside the store, `WebhookSettings`); the code that uses them is handed those
objects and never reads the environment itself. A new setting is one `Setting` row plus the field
of the typed object that carries it.

Parsing is strict: a typo in an allow-list must stop the bot with a message naming the variable,
not silently open it to every chat. Each parser takes the stripped raw value, where "" means
unset (env files often carry `NAME=` for "use the default").

This module imports nothing heavy: `crimebot ask` and `crimebot healthcheck` read it too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

DEFAULT_DB = Path("data/crime.db")
DEFAULT_HEARTBEAT = Path("data/heartbeat")
INBOX_FILE = "inbox.db"
DESK_FILE = "desk.db"
ARCHIVE_DIR = "archive"
REJECTED_TOKEN_FILE = "token-rejected"
DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_COOLDOWN_SECONDS = 2.0
DEFAULT_SLOW_NOTICE_SECONDS = 20.0  # a wait a person notices: say so, once
DEFAULT_LISTEN = "0.0.0.0"
DEFAULT_PORT = 8443
WEBHOOK_PATH = "/telegram"
HEALTH_PATH = "/healthz"
TELEGRAM_WEBHOOK_PORTS = (443, 80, 88, 8443)
DEFAULT_ONS_TIMEOUT_S = 20.0
ONS_BASE = "https://www.ons.gov.uk"
LOOKUP_URL = (
    "https://open-geography-portal-ons.hub.arcgis.com/api/download/v1/items/"
    "local-authority-district-to-csps-to-police-force-areas-december-2023-lookup/csv")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TOKEN_PATTERN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{1,100}")
SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable and what it expects."""


# --- parsers: stripped raw value ("" = unset) -> value, or ConfigError ----------------------------


def parse_token(raw: str) -> str:
    """BotFather tokens look like `123456:ABC-def_1`; anything else is a paste error."""
    token = raw.strip()
    if not token:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put "
                          "its token in TELEGRAM_BOT_TOKEN")
    if not TOKEN_PATTERN.fullmatch(token):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (expected digits, "
                          "a colon and letters, as @BotFather gives it)")
    return token


def parse_base_url(raw: str) -> str:
    """The token is appended to this URL, so it must be http(s) and end in /bot."""
    from urllib.parse import urlsplit  # only `run` and `doctor` need it; keep `ask` light

    url = (raw or DEFAULT_API_BASE_URL).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"TELEGRAM_API_BASE_URL must be an http(s) URL, got {raw!r}")
    if not url.endswith("/bot"):
        raise ConfigError(f"TELEGRAM_API_BASE_URL must end in /bot (the token is appended), "
                          f"e.g. {DEFAULT_API_BASE_URL}; got {raw!r}")
    return url


def parse_ids(name: str, raw: str) -> frozenset[int]:
    """Comma-separated Telegram ids; empty means nobody is singled out (everyone is allowed)."""
    ids: set[int] = set()
    for piece in raw.split(","):
        item = piece.strip()
        if not item:
            continue
        try:
            ids.add(int(item))
        except ValueError:
            raise ConfigError(f"{name} must be comma-separated numeric ids (groups are negative, "
                              f"e.g. -1001234567890); {item!r} is not one") from None
    return frozenset(ids)


def parse_log_level(raw: str) -> str:
    level = raw.upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError(f"CRIMEBOT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
                          f"got {raw!r}")
    return level


def parse_secret(raw: str) -> str:
    if not raw:
        raise ConfigError("CRIMEBOT_WEBHOOK_SECRET is not set: webhook mode needs it so nobody "
                          "but Telegram can post updates; make one with python3 -c \"import "
                          "secrets; print(secrets.token_urlsafe(32))\"")
    if not SECRET_PATTERN.fullmatch(raw):
        raise ConfigError("CRIMEBOT_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, "
                          "_ and - (Telegram's rule for secret_token)")
    return raw


def parse_port(raw: str) -> int:
    if not raw:
        return DEFAULT_PORT
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"CRIMEBOT_WEBHOOK_PORT must be a port number from 1 to 65535, "
                          f"got {raw!r}")
    return int(raw)


def bounded(name: str, default: float, low: float, high: float, *,
            above: bool = False, what: str = "a number of seconds") -> Callable[[str], float]:
    """A parser for a number in a range: one rule and one message shape for every such setting."""
    def parse(raw: str) -> float:
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = float("nan")
        if not ((low < value) if above else (low <= value)) or not value <= high:
            span = f"above {low:g} and at most {high:g}" if above else f"from {low:g} to {high:g}"
            raise ConfigError(f"{name} must be {what} {span}, got {raw!r}")
        return value
    return parse


DEFAULT_STOP_GRACE_SECONDS = 15.0
DEFAULT_STALE_GRACE_DAYS = 14


def parse_grace_days(raw: str) -> int:
    """Whole days: a grace of "1.5" days would read as a precision the calendar does not have."""
    if not raw:
        return DEFAULT_STALE_GRACE_DAYS
    if not raw.isdigit() or int(raw) > 366:
        raise ConfigError(f"CRIMEBOT_STALE_GRACE_DAYS must be a whole number of days from 0 to "
                          f"366, got {raw!r}")
    return int(raw)
DEFAULT_FOLLOWUP_MINUTES = 30.0


def _path(default: Path) -> Callable[[str], Path]:
    return lambda raw: Path(raw) if raw else default


def _optional_path(raw: str) -> Path | None:
    return Path(raw) if raw else None


def _ids_described(ids: frozenset[int], noun: str) -> str:
    return f"{len(ids)} listed" if ids else f"empty: every {noun} may ask"


# --- the table ------------------------------------------------------------------------------------

Used = Literal["run", "webhook", "ingest", "all"]


@dataclass(frozen=True)
class Setting:
    """One environment variable: how to read it, its default, and what to tell an operator.

    `used_by` says which commands read it, so `doctor` does not fail a polling bot for a
    missing webhook secret. `describe` turns a parsed value into doctor's one-line verdict.
    """

    name: str
    parse: Callable[[str], Any]
    default: str
    help: str
    used_by: Used = "run"
    describe: Callable[[Any], str] = str


SETTINGS: tuple[Setting, ...] = (
    Setting("TELEGRAM_BOT_TOKEN", parse_token, "(required)",
            "bot token from @BotFather; keep it secret",
            describe=lambda token: f"set, shaped like a token (bot id {token.split(':')[0]})"),
    Setting("TELEGRAM_API_BASE_URL", parse_base_url, DEFAULT_API_BASE_URL,
            "Bot API server, the token is appended; change only for a self-hosted server"),
    Setting("CRIMEBOT_DB", _path(DEFAULT_DB), str(DEFAULT_DB),
            "path of the SQLite store that `crimebot ingest` builds", used_by="all"),
    Setting("CRIMEBOT_ALLOWED_CHATS", lambda raw: parse_ids("CRIMEBOT_ALLOWED_CHATS", raw), "",
            "comma-separated chat ids the bot answers in (groups are negative); empty = all",
            describe=lambda ids: _ids_described(ids, "chat")),
    Setting("CRIMEBOT_ALLOWED_USERS", lambda raw: parse_ids("CRIMEBOT_ALLOWED_USERS", raw), "",
            "comma-separated user ids allowed in private chats and inline mode; empty = all",
            describe=lambda ids: _ids_described(ids, "user")),
    Setting("CRIMEBOT_COOLDOWN_SECONDS",
            bounded("CRIMEBOT_COOLDOWN_SECONDS", DEFAULT_COOLDOWN_SECONDS, 0, 3600),
            f"{DEFAULT_COOLDOWN_SECONDS:g}",
            "seconds a chat waits between two answers (0-3600)",
            describe=lambda seconds: f"{seconds:g} s"),
    Setting("CRIMEBOT_SLOW_NOTICE_SECONDS",
            bounded("CRIMEBOT_SLOW_NOTICE_SECONDS", DEFAULT_SLOW_NOTICE_SECONDS, 0, 3600),
            f"{DEFAULT_SLOW_NOTICE_SECONDS:g}",
            "a question waiting longer than this for its asker's turn gets one \"I will reply "
            "to each in turn\" note per burst; shorter waits show only \"typing…\"",
            describe=lambda seconds: f"{seconds:g} s"),
    Setting("CRIMEBOT_LOG_LEVEL", parse_log_level, "INFO", ", ".join(LOG_LEVELS)),
    Setting("CRIMEBOT_HEARTBEAT", _path(DEFAULT_HEARTBEAT), str(DEFAULT_HEARTBEAT),
            "file the polling bot rewrites every 30 s; `crimebot healthcheck` reads it",
            used_by="all"),
    Setting("CRIMEBOT_WEBHOOK_SECRET", parse_secret, "(required with --webhook)",
            "secret Telegram sends in X-Telegram-Bot-Api-Secret-Token", used_by="webhook",
            describe=lambda _secret: "set"),
    Setting("CRIMEBOT_WEBHOOK_LISTEN", lambda raw: raw or DEFAULT_LISTEN, DEFAULT_LISTEN,
            "address the webhook server binds", used_by="webhook"),
    Setting("CRIMEBOT_WEBHOOK_PORT", parse_port, str(DEFAULT_PORT),
            "port the webhook server listens on", used_by="webhook"),
    Setting("CRIMEBOT_SOURCES", _optional_path, "(the archive)",
            "folder of ONS files for `crimebot ingest` instead of the fetched archive",
            used_by="ingest",
            describe=lambda path: str(path) if path else "not set: ingest reads the archive"),
    Setting("CRIMEBOT_ARCHIVE", _optional_path, f"{ARCHIVE_DIR}/ beside the store",
            "folder `crimebot fetch` downloads ONS editions into and `crimebot ingest` reads",
            used_by="ingest", describe=lambda path: str(path) if path
            else f"not set: {ARCHIVE_DIR}/ beside the store"),
    Setting("CRIMEBOT_ONS_BASE", lambda raw: (raw or ONS_BASE).rstrip("/"), ONS_BASE,
            "ONS website `crimebot fetch` discovers editions on; change only for tests",
            used_by="ingest"),
    Setting("CRIMEBOT_LOOKUP_URLS", lambda raw: tuple(raw.split()) if raw else (LOOKUP_URL,),
            "(the ONS Open Geography lookup)",
            "space-separated URLs of the LA → CSP → force lookups `crimebot fetch` downloads",
            used_by="ingest", describe=lambda urls: f"{len(urls)} URL(s)"),
    Setting("CRIMEBOT_ONS_TIMEOUT",
            bounded("CRIMEBOT_ONS_TIMEOUT", DEFAULT_ONS_TIMEOUT_S, 0, 600, above=True),
            f"{DEFAULT_ONS_TIMEOUT_S:g}",
            "seconds to wait for each ONS download", used_by="ingest",
            describe=lambda seconds: f"{seconds:g} s"),
    Setting("CRIMEBOT_STALE_GRACE_DAYS", parse_grace_days, str(DEFAULT_STALE_GRACE_DAYS),
            "days past the month ONS's next quarterly edition is due before the store counts "
            "as stale (doctor, /healthz, heartbeat)", used_by="all",
            describe=lambda days: f"{days} days"),
    Setting("CRIMEBOT_INBOX", _optional_path, f"{INBOX_FILE} beside the store",
            "journal of updates not yet answered; survives restarts",
            describe=lambda path: str(path) if path else f"{INBOX_FILE} beside the store"),
    Setting("CRIMEBOT_DESK_DB", _optional_path, f"{DESK_FILE} beside the store",
            "group patches, release-alert subscriptions and digests sent",
            describe=lambda path: str(path) if path else f"{DESK_FILE} beside the store"),
    Setting("CRIMEBOT_STOP_GRACE_SECONDS",
            bounded("CRIMEBOT_STOP_GRACE_SECONDS", DEFAULT_STOP_GRACE_SECONDS, 0, 600),
            f"{DEFAULT_STOP_GRACE_SECONDS:g}",
            "seconds a stop may spend answering what is queued (keep under the supervisor's)",
            describe=lambda seconds: f"{seconds:g} s"),
    Setting("CRIMEBOT_FOLLOWUP_MINUTES",
            bounded("CRIMEBOT_FOLLOWUP_MINUTES", DEFAULT_FOLLOWUP_MINUTES, 0, 24 * 60),
            f"{DEFAULT_FOLLOWUP_MINUTES:g}",
            "minutes a private chat's (or `crimebot chat`'s) last answer stays the one a short "
            "follow-up such as “and Flintshire?” builds on (0-1440); replies always follow on",
            used_by="all", describe=lambda minutes: f"{minutes:g} min"),
    Setting("CRIMEBOT_LIMIT_SCALE",
            bounded("CRIMEBOT_LIMIT_SCALE", 1.0, 0, 1, above=True, what="a number"), "1",
            "shrinks every rate-limit window; only for tests and benchmarks, never in production",
            describe=lambda scale: f"{scale:g}"),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def raw_value(name: str, environ: Mapping[str, str] | None = None) -> str:
    """Blank and unset mean the same: env files often carry `NAME=` for "use the default"."""
    return (os.environ if environ is None else environ).get(name, "").strip()


def read(name: str, environ: Mapping[str, str] | None = None) -> Any:
    """The parsed value of one declared setting (from os.environ unless told otherwise)."""
    return BY_NAME[name].parse(raw_value(name, environ))


def settings_help(used_by: tuple[Used, ...]) -> str:
    """Each variable with its default and what it does, for `--help` texts."""
    return "\n".join(f"  {s.name}  (default: {s.default or 'empty'})\n      {s.help}"
                     for s in SETTINGS if s.used_by in used_by)


@dataclass(frozen=True)
class Paths:
    """Every file crimebot keeps, found from the store's path in one place.

    The inbox, the desk and the archive sit beside the store (the one data volume a deployment
    mounts) unless a setting moves one; the heartbeat keeps its own default, `data/heartbeat`,
    because Docker's HEALTHCHECK looks there whatever the store is called.
    """

    store: Path
    inbox: Path
    desk: Path
    archive: Path
    heartbeat: Path = DEFAULT_HEARTBEAT

    @classmethod
    def beside(cls, store: Path, *, inbox: Path | None = None, desk: Path | None = None,
               archive: Path | None = None, heartbeat: Path | None = None) -> Paths:
        """The files for a store at `store`, with any of them moved elsewhere."""
        folder = Path(store).parent
        return cls(Path(store), inbox or folder / INBOX_FILE, desk or folder / DESK_FILE,
                   archive or folder / ARCHIVE_DIR, heartbeat or DEFAULT_HEARTBEAT)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, store: str | Path | None = None,
                 archive: str | Path | None = None) -> Paths:
        """The paths the settings name; `store` and `archive` (the `--db` and `--archive`
        options) win over CRIMEBOT_DB and CRIMEBOT_ARCHIVE."""
        return cls.beside(Path(store) if store else read("CRIMEBOT_DB", environ),
                          inbox=read("CRIMEBOT_INBOX", environ),
                          desk=read("CRIMEBOT_DESK_DB", environ),
                          archive=Path(archive) if archive else read("CRIMEBOT_ARCHIVE", environ),
                          heartbeat=read("CRIMEBOT_HEARTBEAT", environ))

    @property
    def rejected_token(self) -> Path:
        """The mark `crimebot run` leaves when Telegram refuses its token: beside the inbox,
        the bot's own writable place."""
        return self.inbox.parent / REJECTED_TOKEN_FILE


@dataclass(frozen=True)
class Config:
    """Everything the running bot needs to know, validated, read once by `from_env`.

    `db_path` is the store; the files beside it (`paths`) may be moved by `inbox`, `desk` and
    `heartbeat`, which tests point at a folder of their own.
    """

    token: str
    db_path: Path
    api_base_url: str
    allowed_chats: frozenset[int]
    allowed_users: frozenset[int]
    cooldown_seconds: float
    log_level: str
    stale_grace_days: int = DEFAULT_STALE_GRACE_DAYS
    slow_notice_seconds: float = DEFAULT_SLOW_NOTICE_SECONDS
    followup_minutes: float = DEFAULT_FOLLOWUP_MINUTES
    stop_grace_seconds: float = DEFAULT_STOP_GRACE_SECONDS
    limit_scale: float = 1.0
    inbox: Path | None = None
    desk: Path | None = None
    heartbeat: Path = DEFAULT_HEARTBEAT

    @property
    def file_base_url(self) -> str:
        """Bot API servers serve files under /file/bot<token>, beside the methods' /bot<token>."""
        return self.api_base_url.removesuffix("/bot") + "/file/bot"

    @property
    def paths(self) -> Paths:
        return Paths.beside(self.db_path, inbox=self.inbox, desk=self.desk,
                            heartbeat=self.heartbeat)

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        """Read and check every setting; raise ConfigError on the first bad one."""
        paths = Paths.from_env(environ)
        return cls(
            token=read("TELEGRAM_BOT_TOKEN", environ),
            db_path=paths.store,
            api_base_url=read("TELEGRAM_API_BASE_URL", environ),
            allowed_chats=read("CRIMEBOT_ALLOWED_CHATS", environ),
            allowed_users=read("CRIMEBOT_ALLOWED_USERS", environ),
            cooldown_seconds=read("CRIMEBOT_COOLDOWN_SECONDS", environ),
            log_level=read("CRIMEBOT_LOG_LEVEL", environ),
            stale_grace_days=read("CRIMEBOT_STALE_GRACE_DAYS", environ),
            slow_notice_seconds=read("CRIMEBOT_SLOW_NOTICE_SECONDS", environ),
            followup_minutes=read("CRIMEBOT_FOLLOWUP_MINUTES", environ),
            stop_grace_seconds=read("CRIMEBOT_STOP_GRACE_SECONDS", environ),
            limit_scale=read("CRIMEBOT_LIMIT_SCALE", environ),
            inbox=paths.inbox,
            desk=paths.desk,
            heartbeat=paths.heartbeat,
        )


@dataclass(frozen=True)
class WebhookSettings:
    """Where `crimebot run --webhook URL` listens and what it registers with Telegram."""

    url: str
    listen: str
    port: int
    secret: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str], url: str) -> WebhookSettings:
        """Read and check the webhook settings; raise ConfigError naming the bad one."""
        return cls(url=webhook_url(url), listen=read("CRIMEBOT_WEBHOOK_LISTEN", environ),
                   port=read("CRIMEBOT_WEBHOOK_PORT", environ),
                   secret=read("CRIMEBOT_WEBHOOK_SECRET", environ))


def webhook_url(raw: str) -> str:
    """The public URL to register; a bare host gets `/telegram` so the path is never `/`."""
    from urllib.parse import urlsplit  # only `run --webhook` needs it; keep `ask` light

    url = raw.strip()
    parts = urlsplit(url)
    unusable = ConfigError("--webhook needs the public https URL Telegram should post to, e.g. "
                           f"https://bot.example.org/telegram; got {raw!r}")
    try:
        port = parts.port
    except ValueError:
        raise unusable from None
    if parts.scheme != "https" or not parts.hostname:
        raise unusable
    if port is not None and port not in TELEGRAM_WEBHOOK_PORTS:
        raise ConfigError(f"Telegram only posts webhooks to ports 443, 80, 88 or 8443; "
                          f"{raw!r} uses {port}")
    if parts.path in ("", "/"):
        return url.rstrip("/") + WEBHOOK_PATH
    if parts.path == HEALTH_PATH:
        raise ConfigError(f"the webhook URL's path cannot be {HEALTH_PATH}, which serves the "
                          "health check")
    return url
