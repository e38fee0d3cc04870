"""How each módulo spent the day: serving, calling, idle, paused (by reason).

Read from the event log, the only place that remembers every state a módulo went through.
A módulo is *open* from ``counter.opened`` to ``counter.closed``; while open it is *calling*
from a ``ticket.called`` at it until that citizen's attention starts (or ends without
starting), *serving* from ``ticket.started`` until the attention ends, and *idle*
otherwise. *Paused* time is split by the reason given. Time is cut at local hour boundaries
so that it can be grouped by hour of day, and belongs to the asesor who opened the módulo.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

COUNTER_KINDS = ("counter.opened", "counter.paused", "counter.resumed", "counter.closed")
BUSY_KINDS = ("ticket.called", "ticket.started")
END_KINDS = ("ticket.finished", "ticket.no_show", "ticket.transferred", "ticket.cancelled",
             "ticket.expired")
KINDS = COUNTER_KINDS + BUSY_KINDS + END_KINDS


@dataclass
class _Desk:
    state: str = "closed"  # closed, open or paused:<reason>
    agent: str | None = None
    busy: str | None = None  # calling or serving
    ticket: str | None = None
    since: datetime | None = None


@dataclass(frozen=True)
class DeskEvent:
    kind: str
    at: datetime
    actor: str | None
    counter: int
    ticket: str | None
    reason: str | None = None


def slices(events: Iterable[DeskEvent], entity_of: dict[int, str], end: datetime,
           tz: ZoneInfo) -> list[tuple]:
    """(counter, entity, agent, hour, state, seconds) summed, from events in log order;
    módulos still open at ``end`` are counted until then."""
    desks: dict[int, _Desk] = defaultdict(_Desk)
    totals: dict[tuple, float] = defaultdict(float)

    def account(counter: int, desk: _Desk, until: datetime) -> None:
        if desk.since is not None and desk.state != "closed" and until > desk.since:
            state = desk.state if desk.state != "open" else (desk.busy or "idle")
            for hour, seconds in _by_hour(desk.since, until, tz):
                totals[(counter, desk.agent, hour, state)] += seconds
        desk.since = until

    for e in events:
        desk = desks[e.counter]
        account(e.counter, desk, e.at)
        _apply(desk, e)
    for counter, desk in desks.items():
        account(counter, desk, end)
    return [(counter, entity_of.get(counter, ""), agent, hour, state, seconds)
            for (counter, agent, hour, state), seconds in sorted(
                totals.items(), key=lambda kv: (kv[0][0], kv[0][2], str(kv[0][1]), kv[0][3]))]


def _apply(desk: _Desk, e: DeskEvent) -> None:
    if e.kind == "counter.opened":
        desk.state, desk.agent, desk.busy, desk.ticket = "open", e.actor, None, None
    elif e.kind == "counter.paused":
        desk.state = f"paused:{e.reason or 'other'}"
    elif e.kind == "counter.resumed":
        desk.state = "open"
    elif e.kind == "counter.closed":
        desk.state, desk.busy, desk.ticket = "closed", None, None
    elif e.kind == "ticket.called":
        desk.busy, desk.ticket = "calling", e.ticket
    elif e.kind == "ticket.started" and e.ticket == desk.ticket:
        desk.busy = "serving"
    elif e.kind in END_KINDS and e.ticket == desk.ticket:
        desk.busy, desk.ticket = None, None


def _by_hour(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[int, float]]:
    """Split [start, end) at local hour boundaries: (local hour, seconds) pieces."""
    out = []
    cursor = start
    while cursor < end:
        local = cursor.astimezone(tz)
        next_hour = (local.replace(minute=0, second=0, microsecond=0)
                     + timedelta(hours=1)).astimezone(end.tzinfo)
        stop = min(end, next_hour)
        out.append((local.hour, (stop - cursor).total_seconds()))
        cursor = stop
    return out
