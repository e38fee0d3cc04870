"""Engine pieces of the módulo desk that no asesor presses: the automatic no-show of a citizen
who does not come after being called, and the state of a módulo's serial devices.

The automatic no-show runs on the server (a worker calls ``auto_no_show`` every few seconds),
never only in a browser: a closed tab or a desk without a screen must not leave a módulo
waiting for somebody who left. It decides and acts in one transaction, so it never marks a
ticket the asesor started (or replaced) a moment before.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from turnero import attention as att
from turnero.clock import from_iso
from turnero.store import Store, Tx

AUTO_ACTOR = "auto_no_show"


def _overdue_reason(row: Any, now: datetime, recalls: int, grace_seconds: int,
                    minutes: int) -> str | None:
    """Why a called ticket is overdue (``recalls`` or ``minutes``), or None."""
    if recalls and row["recalls"] >= recalls:
        last = from_iso(row["last_called_at"] or row["called_at"])
        if now - last >= timedelta(seconds=grace_seconds):
            return "recalls"
    if minutes and now - from_iso(row["called_at"]) >= timedelta(minutes=minutes):
        return "minutes"
    return None


def auto_no_show(store: Store, *, recalls: int = 0, grace_seconds: int = 60,
                 minutes: int = 0) -> list[dict[str, Any]]:
    """Mark as no-show every called ticket that was recalled ``recalls`` times and not started
    ``grace_seconds`` after the last call, or called ``minutes`` ago and not started (0 turns
    a rule off). Returns what was marked: counter, uid, label, reason."""
    if not recalls and not minutes:
        return []

    def op(tx: Tx) -> list[dict[str, Any]]:
        marked = []
        day = store.service_day(tx.now)
        rows = tx.execute(att.CURRENT_SQL + " AND a.day = ? AND a.status = 'called' "
                          "AND a.counter IS NOT NULL", (day,)).fetchall()
        for row in rows:
            reason = _overdue_reason(row, tx.now, recalls, grace_seconds, minutes)
            if reason is None:
                continue
            att.end_attention(tx, row, "no_show")
            tx.emit("ticket.no_show", actor=AUTO_ACTOR, counter=row["counter"],
                    ticket=row["uid"], **att.payload(row, recalls=row["recalls"], auto=reason))
            marked.append({"counter": row["counter"], "uid": row["uid"],
                           "label": row["label"], "reason": reason})
        return marked
    return store.write(op)


def record_device_state(store: Store, counter: int, kind: str, port: str,
                        connected: bool) -> None:
    """Write a ``desk_device.status`` event: supervision and the desk hear that a call button
    or a number sign went away or came back, and the day's evidence keeps it."""
    def op(tx: Tx) -> None:
        tx.emit("desk_device.status", actor=f"{kind}:{counter}", counter=counter, device=kind,
                port=port, connected=connected)
    store.write(op)
