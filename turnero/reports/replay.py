"""A day's facts rebuilt from the event log alone: the audit of the indicators.

The reports read the engine's tables; this module replays the day's ticket events instead
(issue, call, start, end, transfer, next step, reactivation, category change, rating) and
packs the same records. Equal reports from both prove that the tables and the log tell the
same story, which is what the central office, fed only with events, relies on.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from turnero.reports.eventlog import events_between, payload
from turnero.reports.facts import AttentionTimes, DayFacts, day_bounds, pack
from turnero.reports.tables import desk_slices

ENDS = {"ticket.finished": "done", "ticket.no_show": "no_show",
        "ticket.cancelled": "cancelled", "ticket.expired": "expired",
        "ticket.transferred": "transferred"}
NEW_STEP = ("ticket.transferred", "ticket.next_step")
LATE_DAYS = 3  # a day closed late (box off at night) still ends within this many days


def build_day_from_events(conn: sqlite3.Connection, day: str, tz: ZoneInfo,
                          until: datetime) -> DayFacts:
    start, end = day_bounds(day, tz)
    entity_of = dict(conn.execute("SELECT code, entity FROM queues").fetchall())
    steps: dict[tuple[str, int], AttentionTimes] = {}
    current: dict[str, int] = {}
    ratings: dict[str, int] = {}
    for e in events_between(conn, start, end + timedelta(days=LATE_DAYS)):
        if not e["kind"].startswith("ticket.") or e["ticket"] is None:
            continue
        p = payload(e)
        if p.get("day") != day:
            continue
        _replay(e, p, datetime.fromisoformat(e["at"]), steps, current, ratings, entity_of)
    items = list(steps.values())
    last_done = {}
    for (uid, step), a in steps.items():
        if a.status == "done":
            last_done[uid] = (uid, step)
    for uid, score in ratings.items():
        if uid in last_done:
            steps[last_done[uid]].rating = score
    return pack(day, items, desk_slices(conn, day, tz, until), tz)


def _replay(e: sqlite3.Row, p: dict, at: datetime,
            steps: dict[tuple[str, int], AttentionTimes], current: dict[str, int],
            ratings: dict[str, int], entity_of: dict[str, str]) -> None:
    uid, kind = e["ticket"], e["kind"]
    if kind == "ticket.issued":
        steps[(uid, 1)] = AttentionTimes(
            entity=entity_of.get(p["queue"], ""), queue=p["queue"], service=p["service"],
            counter=None, agent=None, priority=p["priority"], channel=p["channel"],
            preferential=bool(p["preferential"]), first=True, status="waiting", entered=at,
            called=None, started=None, ended=None)
        current[uid] = 1
        return
    a = steps.get((uid, p.get("step", current.get(uid, 0))))
    if a is None:
        return
    if kind == "ticket.called":
        a.status, a.called = "called", a.called or at
        a.counter, a.agent = e["counter"], e["actor"]
    elif kind == "ticket.started":
        a.status, a.started = "serving", at
    elif kind in ENDS:
        a.status, a.ended = ENDS[kind], at
    elif kind == "ticket.reactivated":
        a.status, a.ended, a.counter = "waiting", None, None
    elif kind == "ticket.priority_changed":
        for step in [s for (u, s) in steps if u == uid]:
            steps[(uid, step)].priority = p["priority"]
        a.preferential = bool(p["preferential"])
    elif kind == "ticket.rated":
        ratings[uid] = p["score"]
    if kind in NEW_STEP:
        step = p["step"] + 1
        steps[(uid, step)] = replace(
            a, entity=entity_of.get(p["to_queue"], ""), queue=p["to_queue"],
            service=p["to_service"], counter=None, agent=None, first=False,
            status="waiting", entered=at, called=None, started=None, ended=None, rating=0)
        current[uid] = step
