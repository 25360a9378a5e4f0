"""One limiter for everything the bot posts: it queues, it never refuses, it cannot raise.

Telegram's limits, as documented: about one message a second in a chat, twenty a minute in a
group, thirty a second overall. They are held as Telegram sees them, not as we schedule them:
a message counts against its windows from the moment it is let through until its request has
finished, and from then on at the time it finished. A request is only let through when, in each
of its windows, fewer than the window's count are in flight or finished within the window's
span. Telegram receives a request after we let it through and before we see its answer, so no
stretch of `span` at Telegram ever holds more than `count` of them, however long a request
waits in the connection pool or on the wire (booking by schedule alone let bursts through when
requests bunched up behind the pool).

`aiolimiter` (what PTB's own `AIORateLimiter` uses) is a leaky bucket: it allows a full bucket
and then a steady drip, so "20 a minute" lets 20 through at once and another every 3 s, which
is up to 39 in one minute. It cannot hold a sliding window, so the windows are kept here, in
integer nanoseconds: no rounding can make a time look as if it were outside its own window.

Waiting happens in two steps, so that a quiet chat is never queued behind a busy one: first for
the message's own chat (and group) windows, which only that chat's messages contend for, then,
first come first served, for the overall window. A 429 from Telegram holds the chat (or
everything, when no chat is named) for the time it asks and queues the message again, for as
long as `max_wait` allows: an answer is not dropped after a few retries.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import warnings
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

log = logging.getLogger(__name__)

# Methods that post into a chat and so count against its limits.
LIMITED = frozenset({"sendmessage", "sendphoto", "editmessagetext", "editmessagecaption"})
NS = 1_000_000_000
SWEEP_FROM = 1024  # chats' windows kept before idle ones are looked for


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


def to_ns(seconds: float) -> int:
    return round(seconds * NS)


def retry_seconds(error: RetryAfter) -> float:
    """`retry_after` in seconds, whichever type this PTB version gives it (int or timedelta)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class Window:
    """One sliding window (a chat, a group, everything): sends in flight, and the finishing
    times of those that finished within the span, oldest first."""

    def __init__(self, count: int, span_ns: int) -> None:
        self.count, self.span = count, span_ns
        self.in_flight = 0
        self.finished: deque[int] = deque()
        self.held_until = 0
        self.changed = asyncio.Event()

    def opens_at(self, now: int) -> int | None:
        """The earliest time (≥ now) a new send fits; None when only a send in flight
        finishing can make room."""
        while self.finished and self.finished[0] <= now - self.span:
            self.finished.popleft()
        excess = self.in_flight + len(self.finished) - self.count
        if excess < 0:
            return max(now, self.held_until)
        if excess >= len(self.finished):
            return None
        return max(now, self.held_until, self.finished[excess] + self.span)

    def take(self) -> None:
        self.in_flight += 1

    def release(self, now: int) -> None:
        """A send let through has finished (or failed, or was never made): it counts from now."""
        self.in_flight -= 1
        self.finished.append(now)
        self.changed.set()
        self.changed = asyncio.Event()

    def idle(self, now: int) -> bool:
        return self.in_flight == 0 and not self.finished and self.held_until <= now


def opens_at(windows: list[Window], now: int) -> int | None:
    """When every one of `windows` lets a send through; None while one waits on a finish."""
    times = [w.opens_at(now) for w in windows]
    return None if None in times else max(t for t in times if t is not None)


class Limiter(BaseRateLimiter[None]):
    """PTB's rate-limiter seam: every Bot API request passes through `process_request`."""

    def __init__(self, limits: Limits, clock: Callable[[], int] = time.monotonic_ns) -> None:
        self.limits = limits
        self.clock = clock
        self._windows: dict[tuple[str, int], Window] = {}
        self.overall = Window(limits.overall_max, to_ns(limits.overall_window))
        self._turn = asyncio.Lock()  # first come, first served for the overall window
        self._sweep_at = SWEEP_FROM

    async def initialize(self) -> None:
        """Nothing to open: the limiter is plain bookkeeping."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def own_windows(self, chat_id: int | None) -> list[Window]:
        """The windows only this chat's messages contend for: its own, and its group's."""
        if chat_id is None:
            return []
        windows = [self._windows.setdefault(("chat", chat_id), Window(
            self.limits.chat_max, to_ns(self.limits.chat_window)))]
        if chat_id < 0:
            windows.append(self._windows.setdefault(("group", chat_id), Window(
                self.limits.group_max, to_ns(self.limits.group_window))))
        return windows

    async def _wait_for(self, windows: list[Window]) -> None:
        """Return once every window lets a send through (the caller takes it at once)."""
        while True:
            now = self.clock()
            ready = opens_at(windows, now)
            if ready is not None and ready <= now:
                return
            events = [asyncio.ensure_future(w.changed.wait()) for w in windows]
            try:
                await asyncio.wait(events, timeout=None if ready is None else (ready - now) / NS,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                for event in events:
                    event.cancel()

    @contextlib.asynccontextmanager
    async def slot(self, chat_id: int | None) -> AsyncIterator[None]:
        """Hold a place in every window of `chat_id` for the length of one request."""
        own = self.own_windows(chat_id)
        await self._wait_for(own)
        taken = list(own)
        try:
            for window in own:
                window.take()
            async with self._turn:
                await self._wait_for([self.overall])
                self.overall.take()
                taken.append(self.overall)
            yield
        finally:
            now = self.clock()
            for window in taken:
                window.release(now)
            self._forget_idle()

    def _forget_idle(self) -> None:
        """Drop the windows of chats with nothing recent, so a million chats cost nothing.
        A sweep runs only once the count has doubled since the last, so its cost per send
        stays constant however many chats are busy."""
        if len(self._windows) < self._sweep_at:
            return
        now = self.clock()
        for key, window in list(self._windows.items()):
            window.opens_at(now)
            if window.idle(now):
                del self._windows[key]
        self._sweep_at = max(SWEEP_FROM, 2 * len(self._windows))

    def hold(self, chat_id: int | None, seconds: float) -> None:
        """Telegram said 429: nothing more to this chat (or at all) for `seconds`."""
        until = self.clock() + to_ns(seconds)
        window = (self.own_windows(chat_id) or [self.overall])[0]
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
            try:
                async with self.slot(chat_id):
                    return await callback(*args, **kwargs)
            except RetryAfter as error:
                seconds = retry_seconds(error)
                waited = (self.clock() - started) / NS
                if waited + seconds > self.limits.max_wait:
                    raise
                log.warning("429 from Telegram on %s to chat %s: holding it %.1f s and "
                            "re-queueing", endpoint, chat_id, seconds)
                self.hold(chat_id, seconds)
