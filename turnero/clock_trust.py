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

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from turnero.clock import from_iso
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


@dataclass(frozen=True)
class Correction:
    """Going back to the clock's time, vouched for ``by`` the central or the staff: the
    opening's own transaction records it (:func:`record`), so a refused opening records
    nothing and no other write comes between."""

    by: str


def check_before_opening(store: Store, *, confirmed: bool) -> Correction | None:
    """Refuse to open on a clock the witness contradicts; when the log is left in the future
    and the witness (or ``confirmed``: a supervisor) vouches for the clock, the correction
    the opening must make (``store.write(..., rebase=True)`` and :func:`record`). Writes
    nothing."""
    now = store.clock.now()
    other = opinion(store)
    if other is not None and abs(other - now) > MAX_SKEW:
        raise Conflict(
            f"La hora del equipo ({_when(now, store)}) difiere de la hora de la sede central "
            f"({_when(other, store)}). Corrija el reloj del equipo (NTP) antes de abrir la "
            f"jornada.", "clock_disagrees")
    ahead = store.log_ahead()
    if ahead <= MAX_SKEW:
        return None
    if other is None and not confirmed:
        raise Conflict(
            f"El registro del equipo llega hasta {_when(now + ahead, store)}, más tarde que la "
            f"hora del equipo ({_when(now, store)}): el reloj estuvo adelantado. Si la hora "
            f"actual es la correcta, abra la jornada confirmando la hora.", "clock_behind_log",
            log_until=(now + ahead).isoformat(), clock=now.isoformat())
    return Correction(by="central" if other is not None else "staff")


def record(tx: Tx, correction: Correction, *, actor: str | None) -> None:
    """Say in the log that the box went back to the clock's time, in the rebased transaction
    itself (``tx.now`` is the clock's time); nothing if the log is no longer ahead of it (an
    opening at the same moment made the correction first)."""
    last = tx.one("SELECT at FROM events ORDER BY seq DESC LIMIT 1")
    if last is None or from_iso(last["at"]) <= tx.now:
        return
    tx.emit("clock.corrected", actor=actor, clock_was=from_iso(last["at"]).isoformat(),
            by=correction.by)
