"""Time: an injectable clock, UTC storage, and the plausibility floor for boxes with no RTC."""

from __future__ import annotations

import threading
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


def to_iso(when: datetime) -> str:
    """UTC, fixed width, so that text order is time order."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_iso(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def is_plausible(when: datetime) -> bool:
    return when.date() >= BUILD_DATE
