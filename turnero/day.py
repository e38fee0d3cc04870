"""The service day (jornada): opening, closing, and expiring what is left at closing."""

from __future__ import annotations

import json
from typing import Any

from turnero import checklist, cita_outcomes, clock_trust, print_jobs
from turnero.clock import BUILD_DATE, is_plausible
from turnero.errors import Conflict
from turnero.store import Store, Tx


def require_open_day(tx: Tx, store: Store) -> str:
    day = store.service_day(tx.now)
    row = tx.one("SELECT closed_at FROM days WHERE day = ?", (day,))
    if row is None or row["closed_at"] is not None:
        raise Conflict(f"La jornada del {day} no está abierta.", "day_not_open", day=day)
    return day


def open_day(store: Store, *, actor: str | None = None,
             checks: dict[str, Any] | None = None, clock_confirmed: bool = False
             ) -> dict[str, Any]:
    """Open today's jornada; refused while the clock is implausible (no RTC after boot) or
    contradicted by the central's time (``turnero.clock_trust``). ``clock_confirmed``: a
    supervisor vouches for the clock although the log is ahead of it."""
    now = store.clock.now()
    if not is_plausible(now):
        raise Conflict(f"La hora del equipo ({now:%Y-%m-%d %H:%M}) no es creíble: es anterior "
                       f"a {BUILD_DATE}. Corrija el reloj antes de abrir.", "clock_implausible")
    correction = clock_trust.check_before_opening(store, confirmed=clock_confirmed)

    def op(tx: Tx) -> dict[str, Any]:
        if correction is not None:  # in this transaction: a refused opening records nothing
            clock_trust.record(tx, correction, actor=actor)
        day = store.service_day(tx.now)
        row = tx.one("SELECT closed_at FROM days WHERE day = ?", (day,))
        if row is not None and row["closed_at"] is None:
            raise Conflict(f"La jornada del {day} ya está abierta.", "day_already_open")
        _close_earlier_days(tx, day, actor)
        if row is None:
            tx.execute("INSERT INTO days(day, opened_at, opened_by, checks) VALUES (?,?,?,?)",
                       (day, tx.at, actor, json.dumps(checks or {})))
            tx.emit("day.opened", actor=actor, day=day, checks=checks or {})
            print_jobs.forget_before(tx, day)
        else:
            tx.execute("UPDATE days SET closed_at = NULL, closed_by = NULL, reopened_at = ?, "
                       "reopened_by = ? WHERE day = ?", (tx.at, actor, day))
            tx.execute("DELETE FROM report_days WHERE day = ?", (day,))  # no longer frozen
            _keep_checks(tx, day, checks)
            tx.emit("day.reopened", actor=actor, day=day)
        return {"date": day, "open": True, "opened_at": tx.at}
    return store.write(op, rebase=correction is not None)


def _keep_checks(tx: Tx, day: str, checks: dict[str, Any] | None) -> None:
    """A reopen keeps the opening list already recorded; a list given with it fills only
    one still owed (a day the scheduler opened that nobody confirmed)."""
    row = tx.one("SELECT checks FROM days WHERE day = ?", (day,))
    stored = json.loads(row["checks"]) if row is not None else {}
    if checks and checklist.pending(stored):
        tx.execute("UPDATE days SET checks = ? WHERE day = ?",
                   (json.dumps({**stored, **checks}), day))


def close_day(store: Store, *, actor: str | None = None,
              expire_waiting: bool = True) -> dict[str, Any]:
    """Close the open jornada: expire what waits, end what is in progress, close módulos.
    Today's, or else the last one left open before today: with a manual closing, a
    supervisor who closes after midnight closes yesterday's jornada. Without
    ``expire_waiting`` a jornada where people still wait or are attended is not closed:
    the refusal says how many (a person closing by hand confirms it)."""
    def op(tx: Tx) -> dict[str, Any]:
        today = store.service_day(tx.now)
        row = tx.one("SELECT day FROM days WHERE closed_at IS NULL AND day <= ? "
                     "ORDER BY day DESC LIMIT 1", (today,))
        if row is None:
            raise Conflict(f"La jornada del {today} no está abierta.", "day_not_open")
        day = row["day"]
        if not expire_waiting:
            _refuse_if_people_wait(tx, day)
        counts = _finish_day(tx, day, actor)
        return {"date": day, "open": False, "closed_at": tx.at, **counts}
    return store.write(op)


def _close_earlier_days(tx: Tx, today: str, actor: str | None) -> None:
    """A jornada left open on another date is closed before today's opens: an earlier one
    (a power cut overnight), or a later one (a clock that had run ahead)."""
    for row in tx.execute("SELECT day FROM days WHERE closed_at IS NULL AND day <> ?",
                          (today,)).fetchall():
        _finish_day(tx, row["day"], actor)


def _refuse_if_people_wait(tx: Tx, day: str) -> None:
    found = tx.row("SELECT SUM(status IN ('waiting', 'called')) AS waiting, "
                   "SUM(status = 'serving') AS serving FROM attentions WHERE day = ?", (day,))
    waiting, serving = int(found["waiting"] or 0), int(found["serving"] or 0)
    if waiting or serving:
        raise Conflict(
            f"Quedan {waiting} turno(s) en espera o llamados y {serving} en atención. Si "
            f"cierra la jornada, los que esperan vencen sin ser atendidos y las atenciones "
            f"en curso se dan por terminadas.", "people_waiting", waiting=waiting,
            in_attention=serving)


def _finish_day(tx: Tx, day: str, actor: str | None) -> dict[str, int]:
    expired = served = 0
    rows = tx.execute(
        "SELECT a.id, a.status, a.counter, a.queue, a.step, a.preferential, a.service, "
        "t.uid, t.label, t.priority FROM attentions a JOIN tickets t ON t.id = a.ticket "
        "WHERE a.day = ? AND a.status IN ('waiting', 'called', 'serving')", (day,)).fetchall()
    for r in rows:
        info = {"label": r["label"], "queue": r["queue"], "service": r["service"],
                "priority": r["priority"], "preferential": bool(r["preferential"]),
                "step": r["step"], "day": day, "previous": r["status"]}
        if r["status"] == "serving":
            tx.execute("UPDATE attentions SET status = 'done', outcome = 'closed_at_day_end', "
                       "ended_at = ? WHERE id = ?", (tx.at, r["id"]))
            tx.emit("ticket.finished", actor=actor, ticket=r["uid"], counter=r["counter"],
                    outcome="closed_at_day_end", **info)
            served += 1
        else:
            tx.execute("UPDATE attentions SET status = 'expired', ended_at = ? WHERE id = ?",
                       (tx.at, r["id"]))
            tx.emit("ticket.expired", actor=actor, ticket=r["uid"], counter=r["counter"], **info)
            expired += 1
    for c in tx.execute("SELECT id FROM counters WHERE status != 'closed'").fetchall():
        tx.execute("UPDATE counters SET status = 'closed', status_reason = NULL, "
                   "status_since = ?, current = NULL, agent = NULL WHERE id = ?",
                   (tx.at, c["id"]))
        tx.emit("counter.closed", actor=actor, counter=c["id"], reason="day_closed")
    tx.execute("UPDATE queues SET pref_streak = 0")
    cita_outcomes.record(tx, day, actor)
    tx.execute("UPDATE days SET closed_at = ?, closed_by = ? WHERE day = ?", (tx.at, actor, day))
    tx.emit("day.closed", actor=actor, day=day, expired=expired, finished=served)
    return {"expired": expired, "finished": served}


def close_past_day(store: Store, day: str, *, actor: str | None = None) -> dict[str, Any]:
    """Close a jornada that is still open although its date (and grace period) passed: the
    box was off at closing time, or the day was opened on a date with no hours. Nothing
    happens if someone closed it meanwhile."""
    def op(tx: Tx) -> dict[str, Any]:
        row = tx.one("SELECT closed_at FROM days WHERE day = ?", (day,))
        if row is None or row["closed_at"] is not None:
            return {"date": day, "open": False, "expired": 0, "finished": 0, "closed": False}
        counts = _finish_day(tx, day, actor)
        return {"date": day, "open": False, "closed_at": tx.at, "closed": True, **counts}
    return store.write(op)


def stop_issuing(store: Store, *, closes_at: str, actor: str | None = None) -> bool:
    """Announce that today's issuing ended at closing time (screens and kiosks show it);
    the rule itself is in :func:`turnero.tickets.issue_ticket`. False if no day is open."""
    def op(tx: Tx) -> bool:
        day = store.service_day(tx.now)
        row = tx.one("SELECT closed_at FROM days WHERE day = ?", (day,))
        if row is None or row["closed_at"] is not None:
            return False
        tx.emit("day.issuing_stopped", actor=actor, day=day, closes_at=closes_at)
        return True
    return store.write(op)
