"""The event log seen as an outbox: what the uplink has still to send, and what the central
acknowledged or refused.

The uplink reads with its own connection (never the writer's, so issuing a ticket never waits
for it) and writes only its watermark and the refused events, each in one short transaction
through :meth:`Store.write`. Events are never deleted because they were sent: the log stays
the centre's evidence.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from turnero.store import Store, Tx, connect


@dataclass(frozen=True)
class Outgoing:
    """One event as stored, ready to be described to the central."""

    seq: int
    uid: str
    kind: str
    at: str
    actor: str | None
    counter: int | None
    ticket: str | None
    payload: str  # JSON text, as written by the engine


def reader(store: Store) -> sqlite3.Connection:
    """A read-only connection of the uplink's own: its reads never hold a reader of the
    request threads, and WAL lets them run beside the writer."""
    conn = connect(store.path)
    conn.execute("PRAGMA query_only=ON")
    return conn


def acked_seq(conn: sqlite3.Connection, destination: str) -> int:
    row = conn.execute("SELECT acked_seq FROM sync_state WHERE destination = ?",
                       (destination,)).fetchone()
    return int(row[0]) if row else 0


def pending(conn: sqlite3.Connection, after: int, limit: int) -> list[Outgoing]:
    """The next ``limit`` events after ``after``, in log order."""
    rows = conn.execute("SELECT seq, uid, kind, at, actor, counter, ticket, payload FROM events "
                        "WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)).fetchall()
    return [Outgoing(*tuple(r)) for r in rows]


def status(conn: sqlite3.Connection, destination: str) -> dict[str, Any]:
    """Local vs acknowledged, as the operator needs to see it."""
    local = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    row = conn.execute("SELECT acked_seq, last_success, last_error, last_error_at, "
                       "rewound_from, rewound_to, rewound_at "
                       "FROM sync_state WHERE destination = ?", (destination,)).fetchone()
    acked = int(row["acked_seq"]) if row else 0
    backlog = conn.execute("SELECT COUNT(*) FROM events WHERE seq > ?", (acked,)).fetchone()[0]
    rejected = conn.execute("SELECT COUNT(*) FROM sync_rejects WHERE destination = ?",
                            (destination,)).fetchone()[0]
    return {"local_seq": int(local), "acked_seq": acked, "backlog": int(backlog),
            "rejected": int(rejected),
            "last_success": row["last_success"] if row else None,
            "last_error": row["last_error"] if row else None,
            "last_error_at": row["last_error_at"] if row else None,
            "rewound": _rewound(row, acked)}


def _rewound(row: sqlite3.Row | None, acked: int) -> dict[str, Any] | None:
    """The central's last gap as the box met it: events resent from ``to`` + 1 because the
    central held nothing past ``to`` though the box had sent up to ``from``; ``resending``
    until the watermark is back past ``from``."""
    if row is None or row["rewound_at"] is None:
        return None
    return {"from": row["rewound_from"], "to": row["rewound_to"], "at": row["rewound_at"],
            "resending": acked < row["rewound_from"]}


def rejects(conn: sqlite3.Connection, destination: str, limit: int = 100) -> list[dict[str, Any]]:
    """The events the central refused, newest first, with its reason and the event itself."""
    rows = conn.execute(
        "SELECT r.seq, r.uid, r.reason, r.at, e.kind, e.at AS event_at FROM sync_rejects r "
        "LEFT JOIN events e ON e.seq = r.seq WHERE r.destination = ? ORDER BY r.seq DESC "
        "LIMIT ?", (destination, limit)).fetchall()
    return [dict(r) for r in rows]


def queue_targets(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The ANS targets of the queues: the central needs them to tell the share of waits
    within target, and events do not carry them."""
    rows = conn.execute("SELECT code, entity, name, max_wait_minutes, max_attention_minutes "
                        "FROM queues ORDER BY code").fetchall()
    return [dict(r) for r in rows]


def _ensure(tx: Tx, destination: str) -> None:
    tx.execute("INSERT OR IGNORE INTO sync_state(destination) VALUES (?)", (destination,))


def acknowledge(store: Store, destination: str, acked: int,
                refused: list[tuple[int, str, str]]) -> None:
    """Move the watermark to ``acked`` (never back) and keep the refused events with their
    reason, in one short transaction."""
    def op(tx: Tx) -> None:
        _ensure(tx, destination)
        tx.execute("UPDATE sync_state SET acked_seq = MAX(acked_seq, ?), last_success = ?, "
                   "last_error = NULL, last_error_at = NULL WHERE destination = ?",
                   (acked, tx.at, destination))
        tx.conn.executemany(
            "INSERT OR REPLACE INTO sync_rejects(destination, seq, uid, reason, at) "
            "VALUES (?,?,?,?,?)", [(destination, s, u, r, tx.at) for s, u, r in refused])
    store.write(op)


def rewind(store: Store, destination: str, held: int, sent_up_to: int) -> None:
    """The central holds this centre's log only up to ``held`` (a restored or new copy of
    it): the one move of the watermark backwards, so everything after ``held`` goes again
    (what the central still has comes back as duplicates)."""
    def op(tx: Tx) -> None:
        _ensure(tx, destination)
        tx.execute("UPDATE sync_state SET acked_seq = ?, rewound_from = ?, rewound_to = ?, "
                   "rewound_at = ? WHERE destination = ?",
                   (held, sent_up_to, held, tx.at, destination))
    store.write(op)


def record_error(store: Store, destination: str, error: str) -> None:
    """Remember the last failure (written when the failure changes, not on every attempt)."""
    def op(tx: Tx) -> None:
        _ensure(tx, destination)
        tx.execute("UPDATE sync_state SET last_error = ?, last_error_at = ? "
                   "WHERE destination = ?", (error[:500], tx.at, destination))
    store.write(op)
