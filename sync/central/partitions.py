"""The events table of a PostgreSQL central, partitioned by month of the service day.

A national network stores tens of millions of events a year: one partition per month keeps
each index to a month's size, lets a month's queries read only that month, and lets the
oldest months go (``DROP TABLE``) without a long ``DELETE``. The primary key is
``(centre, uid, day)`` (a partitioned table's unique keys hold its partition key; an event's
day never changes, so a resent event still meets its stored copy). A month's partition is
made before the first batch that needs it, outside the batch's transaction. Every day
stored is a real date (``ingest._day``): the default partition holds only what an older
central stored under a day that is not one. SQLite centrals (a test or a small deployment)
keep one table.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.central.db import Conn, Database

log = logging.getLogger("sync.central")
MONTH = re.compile(r"^(\d{4})-(\d{2})")
COLUMNS = ("centre TEXT NOT NULL, uid TEXT NOT NULL, seq BIGINT NOT NULL, kind TEXT NOT NULL, "
           "at TEXT NOT NULL, day TEXT NOT NULL, queue TEXT, ticket TEXT, step INTEGER, "
           "actor TEXT, counter INTEGER, payload TEXT NOT NULL, received_at TEXT NOT NULL")
_made: set[tuple[str, str]] = set()  # (database URL, month) this process has made
_lock = threading.Lock()


def month_of(day: str) -> str | None:
    """``YYYY-MM`` of a service day, or None when it is not a date."""
    found = MONTH.match(day or "")
    if found is None:
        return None
    try:
        date(int(found[1]), int(found[2]), 1)
    except ValueError:
        return None
    return f"{found[1]}-{found[2]}"


def _bounds(month: str) -> tuple[str, str]:
    year, number = (int(x) for x in month.split("-"))
    after = (year + number // 12, number % 12 + 1)
    return f"{month}-01", f"{after[0]:04d}-{after[1]:02d}-01"


def _create(conn: Conn, parent: str, month: str) -> None:
    low, high = _bounds(month)
    conn.execute(f'CREATE TABLE IF NOT EXISTS "events_{month.replace("-", "_")}" '
                 f"PARTITION OF {parent} FOR VALUES FROM ('{low}') TO ('{high}')")


def convert(tx: Conn) -> None:
    """The migration: the events table becomes partitioned by month (PostgreSQL only),
    with what it held."""
    if not tx.postgres:
        return
    tx.execute(f"CREATE TABLE events_by_month ({COLUMNS}, PRIMARY KEY (centre, uid, day)) "
               "PARTITION BY RANGE (day)")
    tx.execute("CREATE TABLE events_default PARTITION OF events_by_month DEFAULT")
    months = {m for r in tx.query("SELECT DISTINCT substr(day, 1, 7) AS m FROM events "
                                  "WHERE day IS NOT NULL") if (m := month_of(r["m"]))}
    for month in sorted(months):
        _create(tx, "events_by_month", month)
    tx.execute("INSERT INTO events_by_month SELECT centre, uid, seq, kind, at, "
               "COALESCE(day, substr(at, 1, 10)), queue, ticket, step, actor, counter, "
               "payload, received_at FROM events")
    tx.execute("DROP TABLE events")
    tx.execute("ALTER TABLE events_by_month RENAME TO events")
    tx.execute("CREATE INDEX events_centre_day ON events(centre, day, kind)")
    tx.execute("CREATE INDEX events_day ON events(day, kind)")
    tx.execute("CREATE INDEX events_centre_seq ON events(centre, seq)")


def ensure(db: Database, days: Any) -> None:
    """Make the partitions the months of ``days`` need, before the batch is stored, outside
    its transaction. Making one locks the events table (``PARTITION OF`` locks the parent):
    it waits for the batches being stored and they wait for it, once a month. The threads of
    this process make a month one at a time (the lock is held across the DDL); another
    process that makes it meanwhile is no error, in whatever language the server speaks.
    On SQLite, nothing."""
    if not db.postgres or not _partitioned(db):
        return
    months = sorted({m for d in days if isinstance(d, str) and (m := month_of(d))})
    with _lock:
        missing = [m for m in months if (db.url, m) not in _made]
        if not missing:
            return
        from psycopg import errors  # only a PostgreSQL central gets here

        conn = db.conn()
        for month in missing:
            try:
                _create(conn, "events", month)
            except (errors.DuplicateTable, errors.UniqueViolation):
                # Made meanwhile by another process (whose check ran before ours): made
                # now, so this finds it and does nothing, or raises what is really wrong.
                _create(conn, "events", month)
            _made.add((db.url, month))


def _partitioned(db: Database) -> bool:
    """Whether this database's events are partitioned yet (not before migration 7)."""
    with _lock:
        if (db.url, "partitioned") in _made:
            return True
    rows = db.conn().query("SELECT relkind FROM pg_class WHERE relname = 'events' "
                           "AND relkind = 'p'")
    if rows:
        with _lock:
            _made.add((db.url, "partitioned"))
    return bool(rows)


def listed(db: Database) -> list[str]:
    """The events' partitions, by name (for operators and tests)."""
    if not db.postgres:
        return []
    return [r["name"] for r in db.conn().query(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events' ORDER BY 1")]
