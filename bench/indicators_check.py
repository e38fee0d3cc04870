"""A post-day check of the simulated day: the indicators equal a recomputation from the events.

The report reads the engine's tables; ``recompute_from_events`` rebuilds the same facts from
the event log alone. Both run on a copy of the server's database (the store writes its
packed-day cache, and the server's file is left as the day left it), for the total and every
grouping; any part that differs is a violation.
"""

from __future__ import annotations

import sqlite3
import tempfile
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Protocol

from turnero.clock import ManualClock
from turnero.reports import GROUPS, build_report, recompute_from_events
from turnero.store import Store

PARTS = ("rows", "total", "charts")


class Evidence(Protocol):
    db: Path
    day: str

    def connect(self) -> AbstractContextManager[sqlite3.Connection]: ...


def indicators_match_the_event_log(ev: Evidence, timezone: str = "America/Lima") -> list[str]:
    """Every grouping of the day's report, from the tables and from the events: equal."""
    with tempfile.TemporaryDirectory(prefix="indicators-") as tmp:
        copy = Path(tmp) / "copy.db"
        with ev.connect() as source:
            target = sqlite3.connect(copy)
            try:
                source.backup(target)
            finally:
                target.close()
        store = Store(copy, clock=ManualClock(datetime.now(UTC)), timezone=timezone)
        try:
            day = date.fromisoformat(ev.day)
            found = []
            for group in (None, *GROUPS):
                tables = build_report(store, day, day, group)
                events = recompute_from_events(store, day, day, group)
                found += [f"{group or 'total'}: {part} differ" for part in PARTS
                          if tables[part] != events[part]]
            if not build_report(store, day, day, None)["total"]["entered"]:
                found.append("the report counted no attention at all")
            return found
        finally:
            store.close()
