"""The jornada by the calendar: when the day opens, stops issuing and closes, and the engine
calls that make it so.

Each ``*_if_due`` function looks at the store's clock and the days table and does only what
is due, so the scheduler may call it at its moment, again after a restart, or twice: a day a
supervisor closed early is not opened again, a day already open is left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from config.model import Hours, Schedule
from turnero import day as jornada
from turnero.hours import DayHours, day_hours, schedule_for
from turnero.store import Store

MOMENTS = ("open", "stop", "close")
ACTOR = "scheduler"
# How far ahead a trigger looks for the next working day: beyond a year of closures.
HORIZON_DAYS = 400


@dataclass(frozen=True)
class Calendar:
    hours: Hours
    schedule: Schedule
    timezone: str
    owner: Any = None  # the store whose central dated days count too (hours.schedule_for)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def on(self, day: date) -> DayHours:
        return day_hours(self.hours, day, self.timezone, schedule_for(self.owner, self.schedule))

    def moment(self, kind: str, day: date) -> datetime | None:
        """When the day opens (minus the lead), stops issuing, or closes (plus the grace)."""
        dh = self.on(day)
        if dh.opens is None or dh.closes is None:
            return None
        return {"open": dh.opens - timedelta(minutes=self.schedule.open_minutes_before),
                "stop": dh.closes,
                "close": dh.closes + timedelta(minutes=self.schedule.close_grace_minutes)}[kind]

    def next_moment(self, kind: str, after: datetime) -> datetime | None:
        """The first ``kind`` moment at or after ``after``."""
        start = after.astimezone(self.tz).date() - timedelta(days=1)
        for offset in range(HORIZON_DAYS):
            when = self.moment(kind, start + timedelta(days=offset))
            if when is not None and when >= after:
                return when
        return None

    def close_moment_of(self, day: str) -> datetime:
        """When an open jornada of ``day`` is due to close: its close moment, or the end of
        that date if it was opened on a date with no hours."""
        local = date.fromisoformat(day)
        found = self.moment("close", local)
        if found is not None:
            return found
        return datetime.combine(local + timedelta(days=1), datetime.min.time(), self.tz)


def open_if_due(store: Store, calendar: Calendar,
                checks: dict[str, Any] | None = None) -> dict[str, Any]:
    """Open today's jornada if the calendar says it is open now and nobody opened or closed
    it yet today. ``checks`` are the automatic opening checks, recorded with the day."""
    now = store.now()
    today = now.astimezone(calendar.tz).date()
    dh = calendar.on(today)
    if not dh.is_open:
        reason = {"closure": "cierre del centro", "holiday": f"feriado: {dh.holiday}"}.get(
            dh.kind, "día sin atención")
        return {"action": "none", "detail": f"Hoy no se abre ({reason})."}
    if calendar.schedule.open_day == "manual":
        return {"action": "none", "detail": "Apertura manual: la abre el supervisor."}
    opens_at = calendar.moment("open", today)
    assert opens_at is not None and dh.closes is not None
    if not opens_at <= now < dh.closes:
        return {"action": "none", "detail": "Fuera del horario de apertura."}
    row = store.reader().execute("SELECT closed_at FROM days WHERE day = ?",
                                 (today.isoformat(),)).fetchone()
    if row is not None:
        state = "abierta" if row["closed_at"] is None else "cerrada por el supervisor"
        return {"action": "none", "detail": f"La jornada ya está {state}."}
    opened = jornada.open_day(store, actor=ACTOR, checks=checks or {})
    return {"action": "opened", "date": opened["date"]}


def stop_if_due(store: Store, calendar: Calendar) -> dict[str, Any]:
    """At closing time: tell the screens that issuing ended (the rule is in issue_ticket)."""
    now = store.now()
    closes = calendar.on(now.astimezone(calendar.tz).date()).closes
    if closes is None or now < closes or not calendar.schedule.stop_issuing:
        return {"action": "none", "detail": "No corresponde detener la emisión."}
    if jornada.stop_issuing(store, closes_at=closes.isoformat(timespec="minutes"),
                            actor=ACTOR):
        return {"action": "stopped", "closes_at": closes.isoformat(timespec="minutes")}
    return {"action": "none", "detail": "No hay jornada abierta."}


def close_if_due(store: Store, calendar: Calendar) -> dict[str, Any]:
    """Close every open jornada whose close moment passed, expiring what still waits."""
    if calendar.schedule.close_day == "manual":
        return {"action": "none", "detail": "Cierre manual: lo hace el supervisor."}
    now = store.now()
    closed: list[dict[str, Any]] = []
    for row in store.reader().execute(
            "SELECT day FROM days WHERE closed_at IS NULL ORDER BY day").fetchall():
        if now >= calendar.close_moment_of(row["day"]):
            result = jornada.close_past_day(store, row["day"], actor=ACTOR)
            if result["closed"]:
                closed.append({k: result[k] for k in ("date", "expired", "finished")})
    if not closed:
        return {"action": "none", "detail": "Ninguna jornada por cerrar."}
    return {"action": "closed", "days": closed}


def catch_up(store: Store, calendar: Calendar,
             checks: dict[str, Any] | None = None) -> dict[str, Any]:
    """At start-up: a box that was off at a moment does now what it missed (close what is
    past, then open today if it is open hours)."""
    closed = close_if_due(store, calendar)
    opened = open_if_due(store, calendar, checks)
    return {"action": "catch_up", "close": closed, "open": opened}
