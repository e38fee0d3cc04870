"""Whether a kiosk would issue a ticket in a queue right now, for a normal and for a
preferential citizen: the same rule as a kiosk's ``POST /api/v1/tickets``, shown on the
kiosk's tiles before the citizen takes any step (so nobody is refused at the last screen).

The figure that costs something (the expected call) is read once per queue and category,
never per service: a centre has hundreds of services and a few dozen queues."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from turnero import estimate
from turnero.store import Store, Tx

Conn = sqlite3.Connection | Tx

AFTER_CLOSING = "after_closing"
ISSUING_ENDED = "issuing_ended"
CLOSED_TODAY = "closed_today"

FULL_FOR_NORMAL = ("Por la espera de hoy ya no alcanzaríamos a atenderle antes del cierre. "
                   "Las personas con atención preferente todavía pueden sacar su turno.")
FULL_FOR_ALL = ("Por la espera de hoy ya no alcanzaríamos a atenderle antes del cierre. "
                "Acérquese al orientador.")
DAY_ENDED = "La atención de hoy ya terminó. Le esperamos el próximo día de atención."
DAY_NOT_STARTED = "La atención de hoy todavía no ha empezado."


@dataclass(frozen=True)
class IssuingRules:
    """What a kiosk is held to today, from the centre's settings: today's closing time
    (None on a day without hours), whether issuing stops at it, and whether (and how
    early) a ticket that would be called after it is refused."""

    closes_at: datetime | None
    stop_issuing: bool = True
    refuse_after_closing: bool = True
    margin_minutes: int = 0

    @property
    def last_call(self) -> datetime | None:
        """The latest expected call a kiosk ticket may have, or None when any will do."""
        if self.closes_at is None or not self.refuse_after_closing:
            return None
        return self.closes_at - timedelta(minutes=self.margin_minutes)


def expected_call(conn: Conn, store: Store, queue: str, preferential: bool,
                  now: datetime) -> datetime:
    """When a ticket issued now in ``queue`` is expected to be called (the wait estimate)."""
    _, minutes = estimate.for_new_ticket(conn, store, store.service_day(now), queue,
                                         preferential)
    return now + timedelta(minutes=minutes)


def _flags(normal: bool, preferential: bool, reason: str | None = None,
           message: str | None = None) -> dict[str, Any]:
    return {"normal": normal, "preferential": preferential, "reason": reason,
            "message": message}


def _day_state(conn: Conn, store: Store, now: datetime) -> str | None:
    """None when today's jornada is open; otherwise the citizen's message."""
    row = conn.execute("SELECT closed_at FROM days WHERE day = ?",
                       (store.service_day(now),)).fetchone()
    if row is None:
        return DAY_NOT_STARTED
    return DAY_ENDED if row["closed_at"] is not None else None


def for_queues(store: Store, rules: IssuingRules,
               queues: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The ``issuing`` object of each queue (items with ``code``, ``is_open``, ``waiting``
    and ``waiting_preferential``, as in the queue list), by queue code."""
    conn, now = store.reader(), store.now()
    closed = _day_state(conn, store, now)
    if closed is not None:
        return {q["code"]: _flags(False, False, CLOSED_TODAY, closed) for q in queues}
    if rules.stop_issuing and rules.closes_at is not None and now >= rules.closes_at:
        text = (f"La atención de hoy terminó a las {rules.closes_at:%H:%M}; ya no se emiten "
                "turnos.")
        return {q["code"]: _flags(False, False, ISSUING_ENDED, text) for q in queues}
    return {q["code"]: _queue_flags(conn, store, rules, q, now) for q in queues}


def _queue_flags(conn: Conn, store: Store, rules: IssuingRules, queue: dict[str, Any],
                 now: datetime) -> dict[str, Any]:
    """One open day's queue: a closed queue issues nothing (its ``closed_reason`` says
    why); otherwise only the closing estimate can refuse. A preferential citizen waits
    only for the preferential ones, so when a normal ticket fits, a preferential one does."""
    if not queue["is_open"]:
        return _flags(False, False)
    last = rules.last_call
    if last is None:
        return _flags(True, True)
    if now <= last and (not queue["waiting"]
                        or expected_call(conn, store, queue["code"], False, now) <= last):
        return _flags(True, True)
    preferential = now <= last and (
        not queue["waiting_preferential"]
        or expected_call(conn, store, queue["code"], True, now) <= last)
    return _flags(False, preferential, AFTER_CLOSING,
                  FULL_FOR_NORMAL if preferential else FULL_FOR_ALL)
