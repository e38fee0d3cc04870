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
    restart starts it again at ``start``.

    With ``change_at`` (a simulated instant, not before ``start``) and ``speed_after`` it
    runs at ``speed`` up to that instant and at ``speed_after`` from it on
    (``--clock-speed-after N --clock-speed-change ISO``, ``bench.busiest_day``: a morning
    rush in real time, the rest of the day accelerated). Either way it never goes back."""

    MAX_SPEED = 3600.0  # an hour per second: beyond it a request's own latency is minutes

    def __init__(self, start: datetime, speed: float = 1.0, *,
                 monotonic: Callable[[], float] = time.monotonic,
                 change_at: datetime | None = None,
                 speed_after: float | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("the start of a simulated clock needs a UTC offset, "
                             "e.g. 2026-12-01T08:00:00-05:00")
        self.speed = self._checked(speed, "the speed of a simulated clock")
        self.start = start.astimezone(UTC)
        self.change_at: datetime | None = None
        self.speed_after = self.speed
        if (change_at is None) != (speed_after is None):
            raise ValueError("a change of speed needs both its instant and the speed after it")
        if change_at is not None and speed_after is not None:
            if change_at.tzinfo is None:
                raise ValueError("the instant of a change of speed needs a UTC offset, "
                                 "e.g. 2026-12-01T09:30:00-05:00")
            if change_at < start:
                raise ValueError(f"the change of speed ({change_at.isoformat()}) comes before "
                                 f"the start of the clock ({start.isoformat()})")
            self.speed_after = self._checked(speed_after, "the speed after the change")
            self.change_at = change_at.astimezone(UTC)
        # real seconds from the origin to the change (infinite: no change)
        self._change_real = (math.inf if self.change_at is None else
                             (self.change_at - self.start).total_seconds() / self.speed)
        self._monotonic = monotonic
        self._origin = monotonic()

    @classmethod
    def _checked(cls, speed: float, what: str) -> float:
        if not (math.isfinite(speed) and 0 < speed <= cls.MAX_SPEED):
            raise ValueError(f"{what} must be above 0 and at most {cls.MAX_SPEED:g}, "
                             f"not {speed!r}")
        return float(speed)

    @classmethod
    def parse(cls, start: str, speed: float = 1.0, change: str | None = None,
              speed_after: float | None = None) -> ScaledClock:
        """From command-line text; the ValueError says what is wrong with it."""
        return cls(_instant(start), speed, change_at=None if change is None else
                   _instant(change), speed_after=speed_after)

    def now(self) -> datetime:
        real = self._monotonic() - self._origin
        if real < self._change_real:
            # never past the change: rounding must not carry this side beyond it
            moment = self.start + timedelta(seconds=real * self.speed)
            return moment if self.change_at is None else min(moment, self.change_at)
        assert self.change_at is not None
        return self.change_at + timedelta(seconds=(real - self._change_real) * self.speed_after)


def _instant(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 date and time, e.g. "
                         "2026-12-01T08:00:00-05:00") from None


def to_iso(when: datetime) -> str:
    """UTC, fixed width, so that text order is time order."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def is_plausible(when: datetime) -> bool:
    return when.date() >= BUILD_DATE
