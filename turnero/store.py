"""The database: one SQLite file in WAL mode, one serialized writer, pooled readers.

Every change goes through :meth:`Store.write`: the function runs inside ``BEGIN IMMEDIATE``
on the single writer connection, the events it records are written in the same
transaction, and they reach the bus only after ``COMMIT`` succeeded (Datasette's rule).
Timestamps never go backwards even if the system clock does, so no duration is negative
(save once, recorded, when a clock that ran ahead is put right: ``write(..., rebase=True)``).

Readers: a thread reads through a connection of its own, taken from a pool of idle ones
(or opened) on its first read, and keeps it until it hands it back with
:meth:`Store.return_reader`, which the server does after every response and
:meth:`Store.write` before it waits for the write lock. So the server holds as many readers
as requests were reading at once, not one per worker thread: with 128 threads that was 128
connections of 100-250 KiB each, a quarter of an idle server's memory.
A burst (the morning rush, every idle módulo calling at once when a ticket comes) opens
many: at most ``IDLE_READERS`` wait in the pool afterwards and the others are closed as they
are handed back; those left idle for a while beyond a few are closed too
(:meth:`Store.close_idle_readers`, run by the server's housekeeping). Each reader costs about
200 KiB (SQLite's lookaside, page cache and schema): kept after every burst, a simulated day
ended with 43 of them. Opening one again costs about 0.6 ms.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from config import private_files
from config.model import Policy
from turnero import migrations
from turnero.bus import Bus
from turnero.clock import Clock, SystemClock, from_iso, to_iso
from turnero.events import KINDS, check_declared

T = TypeVar("T")
IDLE_READERS = 16  # readers kept in the pool after a burst; more are closed when handed back
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    seq: int
    uid: str
    kind: str
    at: str
    actor: str | None
    counter: int | None
    ticket: str | None
    payload: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "uid": self.uid, "kind": self.kind, "at": self.at,
                "actor": self.actor, "counter": self.counter, "ticket": self.ticket,
                "payload": self.payload}


@dataclass
class Tx:
    """One write transaction: the connection, its instant, and the events it records."""

    conn: sqlite3.Connection
    now: datetime
    events: list[Event] = field(default_factory=list)

    @cached_property
    def at(self) -> str:
        """The transaction's instant as stored text (formatted once: every row and event of
        the transaction carries it)."""
        return to_iso(self.now)

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def row(self, sql: str, params: Any = ()) -> sqlite3.Row:
        """The first row of a query that always returns one (an aggregate, or a row this
        transaction has just written or checked); LookupError if it returned none."""
        found: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        if found is None:
            raise LookupError(f"expected a row from: {sql}")
        return found

    def emit(self, kind: str, *, actor: str | None = None, counter: int | None = None,
             ticket: str | None = None, **payload: Any) -> Event:
        """Record an event of this transaction; it reaches the bus after the commit. The kind
        and its payload fields must be declared in :mod:`turnero.events`
        (:class:`~turnero.events.UndeclaredEvent` otherwise)."""
        declared = KINDS.get(kind)
        if declared is None or not declared.names.issuperset(payload):
            check_declared(kind, payload)  # raises, naming what is not declared
        uid = uuid.uuid4().hex
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True)
        cur = self.conn.execute(
            "INSERT INTO events(uid, kind, at, actor, counter, ticket, payload) "
            "VALUES (?,?,?,?,?,?,?)", (uid, kind, self.at, actor, counter, ticket, text))
        event = Event(cur.lastrowid or 0, uid, kind, self.at, actor, counter, ticket, payload)
        self.events.append(event)
        return event


def connect(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                           timeout=30)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")  # a power cut must not lose a committed ticket
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class Store:
    def __init__(self, path: Path | str, clock: Clock | None = None, bus: Bus | None = None,
                 timezone: str = "America/Lima", policy: Policy | None = None) -> None:
        self.path = Path(path)
        self.tz = ZoneInfo(timezone)
        self.policy = policy or Policy()
        self.clock = clock or SystemClock()
        # Another opinion of the time, when the box has one (the central's, by its answers'
        # Date header): ``turnero.clock_trust`` checks the clock against it before a day opens.
        self.time_witness: Callable[[], datetime | None] | None = None
        self.bus = bus or Bus()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []  # every reader open, idle or in use
        # handed back, for the next thread, with the monotonic time each was handed back
        self._idle: list[tuple[sqlite3.Connection, float]] = []
        self._readers_lock = threading.Lock()
        # 0600 however the server was started (SQLite gives the -wal and -shm its mode)
        private_files.prepare_database(self.path, log)
        self._writer = connect(self.path)
        migrations.apply(Database(self._writer))
        # The floor is the last event in log order, not the latest time in the log: after a
        # clock that ran ahead was put right (``clock.corrected``, written at the clock's
        # time) the earlier, future-dated events stay in the log, and the log's times rise
        # again from the correction on (every write is at least the one before it). The
        # newest event is never pruned (``turnero.retention``).
        last = self._writer.execute(
            "SELECT at FROM events ORDER BY seq DESC LIMIT 1").fetchone()
        self._last = from_iso(last[0]) if last else None
        self._closed = False

    def now(self) -> datetime:
        """The clock's time, but never earlier than the last recorded change."""
        now = self.clock.now()
        if self._last is not None and now < self._last:
            return self._last
        return now

    def log_ahead(self) -> timedelta:
        """How far the last recorded change is ahead of the clock (zero when it is not): a
        clock that ran ahead and was put right leaves the log in its future."""
        now = self.clock.now()
        return self._last - now if self._last is not None and self._last > now else timedelta()

    def service_day(self, when: datetime) -> str:
        """The local date that a moment belongs to (the centre's jornada)."""
        return when.astimezone(self.tz).date().isoformat()

    def write(self, fn: Callable[[Tx], T], *, rebase: bool = False) -> T:
        """Run ``fn`` in one serialized transaction; publish its events after commit.

        ``rebase``: the transaction is at the clock's own time even though the log is ahead
        of it, the one way back from a clock that ran ahead (``turnero.clock_trust``; ``fn``
        records why). The floor is dropped under the write lock, so no other write comes
        between, and it stands again if ``fn`` fails or records nothing.

        The thread's reader goes back to the pool first: a request waiting for the write
        lock reads nothing meanwhile, and sixty módulos calling at once would otherwise hold
        sixty readers. A read after the write takes a reader again (each statement is its
        own read transaction, so nothing is lost); so a caller must not keep using a reader
        it got before calling ``write``."""
        self.return_reader()
        with self._lock:
            kept = self._last
            if rebase:
                self._last = None
            try:
                tx = Tx(self._writer, self.now())
                self._writer.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(tx)
                    self._writer.execute("COMMIT")
                except BaseException:
                    self._writer.execute("ROLLBACK")
                    raise
            except BaseException:
                self._last = kept
                raise
            self._last = tx.now if tx.events else kept
            self.bus.publish(tx.events)
        return result

    def reader(self) -> sqlite3.Connection:
        """This thread's connection for reads (WAL lets them run beside the writer): the
        one it holds, else the one handed back last (its cache is the warmest), else a new
        one."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._readers_lock:  # not the write lock: a reader never waits on writes
                conn = self._idle.pop()[0] if self._idle else None
            if conn is None:
                conn = connect(self.path)
                conn.execute("PRAGMA query_only=ON")
                with self._readers_lock:
                    self._readers.append(conn)
            self._local.conn = conn
        return conn

    def return_reader(self) -> None:
        """Hand this thread's reader back to the pool once the thread is done reading (a
        request answered), for whichever thread reads next. Nothing when it holds none."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            return
        self._local.conn = None
        with self._readers_lock:
            if conn not in self._readers:  # closed by close() meanwhile
                return
            if len(self._idle) < IDLE_READERS:
                self._idle.append((conn, time.monotonic()))
                return
            self._readers.remove(conn)
        conn.close()

    def close_idle_readers(self, keep: int, idle_for: float) -> int:
        """Close the readers idle for ``idle_for`` seconds or more, but keep the ``keep``
        handed back most recently (the warmest caches, enough for a quiet floor); returns how
        many were closed. Safe beside requests: a reader in the idle pool belongs to nobody."""
        cutoff = time.monotonic() - idle_for
        with self._readers_lock:
            spare = self._idle[:max(0, len(self._idle) - keep)]
            closing = [conn for conn, since in spare if since <= cutoff]
            if not closing:
                return 0
            self._idle = [(c, t) for c, t in self._idle if c not in closing]
            self._readers = [c for c in self._readers if c not in closing]
        for conn in closing:
            conn.close()
        return len(closing)

    @property
    def reader_count(self) -> int:
        """Readers open now, in use or idle in the pool."""
        with self._readers_lock:
            return len(self._readers)

    def release_reader(self) -> None:
        """Close this thread's reader: a long live stream that will not read again gives its
        connection (and SQLite's page cache) back instead of keeping it for hours."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            self._local.conn = None
            with self._readers_lock:
                if conn in self._readers:
                    self._readers.remove(conn)
            conn.close()

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        with self._lock, self._readers_lock:
            for conn in self._readers:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:
                    pass  # created in another thread that is gone; the OS closes it
            self._readers.clear()
            self._idle.clear()
            self._writer.close()
