"""Time: an injectable clock, UTC storage, and the plausibility floor for boxes with no RTC."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Protocol

# A Raspberry Pi without a real-time clock can boot believing it is 1970: before this date
# the day will not open. Raised with each release.
BUILD_DATE = date(2026, 11, 26)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock for tests and simulations: set it, advance it, even move it backwards."""

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = when

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


class ScaledClock:
    """A clock for simulations only: it starts at ``start`` and runs ``speed`` times faster
    than real time, so that a whole service day can be played against a real server in
    minutes (``mac-turnos serve --clock-start ISO --clock-speed N``, ``bench.day_sim``). It
    follows the monotonic clock, so a change of the system clock does not move it; a
    restart starts it again at ``start``."""

    MAX_SPEED = 3600.0  # an hour per second: beyond it a request's own latency is minutes

    def __init__(self, start: datetime, speed: float = 1.0, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        if start.tzinfo is None:
            raise ValueError("the start of a simulated clock needs a UTC offset, "
                             "e.g. 2026-12-01T08:00:00-05:00")
        if not (math.isfinite(speed) and 0 < speed <= self.MAX_SPEED):
            raise ValueError(f"the speed of a simulated clock must be above 0 and at most "
                             f"{self.MAX_SPEED:g}, not {speed!r}")
        self.start = start.astimezone(UTC)
        self.speed = float(speed)
        self._monotonic = monotonic
        self._origin = monotonic()

    @classmethod
    def parse(cls, start: str, speed: float = 1.0) -> ScaledClock:
        """From command-line text; the ValueError says what is wrong with it."""
        try:
            when = datetime.fromisoformat(start)
        except ValueError:
            raise ValueError(f"{start!r} is not an ISO 8601 date and time, e.g. "
                             "2026-12-01T08:00:00-05:00") from None
        return cls(when, speed)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(self._monotonic() - self._origin) * self.speed)


def to_iso(when: datetime) -> str:
    """UTC, fixed width, so that text order is time order."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def is_plausible(when: datetime) -> bool:
    return when.date() >= BUILD_DATE
