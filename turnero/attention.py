"""Shared pieces of the engine: find a ticket's current step, start a new step, describe it.

A ticket is what the citizen holds (uid, label); an attention is one passage of that ticket
through one queue. Transfers and visit steps end one attention and start the next, so every
wait and every service time is measured per queue.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any, TypeGuard

from turnero.clock import from_iso
from turnero.errors import Conflict, InvalidInput, NotFound
from turnero.store import Tx

ACTIVE = ("waiting", "called", "serving")
TERMINAL = ("done", "no_show", "cancelled", "transferred", "expired")
POSITIONS = ("arrival", "front", "back")

CURRENT_SQL = """
SELECT t.id AS ticket_id, t.uid, t.token, t.day, t.label, t.number, t.number_queue,
       t.priority, t.channel, t.issued_at, t.visit, t.document, t.document_type, t.name,
       a.id AS attention_id, a.step, a.queue, a.service, a.status, a.preferential,
       a.order_key, a.slot, a.entered_at, a.called_at, a.last_called_at, a.recalls,
       a.counter, a.agent, a.rule, a.started_at, a.ended_at, a.outcome,
       s.name AS service_name, q.entity, e.short_name AS entity_name, c.name AS counter_name
FROM tickets t JOIN attentions a ON a.ticket = t.id
JOIN services s ON s.id = a.service JOIN queues q ON q.code = a.queue
JOIN entities e ON e.code = q.entity LEFT JOIN counters c ON c.id = a.counter
WHERE a.step = (SELECT MAX(step) FROM attentions WHERE ticket = t.id)
"""


def current_by_uid(conn: sqlite3.Connection | Tx, uid: str) -> sqlite3.Row:
    row = conn.execute(CURRENT_SQL + " AND t.uid = ?", (uid,)).fetchone()
    if row is None:
        raise NotFound(f"No existe el turno {uid}.", "ticket_not_found")
    return row


def current_by_attention(conn: sqlite3.Connection | Tx, attention_id: int) -> sqlite3.Row:
    row = conn.execute(CURRENT_SQL + " AND a.id = ?", (attention_id,)).fetchone()
    if row is None:
        raise NotFound("No existe esa atención.", "attention_not_found")
    return row


def require_status(row: sqlite3.Row, *allowed: str, action: str) -> None:
    if row["status"] not in allowed:
        raise Conflict(f"No se puede {action} el turno {row['label']}: está "
                       f"{STATUS_ES[row['status']]}.", "illegal_transition",
                       status=row["status"])


STATUS_ES = {"waiting": "en espera", "called": "llamado", "serving": "en atención",
             "done": "atendido", "no_show": "como no presentado", "cancelled": "anulado",
             "transferred": "derivado", "expired": "vencido"}


def is_sql_int(value: Any) -> TypeGuard[int]:
    """A Python int that SQLite can hold (64-bit); larger ones cannot name anything."""
    return isinstance(value, int) and not isinstance(value, bool) and -2**63 <= value < 2**63


def service_row(tx: Tx, service_id: Any) -> sqlite3.Row:
    if not isinstance(service_id, int) or isinstance(service_id, bool):
        raise InvalidInput("service_id debe ser un número entero.", "invalid_service")
    if not is_sql_int(service_id):
        raise InvalidInput(f"No existe el servicio {service_id}.", "unknown_service")
    row = tx.one("SELECT s.id, s.queue, s.name, q.entity, q.is_open, q.closed_reason, "
                 "q.prefix, q.number_start, q.daily_cap "
                 "FROM services s JOIN queues q ON q.code = s.queue "
                 "WHERE s.id = ? AND s.active AND q.active", (service_id,))
    if row is None:
        raise InvalidInput(f"No existe el servicio {service_id}.", "unknown_service")
    return row


def target_service(tx: Tx, service_id: Any = None, queue: Any = None) -> sqlite3.Row:
    """A transfer target given as a service, or as a queue (its first service)."""
    if service_id is not None:
        return service_row(tx, service_id)
    if not isinstance(queue, str):
        raise InvalidInput("Indique service_id o queue de destino.", "invalid_target")
    row = tx.one("SELECT MIN(id) AS id FROM services WHERE queue = ? AND active", (queue,))
    if row is None or row["id"] is None:
        raise InvalidInput(f"No existe la cola {queue}.", "unknown_queue")
    return service_row(tx, row["id"])


def order_key_for(tx: Tx, position: str, queue: str, row: sqlite3.Row) -> float:
    """Where a ticket re-enters a queue: by its original arrival, at the front, or the back."""
    if position not in POSITIONS:
        raise InvalidInput("position debe ser arrival, front o back.", "invalid_position")
    if position == "arrival":
        return from_iso(row["issued_at"]).timestamp()
    if position == "back":
        return tx.now.timestamp()
    first = tx.one("SELECT MIN(order_key) AS k FROM attentions WHERE day = ? AND queue = ? "
                   "AND status = 'waiting'", (row["day"], queue))
    head = first["k"] if first and first["k"] is not None else tx.now.timestamp()
    return min(head, tx.now.timestamp()) - 1.0


def start_step(tx: Tx, row: sqlite3.Row, service: sqlite3.Row, order_key: float) -> int:
    """Open the next attention of ``row``'s ticket in ``service``'s queue, waiting."""
    cur = tx.execute(
        "INSERT INTO attentions(ticket, step, day, queue, service, status, preferential, "
        "order_key, entered_at) VALUES (?,?,?,?,?, 'waiting', ?,?,?)",
        (row["ticket_id"], row["step"] + 1, row["day"], service["queue"], service["id"],
         row["preferential"], order_key, tx.at))
    return cur.lastrowid or 0


def end_attention(tx: Tx, row: sqlite3.Row, status: str, outcome: str | None = None) -> None:
    tx.execute("UPDATE attentions SET status = ?, ended_at = ?, outcome = ? WHERE id = ?",
               (status, tx.at, outcome, row["attention_id"]))
    if row["counter"] is not None:
        tx.execute("UPDATE counters SET current = NULL WHERE id = ? AND current = ?",
                   (row["counter"], row["attention_id"]))


def payload(row: Mapping[str, Any] | sqlite3.Row, **extra: Any) -> dict[str, Any]:
    """What an event says about a ticket: enough for displays and indicators, no personal data."""
    base = {"label": row["label"], "queue": row["queue"], "service": row["service"],
            "priority": row["priority"], "preferential": bool(row["preferential"]),
            "step": row["step"], "day": row["day"]}
    base.update(extra)
    return base
