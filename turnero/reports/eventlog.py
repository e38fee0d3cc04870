"""Reading one stretch of the event log by time without an index on time.

The store never records an event earlier than the one before it (its clock floor), so
``at`` grows with ``seq`` and the first event of an instant is found by bisecting ``seq``:
a few primary-key probes instead of an index that every write would pay for.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import datetime

from turnero.clock import to_iso

COLUMNS = "seq, kind, at, actor, counter, ticket, payload"


def first_seq_at(conn: sqlite3.Connection, when: datetime) -> int:
    """The smallest ``seq`` whose event is at or after ``when`` (past the end when none)."""
    text = to_iso(when)
    # Two sub-selects: MIN and MAX together in one select would scan the whole log.
    low, high = conn.execute("SELECT (SELECT MIN(seq) FROM events), "
                             "(SELECT MAX(seq) FROM events)").fetchone()
    if low is None:
        return 1
    high += 1
    while low < high:
        mid = (low + high) // 2
        row = conn.execute("SELECT seq, at FROM events WHERE seq >= ? ORDER BY seq LIMIT 1",
                           (mid,)).fetchone()
        if row is None or row[1] >= text:
            high = mid
        else:
            low = row[0] + 1
    return low


def events_between(conn: sqlite3.Connection, start: datetime, end: datetime,
                   kinds: tuple[str, ...] | None = None) -> Iterator[sqlite3.Row]:
    """Events with ``start <= at < end`` in log order, optionally only some kinds."""
    first, last = first_seq_at(conn, start), first_seq_at(conn, end)
    sql = f"SELECT {COLUMNS} FROM events WHERE seq >= ? AND seq < ?"
    params: list = [first, last]
    if kinds:
        sql += " AND kind IN (" + ",".join("?" * len(kinds)) + ")"
        params += list(kinds)
    yield from conn.execute(sql + " ORDER BY seq", params)


def payload(row: sqlite3.Row) -> dict:
    return json.loads(row["payload"])
