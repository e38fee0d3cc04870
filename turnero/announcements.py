"""How far the TVs' announcer got in the event log, so that a call committed just before a
power cut is still said after the restart.

The calls themselves are events (``ticket.called``, ``ticket.recalled``): the announcement
queue is the log after ``announced_seq``, like the uplink's outbox. The announcer moves the
mark forward after handing announcements to the TVs; it writes the mark at most a few times
a second (not once per call, which would add a disk sync to every busy second), so a call
announced in the last moment before a cut may be said once more after it: twice, never
none. A call owed after a restart is said only while it still waits for its citizen: the
ticket is still called at that módulo, and the call is recent.
"""

from __future__ import annotations

import json
from datetime import datetime

from turnero.clock import to_iso
from turnero.store import Event, Store

CALL_KINDS = ("ticket.called", "ticket.recalled")


def announced_seq(store: Store) -> int:
    row = store.reader().execute("SELECT announced_seq FROM announcer_state").fetchone()
    return int(row[0]) if row else 0


def mark_announced(store: Store, seq: int) -> None:
    """Move the mark to ``seq`` (never back)."""
    store.write(lambda tx: tx.execute(
        "UPDATE announcer_state SET announced_seq = MAX(announced_seq, ?), updated_at = ?",
        (seq, tx.at)))


def owed(store: Store, since: datetime) -> list[Event]:
    """Calls after the mark, made since ``since``, whose ticket is still called at that
    módulo, in log order."""
    rows = store.reader().execute(
        "SELECT e.* FROM events e WHERE e.seq > (SELECT announced_seq FROM announcer_state) "
        "AND e.kind IN (?, ?) AND e.at >= ? AND EXISTS (SELECT 1 FROM tickets t "
        "JOIN attentions a ON a.ticket = t.id WHERE t.uid = e.ticket "
        "AND a.status = 'called' AND a.counter = e.counter) ORDER BY e.seq",
        (*CALL_KINDS, to_iso(since))).fetchall()
    return [Event(r["seq"], r["uid"], r["kind"], r["at"], r["actor"], r["counter"],
                  r["ticket"], json.loads(r["payload"])) for r in rows]
