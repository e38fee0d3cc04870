"""A day's facts read from the engine's tables (and módulo time from the event log)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

from turnero.reports import desk_time
from turnero.reports.eventlog import events_between, payload
from turnero.reports.facts import AttentionTimes, DayFacts, day_bounds, pack

ATTENTIONS_SQL = """
SELECT a.ticket, a.step, a.queue, a.service, a.status, a.preferential, a.entered_at,
       a.called_at, a.started_at, a.ended_at, a.counter, a.agent, t.priority, t.channel,
       q.entity
FROM attentions a JOIN tickets t ON t.id = a.ticket JOIN queues q ON q.code = a.queue
WHERE a.day = ? ORDER BY a.ticket, a.step
"""


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def build_day(conn: sqlite3.Connection, day: str, tz: ZoneInfo, until: datetime) -> DayFacts:
    """The facts of ``day`` as the tables hold them now; open módulos count until ``until``."""
    rows = conn.execute(ATTENTIONS_SQL, (day,)).fetchall()
    ratings = dict(conn.execute("SELECT r.ticket, r.score FROM ratings r JOIN tickets t "
                                "ON t.id = r.ticket WHERE t.day = ?", (day,)).fetchall())
    last_done = {r["ticket"]: i for i, r in enumerate(rows) if r["status"] == "done"}
    items = []
    for i, r in enumerate(rows):
        rating = ratings.get(r["ticket"], 0) if last_done.get(r["ticket"]) == i else 0
        items.append(AttentionTimes(
            entity=r["entity"], queue=r["queue"], service=r["service"], counter=r["counter"],
            agent=r["agent"], priority=r["priority"], channel=r["channel"],
            preferential=bool(r["preferential"]), first=r["step"] == 1, status=r["status"],
            entered=datetime.fromisoformat(r["entered_at"]), called=_time(r["called_at"]),
            started=_time(r["started_at"]), ended=_time(r["ended_at"]), rating=rating))
    return pack(day, items, desk_slices(conn, day, tz, until), tz)


def desk_slices(conn: sqlite3.Connection, day: str, tz: ZoneInfo,
                until: datetime) -> list[tuple]:
    start, end = day_bounds(day, tz)
    events = [desk_time.DeskEvent(e["kind"], datetime.fromisoformat(e["at"]), e["actor"],
                                  e["counter"], e["ticket"],
                                  payload(e).get("reason") if e["kind"] == "counter.paused"
                                  else None)
              for e in events_between(conn, start, end, desk_time.KINDS)
              if e["counter"] is not None]
    entity_of = dict(conn.execute("SELECT id, entity FROM counters").fetchall())
    return desk_time.slices(events, entity_of, min(end, until), tz)
