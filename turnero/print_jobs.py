"""Print jobs kept in the database, so that a ticket whose paper had not come out when the
power went is printed after the restart instead of being forgotten.

A job is written in the same transaction as the ticket (or the reprint request) it prints:
a kiosk that got its 201 has a job on disk, and a ticket never has a job it did not ask for.
The job keeps only what the ticket itself cannot tell: the printer, the language and the
address the QR code points to. The paper is composed from the ticket when it is printed.
The printer's worker marks a job printed once the printer accepted it; a job cut off by a
power cut between the paper and that mark is printed again (a second copy, never none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from turnero.store import Store, Tx

LIVE = ("waiting", "called", "serving")  # an attention that still needs the citizen


@dataclass(frozen=True)
class PrintRequest:
    """Where and how a ticket is to be printed."""

    printer: str
    language: str
    base: str  # the address phones use to reach the box, for the QR code


def queue(tx: Tx, ticket: str, label: str, day: str, request: PrintRequest) -> str:
    """Write a job for one more copy of ``ticket``; its id is ``<ticket>-<copy number>``."""
    copies = tx.row("SELECT COUNT(*) FROM print_jobs WHERE ticket = ?", (ticket,))[0]
    job_id = f"{ticket}-{copies + 1}"
    tx.execute("INSERT INTO print_jobs(id, ticket, label, day, printer, language, base, "
               "created_at) VALUES (?,?,?,?,?,?,?,?)",
               (job_id, ticket, label, day, request.printer, request.language, request.base,
                tx.at))
    return job_id


def latest_for(store: Store, ticket: str) -> dict[str, Any] | None:
    """The newest job of ``ticket`` (the one a replayed request refers to), if any."""
    rows = store.reader().execute("SELECT * FROM print_jobs WHERE ticket = ?",
                                  (ticket,)).fetchall()
    if not rows:
        return None
    return dict(max(rows, key=lambda r: int(r["id"].rsplit("-", 1)[1])))


def get(store: Store, job_id: str) -> dict[str, Any] | None:
    row = store.reader().execute("SELECT * FROM print_jobs WHERE id = ?",
                                 (job_id,)).fetchone()
    return dict(row) if row else None


def owed(store: Store, day: str) -> list[dict[str, Any]]:
    """Today's jobs not yet printed whose ticket still has a step waiting, called or in
    progress, oldest first: what the printers owe after a restart."""
    placeholders = ",".join("?" * len(LIVE))
    rows = store.reader().execute(
        "SELECT j.* FROM print_jobs j JOIN tickets t ON t.uid = j.ticket "
        "WHERE j.day = ? AND j.printed_at IS NULL AND EXISTS (SELECT 1 FROM attentions a "
        f"WHERE a.ticket = t.id AND a.status IN ({placeholders})) "
        "ORDER BY j.created_at, j.id", (day, *LIVE)).fetchall()
    return [dict(r) for r in rows]


def mark_printed(store: Store, job_id: str) -> None:
    """The printer took the job: it is not owed after a restart."""
    store.write(lambda tx: tx.execute(
        "UPDATE print_jobs SET printed_at = ? WHERE id = ? AND printed_at IS NULL",
        (tx.at, job_id)))


def forget_before(tx: Tx, day: str) -> None:
    """Jobs of earlier days are never printed: a new day starts without them."""
    tx.execute("DELETE FROM print_jobs WHERE day < ?", (day,))
