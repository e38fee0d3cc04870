"""What became of each cita of a jornada, said once when it closes (``cita.outcome``): the
central counts the citas kept, late and missed from these and from the check-ins."""

from __future__ import annotations

from turnero.store import Tx

# A ticket's last step says how its visit ended.
_ENDS = {"done": "served", "no_show": "no_show", "expired": "expired",
         "cancelled": "cancelled"}


def record(tx: Tx, day: str, actor: str | None) -> int:
    """Set and emit the outcome of every cita of ``day`` not yet given one: the end of its
    ticket, or ``missed`` when nobody checked in. A cita cancelled at the central and never
    checked in has nothing to add. Returns how many were recorded."""
    rows = tx.execute(
        "SELECT c.code, c.status, c.ticket, (SELECT a.status FROM attentions a "
        "JOIN tickets t ON t.id = a.ticket WHERE t.uid = c.ticket "
        "ORDER BY a.step DESC LIMIT 1) AS last FROM citas c "
        "WHERE c.day = ? AND c.outcome IS NULL", (day,)).fetchall()
    recorded = 0
    for r in rows:
        if r["ticket"] is None:
            if r["status"] == "cancelled":
                continue
            outcome = "missed"
        else:
            outcome = _ENDS.get(r["last"], "expired")
        tx.execute("UPDATE citas SET outcome = ? WHERE code = ?", (outcome, r["code"]))
        tx.emit("cita.outcome", actor=actor, code=r["code"], day=day, outcome=outcome)
        recorded += 1
    return recorded
