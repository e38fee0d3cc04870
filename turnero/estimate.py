"""Expected wait: people ahead in the order the policy will call them, divided among the open
módulos of the queue, times the queue's recent attention time (docs/design.md, "Estimate").

The count of people ahead follows the default policy tiers (preferential, appointments in
their window, arrival). Anti-starvation options, when a centre enables them, let some normal
tickets in earlier; the figure then errs on the long side for normal tickets.

While no módulo serves a queue yet, dividing by "the open módulos, or 1" would promise a
crowd at the door hours of wait. Then the estimate counts the módulos expected to serve it
(those of the queue that called in the first hour of its last day with attentions, at most
its assigned módulos; its assigned módulos on a first day) and, before today's opening
time, starts counting at that time: the ticket's view says when attention starts
(``attention_starts_at``) and its minutes run from now to the expected call.
"""

from __future__ import annotations

import math
import sqlite3
from datetime import datetime, time
from typing import NamedTuple
from weakref import WeakKeyDictionary

from config.model import Hours, Schedule
from turnero.clock import to_iso
from turnero.hours import day_hours, schedule_for
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


# A módulo's time per citizen runs from the call, not from the start: the walk to the módulo
# and the recalls of those slow to come take the módulo as much as the attention does.
_RECENT = ("SELECT (julianday(ended_at) - julianday(called_at)) * 1440.0 AS minutes, "
           "preferential FROM attentions WHERE queue = ? AND status = 'done' "
           "AND called_at IS NOT NULL ORDER BY ended_at DESC LIMIT ?")
# The open módulos of a queue, each counted for its share of it: a módulo that also serves
# other queues with people waiting splits its time among them (one more queue waiting, half
# of its time each); its queues with nobody waiting take none of it.
_SHARES = ("SELECT TOTAL(1.0 / (1 + (SELECT COUNT(*) FROM counter_queues other "
           "WHERE other.counter = c.id AND other.queue IN (SELECT q.code FROM queues q "
           "WHERE q.active AND q.code != ? AND EXISTS (SELECT 1 FROM attentions a "
           "WHERE a.day = ? AND a.queue = q.code AND a.status = 'waiting'))))) "
           "FROM counters c JOIN counter_queues cq ON cq.counter = c.id "
           "WHERE cq.queue = ? AND c.active")
_OPEN = f"{_SHARES} AND c.status IN ('open', 'paused')"
_OPEN_COUNT = ("SELECT COUNT(*) FROM counters c JOIN counter_queues cq ON cq.counter = c.id "
               "WHERE cq.queue = ? AND c.active AND c.status IN ('open', 'paused')")
MAX_PREFERENTIAL_SHARE = 0.5
# A citizen takes a módulo a minute at least (the call, the walk to it, the greeting): a run
# of citizens sent away in seconds must not tell those waiting that their turn is near, nor
# let a kiosk issue tickets that cannot be served before closing.
MIN_MINUTES_PER_CITIZEN = 1.0
# One row whatever the sample holds: the sum and count of the recent times per citizen
# (each at least MIN_MINUTES_PER_CITIZEN), the open módulos, and the preferential share of
# the same recent attentions (everyone who arrives is served in the end, so on a busy queue
# it is the share of the arrivals, read from rows already at hand). Reading the times row
# by row would cost one SQLite step, and one GIL release, per attention.
_PACE = (f"SELECT SUM(MAX({MIN_MINUTES_PER_CITIZEN}, minutes)), COUNT(minutes), ({_OPEN}), "
         f"({_OPEN_COUNT}), "
         f"AVG(preferential) FROM ({_RECENT})")


class Pace(NamedTuple):
    """How fast a queue moves: minutes of a módulo per citizen, open módulos (each counted
    for its share of the queue), and the share of preferential tickets among its arrivals;
    also how many módulos serving it are open (for people to read)."""

    minutes: float
    counters: float
    preferential_share: float = 0.0
    open_counters: int = 0


def pace(conn: Conn, store: Store, queue: str) -> Pace:
    """The queue's pace from its last ``estimate_sample`` attentions (the default time per
    citizen when it has none) and its módulos open now."""
    day = store.service_day(store.now())
    total, count, counters, open_counters, share = conn.execute(
        _PACE, (queue, day, queue, queue, queue, store.policy.estimate_sample)).fetchone()
    minutes = total / count if count else store.policy.default_attention_minutes
    return Pace(minutes, counters, min(MAX_PREFERENTIAL_SHARE, share or 0.0), open_counters)


def minutes_for(ahead: int, queue_pace: Pace, normal: bool = False) -> int:
    """Expected minutes until the call for a ticket with ``ahead`` people before it. A normal
    ticket also waits for the preferential ones that arrive meanwhile and go first by law:
    with a share p of preferential arrivals on a busy queue, 1 / (1 - p) times longer."""
    return 0 if ahead == 0 else math.ceil(_work(ahead, queue_pace, normal))


def _work(ahead: int, queue_pace: Pace, normal: bool) -> float:
    """Minutes the queue's módulos need before they reach a ticket with ``ahead`` before it."""
    per, counters, share, _ = queue_pace
    people = ahead / (1.0 - share) if normal else ahead
    return people * per / (counters if counters > 0 else 1)


def wait_minutes(conn: Conn, store: Store, queue: str, ahead: int, normal: bool) -> int:
    return 0 if ahead == 0 else minutes_for(ahead, pace(conn, store, queue), normal)


class Estimate(NamedTuple):
    """What a ticket is told: people ahead, minutes until its expected call and, while no
    módulo serves its queue before today's opening time, when attention starts."""

    ahead: int
    minutes: int
    starts_at: datetime | None = None


def estimate_attention(conn: Conn, store: Store, row: sqlite3.Row, now: datetime) -> Estimate:
    """The estimate of a waiting attention (a row of ``attention.CURRENT_SQL``)."""
    p = store.policy
    ahead = people_ahead(conn, row["day"], row["queue"], bool(row["preferential"]),
                         row["order_key"], row["attention_id"], now.timestamp(),
                         p.appointment_early_minutes * 60, p.appointment_late_minutes * 60)
    return outlook(conn, store, row["queue"], ahead, not row["preferential"], now)


def for_attention(conn: Conn, store: Store, row: sqlite3.Row, now: datetime) -> tuple[int, int]:
    """(people ahead, expected wait in minutes) of a waiting attention."""
    found = estimate_attention(conn, store, row, now)
    return found.ahead, found.minutes


def estimate_new_ticket(conn: Conn, store: Store, day: str, queue: str,
                        preferential: bool) -> Estimate:
    """The estimate of a ticket issued now: after every waiting preferential ticket, and
    after everyone when it is a normal one."""
    sql = "SELECT COUNT(*) FROM attentions WHERE day = ? AND queue = ? AND status = 'waiting'"
    if preferential:
        sql += " AND preferential = 1"
    ahead = conn.execute(sql, (day, queue)).fetchone()[0]
    return outlook(conn, store, queue, ahead, not preferential, store.now())


def for_new_ticket(conn: Conn, store: Store, day: str, queue: str,
                   preferential: bool) -> tuple[int, int]:
    """(people ahead, expected wait in minutes) of a ticket issued now (the kiosk's check
    before closing uses it)."""
    found = estimate_new_ticket(conn, store, day, queue, preferential)
    return found.ahead, found.minutes


def outlook(conn: Conn, store: Store, queue: str, ahead: int, normal: bool,
            now: datetime, queue_pace: Pace | None = None) -> Estimate:
    """The estimate for ``ahead`` people before a ticket: from the open módulos, or, while
    none serves the queue, from those expected and (before opening) from the opening time."""
    queue_pace = queue_pace or pace(conn, store, queue)
    if queue_pace.counters > 0:
        return Estimate(ahead, minutes_for(ahead, queue_pace, normal))
    expected = queue_pace._replace(counters=expected_counters(conn, store, queue, now))
    work = 0.0 if ahead == 0 else _work(ahead, expected, normal)
    opens = opening_time(store, now)
    if opens is None or now >= opens:
        return Estimate(ahead, math.ceil(work))
    return Estimate(ahead, math.ceil((opens - now).total_seconds() / 60 + work), opens)


# The módulos that called a queue's tickets in the first hour of its last day with
# attentions before today: how many of them usually open it.
_STAFFED = (
    "WITH last AS (SELECT day FROM attentions WHERE queue = ? AND status = 'done' "
    "AND ended_at < ? ORDER BY ended_at DESC LIMIT 1), "
    "first AS (SELECT MIN(julianday(called_at)) AS t FROM attentions "
    "WHERE day = (SELECT day FROM last) AND queue = ? AND status = 'done') "
    "SELECT COUNT(DISTINCT counter) FROM attentions WHERE day = (SELECT day FROM last) "
    "AND queue = ? AND status = 'done' AND julianday(called_at) < (SELECT t FROM first) "
    "+ 1 / 24.0")


def expected_counters(conn: Conn, store: Store, queue: str, now: datetime) -> float:
    """Módulos expected to serve a queue nobody serves yet: as many as called it in the first
    hour of its last day (at most its assigned ones, each for its share of it), else all
    its assigned módulos; 0 when no active módulo serves it."""
    day = store.service_day(now)
    local_midnight = datetime.combine(now.astimezone(store.tz).date(), time(), store.tz)
    shares = conn.execute(_SHARES, (queue, day, queue)).fetchone()[0]
    staffed = conn.execute(_STAFFED, (queue, to_iso(local_midnight), queue, queue)
                           ).fetchone()[0]
    return min(float(staffed), shares) if staffed else shares


_HOURS: WeakKeyDictionary[Store, tuple[Hours, Schedule]] = WeakKeyDictionary()


def use_hours(store: Store, hours: Hours, schedule: Schedule) -> None:
    """Tell the estimate the centre's opening hours (the defaults until then)."""
    _HOURS[store] = (hours, schedule)


def opening_time(store: Store, now: datetime) -> datetime | None:
    """Today's opening time, None on a day the centre does not open."""
    hours, schedule = _HOURS.get(store) or (Hours(), Schedule())
    schedule = schedule_for(store, schedule)
    local = now.astimezone(store.tz)
    return day_hours(hours, local.date(), str(store.tz), schedule).opens


class QueueOutlook(NamedTuple):
    """The estimates a queue list shows: for a normal and a preferential ticket issued now."""

    normal_minutes: int
    preferential_minutes: int
    starts_at: datetime | None
    open_counters: int


def for_queue(conn: Conn, store: Store, queue: str, waiting: int, preferential: int,
              now: datetime) -> QueueOutlook:
    queue_pace = pace(conn, store, queue)
    normal = outlook(conn, store, queue, waiting, True, now, queue_pace)
    prefs = outlook(conn, store, queue, preferential, False, now, queue_pace)
    return QueueOutlook(normal.minutes, prefs.minutes, normal.starts_at,
                        queue_pace.open_counters)
