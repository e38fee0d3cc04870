"""Whether the box's clock may be trusted to open a jornada, and the way back from a clock
that ran ahead.

A box with a wrong clock opens the wrong day, stamps every event with the wrong time and
sends them to the central as if they were true. Before a day opens, the clock is checked
against the other opinion the box may have (``Store.time_witness``: the central's time,
from the Date header of its answers): more than ``MAX_SKEW`` apart, the day does not open
and the supervisor is told why. A clock that ran ahead and was put right leaves the log in
its future (``Store.now`` never goes back, so the box would go on stamping that future):
when the central confirms the clock, or a supervisor does, the box goes back to the
clock's time once, records it (``clock.corrected``), and a jornada left open on the wrong
date is closed when today's opens.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from turnero.errors import Conflict
from turnero.store import Store, Tx

MAX_SKEW = timedelta(minutes=10)


def _when(moment: datetime, store: Store) -> str:
    return moment.astimezone(store.tz).strftime("%Y-%m-%d %H:%M")


def opinion(store: Store) -> datetime | None:
    """The witness's time now, if the box has one that answers."""
    try:
        return store.time_witness() if store.time_witness is not None else None
    except Exception:  # a broken witness is no opinion; the clock alone decides
        return None


def state(store: Store) -> dict[str, Any]:
    """The clock against its witness and against the log, for health and the supervisor."""
    now = store.clock.now()
    other = opinion(store)
    offset = (other - now).total_seconds() if other is not None else None
    ahead = store.log_ahead()
    problems = []
    if offset is not None and abs(offset) > MAX_SKEW.total_seconds():
        problems.append(f"la hora del equipo ({_when(now, store)}) difiere de la de la sede "
                        f"central ({_when(other, store)})")  # type: ignore[arg-type]
    if ahead > MAX_SKEW:
        problems.append(f"el registro llega hasta {_when(now + ahead, store)}, más tarde que "
                        f"la hora del equipo: el reloj estuvo adelantado")
    return {"status": "warning" if problems else "ok", "central_offset_seconds": offset,
            "log_ahead_seconds": round(ahead.total_seconds(), 1), "problems": problems}


def check_before_opening(store: Store, *, actor: str | None, confirmed: bool) -> None:
    """Refuse to open on a clock the witness contradicts; bring the time back from a log
    left in the future when the witness (or ``confirmed``: a supervisor) vouches for the
    clock."""
    now = store.clock.now()
    other = opinion(store)
    if other is not None and abs(other - now) > MAX_SKEW:
        raise Conflict(
            f"La hora del equipo ({_when(now, store)}) difiere de la hora de la sede central "
            f"({_when(other, store)}). Corrija el reloj del equipo (NTP) antes de abrir la "
            f"jornada.", "clock_disagrees")
    ahead = store.log_ahead()
    if ahead <= MAX_SKEW:
        return
    if other is None and not confirmed:
        raise Conflict(
            f"El registro del equipo llega hasta {_when(now + ahead, store)}, más tarde que la "
            f"hora del equipo ({_when(now, store)}): el reloj estuvo adelantado. Si la hora "
            f"actual es la correcta, abra la jornada confirmando la hora.", "clock_behind_log",
            log_until=(now + ahead).isoformat(), clock=now.isoformat())
    corrected(store, now + ahead, actor=actor, by="central" if other is not None else "staff")


def corrected(store: Store, was: datetime, *, actor: str | None, by: str) -> None:
    """Go back to the clock's time and say so in the log."""
    def op(tx: Tx) -> None:
        tx.emit("clock.corrected", actor=actor, clock_was=was.isoformat(), by=by)
    store.rebase_time(op)
