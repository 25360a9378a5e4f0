"""One limiter for everything the bot posts: it queues, it never refuses.

Telegram's limits, as documented: about one message a second in a chat, twenty a minute in a
group, thirty a second overall. Each message books the earliest moment that keeps every one of
its windows within its count (a sliding window: no 60 s stretch ever holds more than 20 of a
group's messages), then waits for it. Booking is synchronous on the event loop, so bookings are
first come, first served, and a quiet chat books around a busy one instead of behind it.

A 429 from Telegram holds the chat (or everything, when no chat is named) for the time it asks
and re-books the message, for as long as `max_wait` allows: an answer is not dropped after a
few retries.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import time
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

# Methods that post into a chat and so count against its limits.
LIMITED = frozenset({"sendmessage", "sendphoto", "editmessagetext", "editmessagecaption"})


@dataclass(frozen=True)
class Limits:
    """Counts per window, in seconds; `scaled` shrinks every window (tests run in seconds)."""

    chat_max: int = 1
    chat_window: float = 1.0
    group_max: int = 20
    group_window: float = 60.0
    overall_max: int = 30
    overall_window: float = 1.0
    max_wait: float = 900.0

    def scaled(self, factor: float) -> Limits:
        return Limits(self.chat_max, self.chat_window * factor, self.group_max,
                      self.group_window * factor, self.overall_max,
                      self.overall_window * factor, self.max_wait)


def fits(booked: list[float], t: float, count: int, window: float) -> bool:
    """Would booking `t` keep every window of length `window` at `count` or fewer?"""
    i = bisect.bisect_left(booked, t)
    times = [*booked[max(0, i - count):i], t, *booked[i:i + count]]
    here = min(i, count)
    return all(times[j + count] - times[j] >= window
               for j in range(max(0, here - count), here + 1) if j + count < len(times))


def retry_seconds(error: RetryAfter) -> float:
    """`retry_after` in seconds, whichever type this PTB version gives it (int or timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Window:
    """Bookings under one key (a chat, a group, everything) with their own count and span."""

    def __init__(self, count: int, span: float) -> None:
        self.count, self.span = count, span
        self.booked: list[float] = []
        self.held_until = 0.0

    def forget(self, now: float) -> None:
        cut = bisect.bisect_left(self.booked, now - self.span)
        del self.booked[:cut]

    def allows(self, t: float) -> bool:
        return t >= self.held_until and fits(self.booked, t, self.count, self.span)

    def candidates(self, start: float) -> list[float]:
        return [max(start, self.held_until), *(b + self.span for b in self.booked
                                               if b + self.span > start)]


class Limiter(BaseRateLimiter[None]):
    """PTB's rate-limiter seam: every Bot API request passes through `process_request`."""

    def __init__(self, limits: Limits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self.clock = clock
        self._windows: dict[tuple[str, int], Window] = {}
        self.overall = Window(limits.overall_max, limits.overall_window)

    async def initialize(self) -> None:
        """Nothing to open: the limiter is plain bookkeeping."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def _windows_for(self, chat_id: int | None) -> list[Window]:
        windows = [self.overall]
        if chat_id is None:
            return windows
        chat = self._windows.setdefault(("chat", chat_id), Window(
            self.limits.chat_max, self.limits.chat_window))
        windows.append(chat)
        if chat_id < 0:
            windows.append(self._windows.setdefault(("group", chat_id), Window(
                self.limits.group_max, self.limits.group_window)))
        return windows

    def book(self, chat_id: int | None) -> float:
        """Reserve the earliest moment every window allows; returns it (clock time)."""
        now = self.clock()
        windows = self._windows_for(chat_id)
        for window in windows:
            window.forget(now)
        for t in sorted({c for w in windows for c in w.candidates(now)}):
            if all(w.allows(t) for w in windows):
                for w in windows:
                    bisect.insort(w.booked, t)
                return t
        raise AssertionError("the latest candidate always fits")  # pragma: no cover

    def hold(self, chat_id: int | None, seconds: float) -> None:
        """Telegram said 429: nothing more to this chat (or at all) for `seconds`."""
        until = self.clock() + seconds
        for window in self._windows_for(chat_id)[-1:]:
            window.held_until = max(window.held_until, until)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        if endpoint.lower() not in LIMITED:
            return await callback(*args, **kwargs)
        chat = data.get("chat_id")
        chat_id = chat if isinstance(chat, int) else None
        started = self.clock()
        while True:
            delay = self.book(chat_id) - self.clock()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = retry_seconds(error)
                waited = self.clock() - started
                if waited + seconds > self.limits.max_wait:
                    raise
                log.warning("429 from Telegram on %s to chat %s: holding it %.1f s and "
                            "re-queueing", endpoint, chat_id, seconds)
                self.hold(chat_id, seconds)
