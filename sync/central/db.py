"""The central's database: SQLite on one machine, PostgreSQL (psycopg 3) for the national
deployment, with one schema, one set of numbered migrations and one dialect of SQL.

The SQL is written once with ``?`` placeholders and the subset both engines share
(``ON CONFLICT``, no engine-specific types); the adapter only swaps the placeholders and
opens connections. A connection is kept per thread (waitress serves each request on one).
The SQLite file, its WAL and its shared memory are for the central's account only (0600).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from config import private_files
from sync.central import aggregates, partitions, rollups
from sync.central.times import iso

log = logging.getLogger(__name__)

MIGRATIONS: list[tuple[int, str, list[str | Callable[[Conn], None]]]] = [
    (1, "initial", [
        """CREATE TABLE centres(
            code TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '',
            token_hash TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL,
            revoked_at TEXT, last_contact TEXT, last_batch TEXT, backlog BIGINT)""",
        """CREATE TABLE events(
            centre TEXT NOT NULL REFERENCES centres(code), uid TEXT NOT NULL,
            seq BIGINT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, day TEXT,
            queue TEXT, ticket TEXT, step INTEGER, actor TEXT, counter INTEGER,
            payload TEXT NOT NULL, received_at TEXT NOT NULL,
            PRIMARY KEY (centre, uid))""",
        "CREATE INDEX events_centre_day ON events(centre, day, kind)",
        "CREATE INDEX events_day ON events(day, kind)",
        """CREATE TABLE queues(
            centre TEXT NOT NULL REFERENCES centres(code), code TEXT NOT NULL,
            entity TEXT NOT NULL, name TEXT NOT NULL DEFAULT '',
            max_wait_minutes INTEGER NOT NULL, max_attention_minutes INTEGER NOT NULL,
            PRIMARY KEY (centre, code))""",
    ]),
    (2, "dashboard viewers", [
        """CREATE TABLE viewers(
            name TEXT PRIMARY KEY, password_hash TEXT NOT NULL, created_at TEXT NOT NULL,
            disabled_at TEXT, failed_logins INTEGER NOT NULL DEFAULT 0, locked_until TEXT)""",
        """CREATE TABLE viewer_sessions(
            token_hash TEXT PRIMARY KEY, viewer TEXT NOT NULL REFERENCES viewers(name),
            created_at TEXT NOT NULL, expires_at TEXT NOT NULL)""",
        "CREATE INDEX viewer_sessions_viewer ON viewer_sessions(viewer)",
    ]),
    # How far the central holds each centre's log without a gap (NULL: not known yet, for
    # a centre from before this: its next batch tells), and the gap it last found: a
    # restored or lost copy holds less than the box has sent, and says so.
    (3, "held log and gaps", [
        "ALTER TABLE centres ADD COLUMN held_seq BIGINT",
        "ALTER TABLE centres ADD COLUMN gap_after BIGINT",
        "ALTER TABLE centres ADD COLUMN gap_until BIGINT",
        "ALTER TABLE centres ADD COLUMN gap_seen_at TEXT",
    ]),
    # A centre whose clock is far from the central's: how far (its batch's sent_at against
    # the central's receipt) and how many of its events were dated in the central's future.
    (4, "centre clocks", [
        "ALTER TABLE centres ADD COLUMN clock_skew_seconds BIGINT",
        "ALTER TABLE centres ADD COLUMN clock_skew_seen_at TEXT",
        "ALTER TABLE centres ADD COLUMN future_events BIGINT NOT NULL DEFAULT 0",
    ]),
    # The box a centre's token belongs to (its public key, bound at its first signed batch)
    # and the last other box refused with that token (sync/central/boxes.py).
    (5, "box keys", [
        "ALTER TABLE centres ADD COLUMN box_key TEXT",
        "ALTER TABLE centres ADD COLUMN box_bound_at TEXT",
        "ALTER TABLE centres ADD COLUMN refused_box_key TEXT",
        "ALTER TABLE centres ADD COLUMN refused_box_at TEXT",
        "ALTER TABLE centres ADD COLUMN refused_box_count BIGINT NOT NULL DEFAULT 0",
    ]),
    # The indicators kept up to date as events arrive (sync/central/aggregates.py); a
    # central that held events before is filled from them in the same transaction
    # (``aggregates.refill``): if it dies meanwhile, nothing is recorded and it starts over.
    (6, "aggregates", [
        """CREATE TABLE daily_figures(
            centre TEXT NOT NULL, day TEXT NOT NULL, entity TEXT NOT NULL,
            issued BIGINT NOT NULL DEFAULT 0, served BIGINT NOT NULL DEFAULT 0,
            no_show BIGINT NOT NULL DEFAULT 0, cancelled BIGINT NOT NULL DEFAULT 0,
            expired BIGINT NOT NULL DEFAULT 0, waits BIGINT NOT NULL DEFAULT 0,
            wait_ms BIGINT NOT NULL DEFAULT 0, judged BIGINT NOT NULL DEFAULT 0,
            within BIGINT NOT NULL DEFAULT 0, attentions BIGINT NOT NULL DEFAULT 0,
            attention_ms BIGINT NOT NULL DEFAULT 0,
            attention_judged BIGINT NOT NULL DEFAULT 0,
            attention_within BIGINT NOT NULL DEFAULT 0, ratings BIGINT NOT NULL DEFAULT 0,
            rating_sum BIGINT NOT NULL DEFAULT 0, satisfied BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (centre, day, entity))""",
        "CREATE INDEX daily_figures_day ON daily_figures(day)",
        """CREATE TABLE wait_tenths(
            centre TEXT NOT NULL, day TEXT NOT NULL, entity TEXT NOT NULL,
            tenth INTEGER NOT NULL, n BIGINT NOT NULL,
            PRIMARY KEY (centre, day, entity, tenth))""",
        "CREATE INDEX wait_tenths_day ON wait_tenths(day)",
        """CREATE TABLE open_entries(
            centre TEXT NOT NULL, ticket TEXT NOT NULL, step INTEGER NOT NULL,
            entered_at TEXT NOT NULL, queue TEXT NOT NULL,
            PRIMARY KEY (centre, ticket, step))""",
        """CREATE TABLE open_attentions(
            centre TEXT NOT NULL, ticket TEXT NOT NULL, step INTEGER NOT NULL,
            started_at TEXT NOT NULL, PRIMARY KEY (centre, ticket, step))""",
        # counted at ingest: the dashboard must not count a year of events on each load
        "ALTER TABLE centres ADD COLUMN events_received BIGINT NOT NULL DEFAULT 0",
        aggregates.refill,
    ]),
    # PostgreSQL: the events partitioned by month of their service day (partitions.py).
    (7, "events by month", [partitions.convert]),
    # The national catalogue's versions (sync/central/catalogue.py) and what each centre's
    # box says it runs: the version applied, and the last one refused with its reason.
    (8, "catalogue versions", [
        """CREATE TABLE catalogue_versions(
            number BIGINT PRIMARY KEY, body TEXT NOT NULL, created_at TEXT NOT NULL,
            created_by TEXT NOT NULL, note TEXT NOT NULL DEFAULT '')""",
        "ALTER TABLE centres ADD COLUMN catalogue_version BIGINT",
        "ALTER TABLE centres ADD COLUMN catalogue_applied_at TEXT",
        "ALTER TABLE centres ADD COLUMN catalogue_refused BIGINT",
        "ALTER TABLE centres ADD COLUMN catalogue_refused_reason TEXT",
    ]),
    # What a viewer may do besides reading: ``editor`` also publishes catalogue versions.
    (9, "viewer roles", ["ALTER TABLE viewers ADD COLUMN role TEXT NOT NULL DEFAULT 'viewer'"]),
    # The aggregates rolled up by month, so a page over a year reads twelve rows per centre
    # and entity, not 365 (and so for the waits' distribution); filled from the daily ones.
    (10, "monthly rollups", [
        f"""CREATE TABLE monthly_figures(
            centre TEXT NOT NULL, month TEXT NOT NULL, entity TEXT NOT NULL,
            {", ".join(f"{f} BIGINT NOT NULL DEFAULT 0" for f in rollups.FIGURES)},
            PRIMARY KEY (centre, month, entity))""",
        "CREATE INDEX monthly_figures_month ON monthly_figures(month)",
        """CREATE TABLE monthly_tenths(
            centre TEXT NOT NULL, month TEXT NOT NULL, entity TEXT NOT NULL,
            tenth INTEGER NOT NULL, n BIGINT NOT NULL,
            PRIMARY KEY (centre, month, entity, tenth))""",
        "CREATE INDEX monthly_tenths_month ON monthly_tenths(month)",
        rollups.refill_month_figures,
    ]),
    # Appointments booked at the central (docs/citas.md, sync/central/citas.py): one row
    # per booking code; ``change`` is its place in its centre's feed to the box (unique:
    # numbered under the centre's lock), and the box's check-in and outcome come back
    # through its events.
    (11, "citas", [
        """CREATE TABLE citas(
            code TEXT PRIMARY KEY, centre TEXT NOT NULL REFERENCES centres(code),
            service BIGINT NOT NULL, day TEXT NOT NULL, slot TEXT NOT NULL,
            document_type TEXT, document TEXT, name TEXT,
            status TEXT NOT NULL DEFAULT 'booked', change BIGINT NOT NULL,
            checked_in_at TEXT, ticket TEXT, label TEXT, arrival TEXT,
            outcome TEXT, outcome_at TEXT,
            changed_at TEXT NOT NULL, changed_by TEXT NOT NULL DEFAULT '')""",
        "CREATE UNIQUE INDEX citas_centre_change ON citas(centre, change)",
        "CREATE INDEX citas_centre_day ON citas(centre, day)",
    ]),
    # A month's waits kept by whole minute rather than by tenth (aggregates.py): a year of
    # the national network is then a tenth of the rows, and its median to the minute.
    (12, "monthly waits by minute", [rollups.months_by_minute]),
    # Rollups by calendar year too: a year of the network is one row per centre, entity and
    # minute of wait, not twelve.
    (13, "yearly rollups", [rollups.years]),
]


def now_iso() -> str:
    return iso(datetime.now(UTC))


class Conn:
    """One connection with the few calls the central needs; rows come back as dicts."""

    def __init__(self, raw: Any, postgres: bool) -> None:
        self.raw, self.postgres = raw, postgres

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.raw.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self.raw.cursor().executemany(self._sql(sql), rows)

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.raw.execute(self._sql(sql), tuple(params))
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def tuples(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows as the driver gives them: for reads of many thousand rows, where a
        dict per row is most of the time."""
        return list(self.raw.execute(self._sql(sql), tuple(params)).fetchall())


class Database:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = url
        if parts.scheme == "sqlite":
            self.postgres = False
            self.path = Path(url[len("sqlite://"):] or "central.sqlite")
            if url.startswith("sqlite:///"):
                self.path = Path(url[len("sqlite://"):])
            self.path.parent.mkdir(parents=True, exist_ok=True)
            private_files.prepare_database(self.path, log)  # 0600 whatever the umask
        elif parts.scheme in ("postgresql", "postgres"):
            self.postgres = True
        else:
            raise ValueError("--db debe ser sqlite:///ruta o postgresql://…")
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    @property
    def kind(self) -> str:
        return "postgresql" if self.postgres else "sqlite"

    def _open(self) -> Any:
        if self.postgres:
            import psycopg  # only the national deployment needs it

            return psycopg.connect(self.url, autocommit=True)
        raw = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False,
                              timeout=30)
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("PRAGMA foreign_keys=ON")
        return raw

    def conn(self) -> Conn:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(conn.raw, "closed", False):
            conn = Conn(self._open(), self.postgres)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn.raw)
        return conn

    @contextmanager
    def transaction(self) -> Iterator[Conn]:
        """One transaction; on SQLite ``BEGIN IMMEDIATE`` so two writers never deadlock."""
        conn = self.conn()
        conn.raw.execute("BEGIN" if self.postgres else "BEGIN IMMEDIATE")
        try:
            yield conn
            conn.raw.execute("COMMIT")
        except BaseException:
            conn.raw.execute("ROLLBACK")
            raise

    def migrate(self) -> list[int]:
        """Apply the numbered migrations not yet applied; returns their numbers."""
        conn = self.conn()
        conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations(number INTEGER PRIMARY KEY, "
                     "name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        done = {r["number"] for r in conn.query("SELECT number FROM schema_migrations")}
        applied = []
        for number, name, statements in MIGRATIONS:
            if number in done:
                continue
            with self.transaction() as tx:
                for statement in statements:
                    if callable(statement):
                        statement(tx)  # a step that differs between the two databases
                    else:
                        tx.execute(statement)
                tx.execute("INSERT INTO schema_migrations(number, name, applied_at) "
                           "VALUES (?,?,?)", (number, name, now_iso()))
            applied.append(number)
        return applied

    def close(self) -> None:
        with self._lock:
            for raw in self._all:
                try:
                    raw.close()
                except Exception:  # noqa: S110 - closing at exit; nothing to do about it
                    pass
            self._all.clear()
        self._local = threading.local()
