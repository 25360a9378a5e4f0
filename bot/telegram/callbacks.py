"""Button data: what a press asks for, packed into Telegram's 64 bytes and checked on return."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

CALLBACK_VERSION = "v1"
ACTION_ANSWER = "a"  # show the answer for (area, offence, period) in place of this message
ACTION_CHART = "c"  # send the series chart for (area, offence), highlighting period (or latest)
ACTION_OPEN = "o"  # send the answer for (area, offence, period) below this message, which stays
ACTION_SOURCE = "s"  # send where each number of the answer for (area, offence, period) is printed
ACTIONS = (ACTION_ANSWER, ACTION_CHART, ACTION_OPEN, ACTION_SOURCE)
MAX_CALLBACK_BYTES = 64

_AREA = re.compile(r"[A-Za-z0-9-]{1,24}")
_OFFENCE = re.compile(r"[a-z0-9_-]{1,64}|#[0-9a-f]{12}")
_PERIOD = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class Callback:
    """A decoded button press. `offence` may be a `#digest` token for keys too long to carry."""

    action: str
    area: str
    offence: str
    period: str | None


def offence_digest(key: str) -> str:
    """A short stand-in for offence keys that would push callback data past 64 bytes."""
    return "#" + hashlib.sha256(key.encode()).hexdigest()[:12]


def encode_callback(action: str, area: str, offence: str, period: str | None) -> str:
    """`v1|a|E22000009|sexual|2024-12-31`: versioned so old buttons can be told apart later."""
    for token in (offence, offence_digest(offence)):
        data = "|".join((CALLBACK_VERSION, action, area, token, period or ""))
        if len(data.encode()) <= MAX_CALLBACK_BYTES:
            return data
    raise ValueError(f"callback data for {area}/{offence} does not fit in 64 bytes")


def decode_callback(data: object) -> Callback | None:
    """Parse and validate button data; None for anything stale, foreign, forged or not text."""
    if not isinstance(data, str):
        return None
    parts = data.split("|")
    if len(parts) != 5 or len(data.encode("utf-8", "surrogatepass")) > MAX_CALLBACK_BYTES:
        return None
    version, action, area, offence, period = parts
    if (version != CALLBACK_VERSION or action not in ACTIONS
            or not _AREA.fullmatch(area) or not _OFFENCE.fullmatch(offence)):
        return None
    if period:
        if not _PERIOD.fullmatch(period):
            return None
        try:
            date.fromisoformat(period)
        except ValueError:
            return None
    return Callback(action, area, offence, period or None)


def resolve_offence(token: str, keys: Iterable[str]) -> str | None:
    """The offence key a callback names: itself, or the held key whose digest it is."""
    if not token.startswith("#"):
        return token
    return next((key for key in keys if offence_digest(key) == token), None)
