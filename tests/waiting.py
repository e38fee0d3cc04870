"""Waiting on conditions, the one way tests let time pass.

A test never sleeps for a guessed time and never asserts how long something took: it waits
until what it expects is true, with a generous deadline that only a broken behaviour reaches,
so it passes on a busy machine too. Durations and rates belong to the benchmarks in bench/.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEADLINE = 30.0


class ConditionNotMet(AssertionError):
    """The condition was still false when the deadline passed."""


def wait_until(condition: Callable[[], T], *, timeout: float = DEADLINE,
               interval: float = 0.01, what: str = "") -> T:
    """Polls ``condition`` until it returns something true, and returns that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise ConditionNotMet(f"still not true after {timeout} s: {what or condition}")
        time.sleep(interval)
