"""Keeping data no longer than configured.

Personal data (document number, its type, name, and a cancellation's note, which may name
the citizen) is held only for the days a complaint may need it (Ley 29733 on personal
data): after that the ticket stays, for the indicators, without them. Events are the
centre's evidence and the uplink's outbox: one is deleted only when it is old *and* the
central office acknowledged it, never because it was merely sent.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from turnero.clock import to_iso
from turnero.store import Store, Tx


def prune_personal_data(store: Store, *, keep_days: int,
                        actor: str | None = None) -> dict[str, Any]:
    """Blank document, document type and name of tickets (and citas) whose service day is
    more than ``keep_days`` days old, the digest of the request they came in (a document
    number's digest can be found again by trying every number) and the notes of their
    cancellations."""
    def op(tx: Tx) -> dict[str, Any]:
        cutoff = (tx.now.astimezone(store.tz).date() - timedelta(days=keep_days)).isoformat()
        cur = tx.execute(
            "UPDATE tickets SET document = NULL, document_type = NULL, name = NULL, "
            "idempotency_digest = NULL "
            "WHERE day < ? AND (document IS NOT NULL OR document_type IS NOT NULL "
            "OR name IS NOT NULL)", (cutoff,))
        # A cancellation's note may name the citizen too (turnero.cancellations).
        tx.execute("UPDATE cancellations SET note = NULL WHERE note IS NOT NULL AND "
                   "(SELECT day FROM attentions WHERE id = attention) < ?", (cutoff,))
        # A cita's document and name, kept as long as its ticket's.
        tx.execute("UPDATE citas SET document = NULL, document_type = NULL, name = NULL "
                   "WHERE day < ? AND (document IS NOT NULL OR name IS NOT NULL)", (cutoff,))
        if cur.rowcount:
            tx.emit("retention.personal_data_pruned", actor=actor, before_day=cutoff,
                    tickets=cur.rowcount)
        return {"before_day": cutoff, "tickets": cur.rowcount}
    return store.write(op)


def acknowledged_seq(store: Store) -> int:
    """The highest ``seq`` every uplink destination acknowledged; 0 when the box has no
    uplink state (no uplink, or a database from before it)."""
    conn = store.reader()
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                          "AND name = 'sync_state'").fetchone()
    if exists is None:
        return 0
    row = conn.execute("SELECT MIN(acked_seq) FROM sync_state").fetchone()
    return int(row[0] or 0)


def prune_events(store: Store, *, keep_days: int, acknowledged_through: int,
                 actor: str | None = None, batch: int = 5000) -> dict[str, Any]:
    """Delete events older than ``keep_days`` with ``seq`` at most ``acknowledged_through``,
    in batches so a year of events never holds the writer (and the kiosks) for long. The
    newest event always stays: it keeps the store's clock floor (time never goes back)."""
    def op(tx: Tx) -> tuple[str, int, int]:
        cutoff = to_iso(tx.now - timedelta(days=keep_days))
        last = tx.row("SELECT MAX(seq) AS seq FROM events")["seq"] or 0
        through = max(min(acknowledged_through, last - 1), 0)
        cur = tx.execute("DELETE FROM events WHERE seq IN (SELECT seq FROM events "
                         "WHERE seq <= ? AND at < ? ORDER BY seq LIMIT ?)",
                         (through, cutoff, batch))
        return cutoff, through, cur.rowcount

    total = 0
    while True:
        cutoff, through, deleted = store.write(op)
        total += deleted
        if deleted < batch:
            break
    if total:
        store.write(lambda tx: tx.emit("retention.events_pruned", actor=actor, before=cutoff,
                                       through_seq=through, events=total))
    return {"before": cutoff, "through_seq": through, "events": total}
