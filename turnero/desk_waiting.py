"""Who waits in a módulo's queues, for the asesor's desk: the first rows, and how many more.

The desk shows it so an asesor sees who is waiting and may call one ticket by hand. With a
crowd (500 waiting) the page stays light: only the first rows travel, and the totals say how
many are not shown. Preferential citizens come first, as the policy serves them."""

from __future__ import annotations

from typing import Any

from turnero.calls import counter_row
from turnero.clock import from_iso
from turnero.store import Store

ROWS = 40  # rows a desk shows; the rest are counted
_COUNTS = ("SELECT COUNT(*) AS total, COALESCE(SUM(a.preferential), 0) AS preferential "
           "FROM attentions a JOIN counter_queues cq ON cq.queue = a.queue AND cq.counter = ? "
           "WHERE a.day = ? AND a.status = 'waiting'")
_ROWS = ("SELECT t.uid, t.label, t.priority, a.queue, a.preferential, a.entered_at, a.slot "
         "FROM attentions a JOIN counter_queues cq ON cq.queue = a.queue AND cq.counter = ? "
         "JOIN tickets t ON t.id = a.ticket WHERE a.day = ? AND a.status = 'waiting' "
         "ORDER BY a.preferential DESC, a.order_key, a.id LIMIT ?")


def waiting_list(store: Store, counter_id: Any, limit: int = ROWS) -> dict[str, Any]:
    """The módulo's waiting tickets: ``total``, ``preferential``, and the first ``limit``
    ``items`` (preferential first, then by arrival) with the minutes each has waited since
    entering its queue."""
    conn = store.reader()
    counter = counter_row(conn, counter_id)
    now = store.now()
    day = store.service_day(now)
    counts = conn.execute(_COUNTS, (counter["id"], day)).fetchone()
    items = []
    for r in conn.execute(_ROWS, (counter["id"], day, limit)).fetchall():
        waited = max(0.0, (now - from_iso(r["entered_at"])).total_seconds() / 60)
        items.append({"uid": r["uid"], "label": r["label"], "queue": r["queue"],
                      "priority": r["priority"], "preferential": bool(r["preferential"]),
                      "entered_at": r["entered_at"], "waited_minutes": int(waited),
                      "appointment": r["slot"] is not None})
    return {"counter": counter["id"], "total": counts["total"],
            "preferential": counts["preferential"], "items": items,
            "more": max(0, counts["total"] - len(items))}
