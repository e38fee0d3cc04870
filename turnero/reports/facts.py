"""A service day's facts, packed for the indicators: one record per attention, one per slice
of módulo time.

The record holds what every indicator needs and nothing personal: where the attention was
(entity, queue, service, módulo, asesor), when (local hour it entered and ended), how it
ended, its waiting and attention seconds and its rating. Text keys (entity codes, usernames…)
are stored as small numbers with the day's own key lists, so that a closed day is a few
hundred kilobytes read in one row. ANS targets are *not* stored: they are looked up when a
report is made, so a corrected agreement changes every report that uses it.

Times are whole seconds (truncated). Definitions are in docs/indicators.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from turnero.floor import PAUSE_REASONS
from turnero.migrations import STATUSES

FORMAT = 1  # bump when a record's layout or meaning changes: cached days are rebuilt
TEXT_KEYS = ("entity", "queue", "agent", "priority", "channel")
NO_HOUR = 255  # an attention that has not ended

ATTENTION = np.dtype([
    ("entity", "u2"), ("queue", "u2"), ("service", "i8"), ("counter", "i4"),
    ("agent", "u2"), ("hour", "u1"), ("end_hour", "u1"), ("priority", "u1"),
    ("channel", "u1"), ("preferential", "u1"), ("first", "u1"), ("status", "u1"),
    ("wait", "i4"), ("attention", "i4"), ("rating", "u1")])

# Módulo time: seconds a módulo spent in one state during one local hour, with its asesor.
DESK_STATES = ("serving", "calling", "idle", *(f"paused:{r}" for r in PAUSE_REASONS))
DESK = np.dtype([("counter", "i4"), ("entity", "u2"), ("agent", "u2"), ("hour", "u1"),
                 ("state", "u1"), ("seconds", "f8")])

STATUS_CODE = {s: i for i, s in enumerate(STATUSES)}


@dataclass
class KeyTable:
    """The day's text keys, each given a small number in order of first use."""

    lists: dict[str, list[str]] = field(
        default_factory=lambda: {name: [] for name in TEXT_KEYS})
    _index: dict[tuple[str, str], int] = field(default_factory=dict)

    def code(self, name: str, value: str | None) -> int:
        text = value or ""
        found = self._index.get((name, text))
        if found is None:
            found = len(self.lists[name])
            self.lists[name].append(text)
            self._index[(name, text)] = found
        return found


@dataclass
class DayFacts:
    day: str
    keys: dict[str, list[str]]
    attentions: np.ndarray
    desk: np.ndarray


@dataclass
class AttentionTimes:
    """One attention as both builders see it, before packing."""

    entity: str
    queue: str
    service: int
    counter: int | None
    agent: str | None
    priority: str
    channel: str
    preferential: bool
    first: bool
    status: str
    entered: datetime
    called: datetime | None
    started: datetime | None
    ended: datetime | None
    rating: int = 0


def day_bounds(day: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where a local service day begins and ends."""
    start = datetime.fromisoformat(day).replace(tzinfo=tz)
    return start, start + timedelta(days=1)


def seconds_between(a: datetime | None, b: datetime | None) -> int:
    """Whole seconds from ``a`` to ``b``; -1 when either is missing."""
    if a is None or b is None:
        return -1
    return max(0, int((b - a).total_seconds()))


def pack(day: str, items: list[AttentionTimes], desk: list[tuple[Any, ...]],
         tz: ZoneInfo, keys: KeyTable | None = None) -> DayFacts:
    """Pack attentions and desk slices (counter, entity, agent, hour, state, seconds)."""
    keys = keys or KeyTable()
    records = np.zeros(len(items), dtype=ATTENTION)
    for i, a in enumerate(items):
        records[i] = (
            keys.code("entity", a.entity), keys.code("queue", a.queue), a.service,
            -1 if a.counter is None else a.counter, keys.code("agent", a.agent),
            a.entered.astimezone(tz).hour,
            NO_HOUR if a.ended is None else a.ended.astimezone(tz).hour,
            keys.code("priority", a.priority), keys.code("channel", a.channel),
            int(a.preferential), int(a.first), STATUS_CODE[a.status],
            seconds_between(a.entered, a.called), seconds_between(a.started, a.ended),
            a.rating)
    slices = np.zeros(len(desk), dtype=DESK)
    for i, (counter, entity, agent, hour, state, seconds) in enumerate(desk):
        slices[i] = (counter, keys.code("entity", entity), keys.code("agent", agent), hour,
                     DESK_STATES.index(state), seconds)
    return DayFacts(day, keys.lists, records, slices)


def to_blobs(facts: DayFacts) -> tuple[bytes, bytes]:
    return facts.attentions.tobytes(), facts.desk.tobytes()


def from_blobs(day: str, keys: dict[str, list[str]], attentions: bytes,
               desk: bytes) -> DayFacts:
    return DayFacts(day, keys, np.frombuffer(attentions, dtype=ATTENTION),
                    np.frombuffer(desk, dtype=DESK))
