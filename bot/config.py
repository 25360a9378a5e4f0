"""Settings for `crimebot run`, read once from the environment and checked before anything starts.

Every setting is an environment variable so Docker, systemd and a shell all configure the bot the
same way. Parsing is strict: a typo in an allow-list must stop the bot with a message naming the
variable, not silently open it to every chat.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bot.store import DEFAULT_DB

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_COOLDOWN_SECONDS = 2.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TOKEN_PATTERN = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{1,100}")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable and what it expects."""


@dataclass(frozen=True)
class Config:
    """Everything the running bot needs to know, validated."""

    token: str
    db_path: Path
    api_base_url: str
    allowed_chats: frozenset[int]
    allowed_users: frozenset[int]
    cooldown_seconds: float
    log_level: str

    @property
    def file_base_url(self) -> str:
        """Bot API servers serve files under /file/bot<token>, beside the methods' /bot<token>."""
        return self.api_base_url.removesuffix("/bot") + "/file/bot"

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        """Read and check every setting; raise ConfigError on the first bad one."""
        return cls(
            token=parse_token(environ.get("TELEGRAM_BOT_TOKEN", "")),
            db_path=Path(_value(environ, "CRIMEBOT_DB") or DEFAULT_DB),
            api_base_url=parse_base_url(_value(environ, "TELEGRAM_API_BASE_URL")
                                        or DEFAULT_API_BASE_URL),
            allowed_chats=parse_ids("CRIMEBOT_ALLOWED_CHATS", _value(environ,
                                                                     "CRIMEBOT_ALLOWED_CHATS")),
            allowed_users=parse_ids("CRIMEBOT_ALLOWED_USERS", _value(environ,
                                                                     "CRIMEBOT_ALLOWED_USERS")),
            cooldown_seconds=parse_cooldown(_value(environ, "CRIMEBOT_COOLDOWN_SECONDS")),
            log_level=parse_log_level(_value(environ, "CRIMEBOT_LOG_LEVEL")),
        )


def _value(environ: Mapping[str, str], name: str) -> str:
    """Blank and unset mean the same: env files often carry `NAME=` for "use the default"."""
    return environ.get(name, "").strip()


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
    url = raw.rstrip("/")
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


def parse_cooldown(raw: str) -> float:
    if not raw:
        return DEFAULT_COOLDOWN_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise ConfigError(f"CRIMEBOT_COOLDOWN_SECONDS must be a number of seconds from 0 to 3600, "
                          f"got {raw!r}")
    return seconds


def parse_log_level(raw: str) -> str:
    level = raw.upper() or "INFO"
    if level not in LOG_LEVELS:
        raise ConfigError(f"CRIMEBOT_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
                          f"got {raw!r}")
    return level


# --- the Telegram runner's settings (small parsers; `crimebot run` reads them) --------------

DEFAULT_STOP_GRACE_SECONDS = 15.0


def parse_grace(raw: str) -> float:
    """CRIMEBOT_STOP_GRACE_SECONDS: how long a stop may spend answering what is queued; keep
    it under the supervisor's own grace (Docker and the systemd unit give 20 s)."""
    if not raw:
        return DEFAULT_STOP_GRACE_SECONDS
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 600:
        raise ConfigError(f"CRIMEBOT_STOP_GRACE_SECONDS must be a number of seconds from 0 to "
                          f"600, got {raw!r}")
    return seconds


def parse_inbox(raw: str) -> Path | None:
    """CRIMEBOT_INBOX: the update journal; default (None) is inbox.db beside the store."""
    return Path(raw) if raw else None


def parse_limit_scale(raw: str) -> float:
    """CRIMEBOT_LIMIT_SCALE: shrinks every rate-limit window (1 = Telegram's own limits).
    Only for tests and benchmarks against a fake Bot API; never set it against Telegram."""
    if not raw:
        return 1.0
    try:
        scale = float(raw)
    except ValueError:
        scale = -1.0
    if not 0 < scale <= 1:
        raise ConfigError(f"CRIMEBOT_LIMIT_SCALE must be a number above 0 and at most 1, "
                          f"got {raw!r}")
    return scale
