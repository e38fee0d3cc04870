"""Expected wait: people ahead in the order the policy will call them, divided among the open
módulos of the queue, times the queue's recent attention time (DOMAIN.md §5).

The count of people ahead follows the default policy tiers (preferential, appointments in
their window, arrival). Anti-starvation options, when a centre enables them, let some normal
tickets in earlier; the figure then errs on the long side for normal tickets.
"""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime

from turnero.store import Store, Tx

Conn = sqlite3.Connection | Tx


_WAITING = ("SELECT COUNT(*) FROM attentions WHERE day = ? AND queue = ? "
            "AND status = 'waiting'")
_BEFORE = "(order_key < ? OR (order_key = ? AND id < ?))"
_AHEAD_OF_NORMAL = (
    f"SELECT ({_WAITING} AND preferential = 1), "
    f"({_WAITING} AND preferential = 0 AND {_BEFORE}), "
    f"({_WAITING} AND preferential = 0 AND slot IS NOT NULL AND slot BETWEEN ? AND ? "
    "AND (order_key > ? OR (order_key = ? AND id > ?)))")


def people_ahead(conn: Conn, day: str, queue: str, preferential: bool, order_key: float,
                 attention_id: int, now: float, early_s: float, late_s: float) -> int:
    if preferential:
        return conn.execute(
            f"{_WAITING} AND preferential = 1 AND {_BEFORE}",
            (day, queue, order_key, order_key, attention_id)).fetchone()[0]
    # The three counts in one statement: one trip into SQLite instead of three.
    prefs, earlier, later_slots = conn.execute(_AHEAD_OF_NORMAL, (
        day, queue, day, queue, order_key, order_key, attention_id,
        day, queue, now - late_s, now + early_s, order_key, order_key, attention_id)
    ).fetchone()
    return prefs + earlier + later_slots


_RECENT = ("SELECT (julianday(ended_at) - julianday(started_at)) * 1440.0 AS minutes "
           "FROM attentions WHERE queue = ? AND status = 'done' AND started_at IS NOT NULL "
           "ORDER BY ended_at DESC LIMIT ?")
_OPEN = ("SELECT COUNT(*) FROM counters c JOIN counter_queues cq ON cq.counter = c.id "
         "WHERE cq.queue = ? AND c.active AND c.status IN ('open', 'paused')")
# One row whatever the sample holds: the sum and count of the recent attention times
# (negative ones as 0) and the open módulos. Reading the times row by row would cost one
# SQLite step, and one GIL release, per attention.
_PACE = f"SELECT SUM(MAX(0.0, minutes)), COUNT(minutes), ({_OPEN}) FROM ({_RECENT})"


def pace(conn: Conn, store: Store, queue: str) -> tuple[float, int]:
    """(mean of the queue's last ``estimate_sample`` attention times in minutes, or the
    default when it has none; open módulos) of a queue."""
    total, count, counters = conn.execute(
        _PACE, (queue, queue, store.policy.estimate_sample)).fetchone()
    return (total / count if count else store.policy.default_attention_minutes), counters


def minutes_for(ahead: int, queue_pace: tuple[float, int]) -> int:
    """Expected minutes until the call for a ticket with ``ahead`` people before it."""
    per, counters = queue_pace
    return 0 if ahead == 0 else math.ceil(ahead * per / max(1, counters))


def wait_minutes(conn: Conn, store: Store, queue: str, ahead: int) -> int:
    return 0 if ahead == 0 else minutes_for(ahead, pace(conn, store, queue))


def for_attention(conn: Conn, store: Store, row: sqlite3.Row, now: datetime) -> tuple[int, int]:
    """(people ahead, expected wait in minutes) of a waiting attention."""
    p = store.policy
    ahead = people_ahead(conn, row["day"], row["queue"], bool(row["preferential"]),
                         row["order_key"], row["attention_id"], now.timestamp(),
                         p.appointment_early_minutes * 60, p.appointment_late_minutes * 60)
    return ahead, wait_minutes(conn, store, row["queue"], ahead)


def for_new_ticket(conn: Conn, store: Store, day: str, queue: str,
                   preferential: bool) -> tuple[int, int]:
    """(people ahead, expected wait in minutes) of a ticket issued now: after every waiting
    preferential ticket, and after everyone when it is a normal one."""
    sql = "SELECT COUNT(*) FROM attentions WHERE day = ? AND queue = ? AND status = 'waiting'"
    if preferential:
        sql += " AND preferential = 1"
    ahead = conn.execute(sql, (day, queue)).fetchone()[0]
    if ahead == 0:
        return 0, 0
    per, counters = pace(conn, store, queue)
    if counters == 0:  # before the módulos open, count those that will serve the queue
        counters = conn.execute(
            "SELECT COUNT(*) FROM counters c JOIN counter_queues cq ON cq.counter = c.id "
            "WHERE cq.queue = ? AND c.active", (queue,)).fetchone()[0]
    return ahead, minutes_for(ahead, (per, counters))
