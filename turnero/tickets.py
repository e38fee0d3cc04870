"""Engine operations of reception: issue, cancel, reactivate, change category, transfer,
reprint, rate. Each is one transaction that writes the change and its event together."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from turnero import attention as att
from turnero import cancellations, documents, issuing, print_jobs
from turnero.day import require_open_day
from turnero.errors import Conflict, InvalidInput, TurneroError
from turnero.print_jobs import PrintRequest
from turnero.store import Store, Tx
from turnero.text import line
from turnero.views import current_ticket

CHANNELS = ("kiosk", "reception", "appointment")
MAX_VISIT_STEPS = 5
# The QR code's token is the only key to a ticket's public page: 96 random bits cannot be
# guessed, even by a phone trying thousands of addresses a second for years.
STATUS_TOKEN_BYTES = 12
MAX_NAME = 120
MAX_DOCUMENT = 20


class IdempotencyKeyReused(TurneroError):
    """An ``Idempotency-Key`` already used for a different request: answering with the
    first ticket would hand the citizen a ticket for what they did not ask."""

    status = 422
    code = "idempotency_key_reused"


def issue_ticket(store: Store, *, service_id: Any, priority: Any = None, channel: str = "kiosk",
                 document: Any = None, document_type: Any = None, name: Any = None,
                 visit: Any = None,
                 appointment_at: datetime | None = None, idempotency_key: str | None = None,
                 actor: str | None = None,
                 closes_at: datetime | None = None,
                 print_on: PrintRequest | None = None,
                 then: Callable[[Tx, str, str], None] | None = None,
                 ) -> tuple[dict[str, Any], bool]:
    """Issue a ticket. Returns (ticket, created); a replayed idempotency key returns the
    ticket made the first time with created=False. ``print_on``: its print job is written
    with it (``turnero.print_jobs``).

    No new ticket from closing time on (``closes_at``, today's closing time; the caller
    leaves it out for supervisors, who may still issue one for a citizen already inside).
    ``then(tx, uid, label)``: more to write in the same transaction when the ticket is new
    (a cita's check-in)."""
    if channel not in CHANNELS:
        raise InvalidInput("channel debe ser kiosk, reception o appointment.", "invalid_channel")
    visit = _visit(visit)
    document, name = line(document, "document", MAX_DOCUMENT), line(name, "name", MAX_NAME)
    if document_type is not None and not isinstance(document_type, str):
        raise InvalidInput("document_type debe ser un texto.", "invalid_document_type")
    document_type, document = documents.normalise(document_type, document)
    digest = request_digest(
        service_id=service_id, priority=priority, channel=channel, document=document,
        document_type=document_type, name=name, visit=visit, appointment_at=appointment_at,
        language=print_on.language if print_on is not None else None,
    ) if idempotency_key else None

    def op(tx: Tx) -> tuple[str, bool]:
        if idempotency_key:
            existing = tx.one("SELECT uid, idempotency_digest FROM tickets "
                              "WHERE idempotency_key = ?", (idempotency_key,))
            if existing:
                _same_request(existing["idempotency_digest"], digest)
                return existing["uid"], False
        day = require_open_day(tx, store)
        if closes_at is not None and tx.now >= closes_at:
            raise _after_hours(closes_at)
        service = att.service_row(tx, service_id)
        for step in visit:
            att.service_row(tx, step)
        if not service["is_open"]:
            raise Conflict(f"La cola {service['queue']} está cerrada: "
                           f"{service['closed_reason'] or 'sin motivo'}.", "queue_closed",
                           reason=service["closed_reason"])
        category = _category(tx, priority, appointment_at)
        code = service["queue"]
        number = _next_number(tx, day, service)
        label = f"{service['prefix']}-{number:03d}"
        uid = uuid.uuid4().hex
        cur = tx.execute(
            "INSERT INTO tickets(uid, token, day, number_queue, number, label, priority, "
            "channel, issued_at, visit, document, document_type, name, idempotency_key, "
            "idempotency_digest) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (uid, secrets.token_urlsafe(STATUS_TOKEN_BYTES), day, code, number, label,
             category["code"], channel, tx.at, json.dumps(visit), document, document_type, name,
             idempotency_key, digest))
        ticket_id = cur.lastrowid
        tx.execute(
            "INSERT INTO attentions(ticket, step, day, queue, service, status, preferential, "
            "order_key, slot, entered_at) VALUES (?, 1, ?, ?, ?, 'waiting', ?, ?, ?, ?)",
            (ticket_id, day, code, service["id"], category["preferential"],
             tx.now.timestamp(), appointment_at.timestamp() if appointment_at else None,
             tx.at))
        # The event describes the row just inserted; its fields are all at hand, so the
        # ticket is not read back inside the write lock.
        row = {"label": label, "queue": code, "service": service["id"],
               "priority": category["code"], "preferential": category["preferential"],
               "step": 1, "day": day}
        tx.emit("ticket.issued", actor=actor, ticket=uid,
                **att.payload(row, channel=channel, number=number, visit=visit,
                              entity=service["entity"], appointment=appointment_at is not None,
                              has_document=document is not None))
        if print_on is not None:
            print_jobs.queue(tx, uid, label, day, print_on)
        if then is not None:
            then(tx, uid, label)
        return uid, True

    uid, created = store.write(op)
    return current_ticket(store, uid, personal=True), created


def request_digest(*, service_id: Any, priority: Any, channel: str, document: str | None,
                   document_type: str | None, name: str | None, visit: list[int],
                   appointment_at: datetime | None, language: str | None) -> str:
    """The SHA-256 of an issue request in canonical form: its fields as they would be
    stored (document and name cleaned and normalised, the slot in UTC), so two requests
    that would make the same ticket have the same digest and any other difference does
    not. Kept with the idempotency key; blanked with the personal data it was made from
    (``turnero.retention``)."""
    canonical = {
        "service_id": service_id, "priority": priority, "channel": channel,
        "document": document, "document_type": document_type, "name": name, "visit": visit,
        "appointment_at": (appointment_at.astimezone(UTC).isoformat()
                           if appointment_at is not None else None),
        "language": language,
    }
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=repr)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _same_request(stored: str | None, digest: str | None) -> None:
    """Refuse a replayed key whose request differs from the first one. A ticket issued
    before digests were kept, or whose digest was blanked with its personal data, has
    nothing to compare with and is returned as before."""
    if stored is None or digest is None or hmac.compare_digest(stored, digest):
        return
    raise IdempotencyKeyReused("Esta Idempotency-Key ya se usó para emitir un turno con otros "
                               "datos. Use una clave nueva para cada turno distinto.")


def is_appointment_priority(store: Store, code: Any) -> bool:
    """Whether ``code`` names an active category for citizens with an appointment (cita)."""
    if not isinstance(code, str):
        return False
    row = store.reader().execute("SELECT appointment FROM priorities WHERE code = ? AND active",
                                 (code,)).fetchone()
    return bool(row and row[0])


def _next_number(tx: Tx, day: str, service: Any) -> int:
    """The queue's next ticket number today; refused when the queue's daily cap is reached.
    Only a capped queue pays for counting its tickets (the maximum is one index probe)."""
    code, cap = service["queue"], service["daily_cap"]
    if cap and tx.row("SELECT COUNT(*) FROM tickets WHERE day = ? AND number_queue = ?",
                      (day, code))[0] >= cap:
        raise Conflict(f"La cola {code} llegó a su tope de {cap} turnos hoy.", "queue_full")
    last = tx.row("SELECT MAX(number) FROM tickets WHERE day = ? AND number_queue = ?",
                  (day, code))[0]
    return last + 1 if last is not None else service["number_start"]


def _visit(visit: Any) -> list[int]:
    if visit is None:
        return []
    if not isinstance(visit, list) or not all(isinstance(v, int) and not isinstance(v, bool)
                                              for v in visit):
        raise InvalidInput("visit debe ser una lista de service_id.", "invalid_visit")
    if len(visit) > MAX_VISIT_STEPS - 1:
        raise InvalidInput(f"Una visita tiene como máximo {MAX_VISIT_STEPS} trámites.",
                           "visit_too_long")
    return list(visit)


def _category(tx: Tx, code: Any, appointment_at: datetime | None) -> Any:
    if code is None:
        if appointment_at is not None:
            row = tx.one("SELECT code, preferential, appointment FROM priorities "
                         "WHERE appointment AND active ORDER BY ord LIMIT 1")
            if row:
                return row
        # The settings always hold one normal category (the loader checks it).
        return tx.one("SELECT code, preferential, appointment FROM priorities "
                      "WHERE NOT preferential AND NOT appointment AND active "
                      "ORDER BY ord LIMIT 1")
    if not isinstance(code, str):
        raise InvalidInput("priority debe ser el código de una categoría.", "invalid_priority")
    row = tx.one("SELECT code, preferential, appointment FROM priorities "
                 "WHERE code = ? AND active", (code,))
    if row is None:
        raise InvalidInput(f"No existe la categoría {code}.", "unknown_priority")
    if row["appointment"] and appointment_at is None:
        raise InvalidInput("Un turno con cita necesita la hora de la cita (appointment).",
                           "appointment_missing")
    return row


def cancel(store: Store, uid: str, *, reason: Any, note: Any = None,
           actor: str | None = None) -> dict[str, Any]:
    """Cancel a waiting or called ticket for one of :data:`cancellations.CANCEL_REASONS`.
    The event carries the reason's code only; the note stays in ``cancellations``."""
    def op(tx: Tx) -> None:
        row = att.current_by_uid(tx, uid)
        why = cancellations.check(reason, note)
        att.require_status(row, "waiting", "called", action="anular")
        att.end_attention(tx, row, "cancelled")
        cancellations.record(tx, row["attention_id"], why, actor)
        tx.emit("ticket.cancelled", actor=actor, ticket=uid, counter=row["counter"],
                **att.payload(row, reason=why.code))
    store.write(op)
    return current_ticket(store, uid, personal=True)


def reactivate(store: Store, uid: str, *, position: str = "arrival",
               actor: str | None = None) -> dict[str, Any]:
    """A no-show, cancelled or expired ticket goes back to waiting, the same service day
    only (an expired one: a jornada closed by mistake and opened again that day)."""
    def op(tx: Tx) -> None:
        row = att.current_by_uid(tx, uid)
        att.require_status(row, "no_show", "cancelled", "expired", action="reactivar")
        day = require_open_day(tx, store)
        if row["day"] != day:
            raise Conflict("Solo se reactivan turnos del mismo día.", "other_day")
        key = att.order_key_for(tx, position, row["queue"], row)
        tx.execute("UPDATE attentions SET status = 'waiting', order_key = ?, counter = NULL, "
                   "ended_at = NULL, outcome = NULL, queued_at = ? WHERE id = ?",
                   (key, tx.at, row["attention_id"]))
        tx.emit("ticket.reactivated", actor=actor, ticket=uid,
                **att.payload(row, previous=row["status"], position=position))
    store.write(op)
    return current_ticket(store, uid, personal=True)


def set_priority(store: Store, uid: str, priority: Any, *,
                 actor: str | None = None) -> dict[str, Any]:
    def op(tx: Tx) -> None:
        row = att.current_by_uid(tx, uid)
        att.require_status(row, "waiting", "called", action="cambiar la categoría de")
        if not isinstance(priority, str):
            raise InvalidInput("priority debe ser el código de una categoría.",
                               "invalid_priority")
        new = tx.one("SELECT code, preferential, appointment FROM priorities "
                     "WHERE code = ? AND active", (priority,))
        if new is None:
            raise InvalidInput(f"No existe la categoría {priority}.", "unknown_priority")
        if new["appointment"] and not _has_appointment(tx, row):
            raise Conflict(f"El turno {row['label']} no tiene cita: solo un turno emitido "
                           "con su cita puede pasar a esa categoría.", "no_appointment")
        tx.execute("UPDATE tickets SET priority = ? WHERE id = ?", (new["code"], row["ticket_id"]))
        tx.execute("UPDATE attentions SET preferential = ? WHERE id = ?",
                   (new["preferential"], row["attention_id"]))
        tx.emit("ticket.priority_changed", actor=actor, ticket=uid,
                **att.payload(row, previous=row["priority"], priority=new["code"],
                              preferential=bool(new["preferential"])))
    store.write(op)
    return current_ticket(store, uid, personal=True)


def _has_appointment(tx: Tx, row: Any) -> bool:
    """Whether the ticket was issued with an appointment slot (kept on its first step)."""
    return tx.one("SELECT 1 FROM attentions WHERE ticket = ? AND slot IS NOT NULL LIMIT 1",
                  (row["ticket_id"],)) is not None


def transfer_waiting(store: Store, uid: str, *, service_id: Any = None, queue: Any = None,
                     position: str = "arrival", actor: str | None = None) -> dict[str, Any]:
    """Reception moves a waiting ticket to another entity (triage error)."""
    def op(tx: Tx) -> None:
        row = att.current_by_uid(tx, uid)
        att.require_status(row, "waiting", action="derivar")
        transfer_row(tx, row, service_id, queue, position, actor)
    store.write(op)
    return current_ticket(store, uid, personal=True)


def transfer_row(tx: Tx, row: Any, service_id: Any, queue: Any, position: str,
                 actor: str | None) -> None:
    target = att.target_service(tx, service_id, queue)
    key = att.order_key_for(tx, position, target["queue"], row)
    att.end_attention(tx, row, "transferred")
    att.start_step(tx, row, target, key)
    tx.emit("ticket.transferred", actor=actor, ticket=row["uid"], counter=row["counter"],
            **att.payload(row, to_queue=target["queue"], to_service=target["id"],
                          position=position))


def reprint(store: Store, uid: str, *, actor: str | None = None,
            print_on: PrintRequest | None = None) -> dict[str, Any]:
    """Ask for another copy: the request is the recorded fact, and with ``print_on`` its
    print job is written with it."""
    def op(tx: Tx) -> None:
        row = att.current_by_uid(tx, uid)
        if row["day"] != store.service_day(tx.now):
            raise Conflict("Solo se reimprimen turnos del día.", "other_day")
        tx.emit("ticket.reprint_requested", actor=actor, ticket=uid, **att.payload(row))
        if print_on is not None:
            print_jobs.queue(tx, uid, row["label"], row["day"], print_on)
    store.write(op)
    return current_ticket(store, uid, personal=True)


def rate(store: Store, uid: str, score: Any, *, actor: str | None = None) -> dict[str, Any]:
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
        raise InvalidInput("score debe ser un entero de 1 a 5.", "invalid_score")

    def op(tx: Tx) -> dict[str, Any]:
        row = att.current_by_uid(tx, uid)
        served = tx.row("SELECT COUNT(*) AS n FROM attentions WHERE ticket = ? "
                        "AND status = 'done'", (row["ticket_id"],))["n"]
        if not served:
            raise Conflict("Solo se califica una atención terminada.", "not_served")
        if tx.one("SELECT 1 FROM ratings WHERE ticket = ?", (row["ticket_id"],)):
            raise Conflict("Este turno ya fue calificado.", "already_rated")
        tx.execute("INSERT INTO ratings(ticket, score, at) VALUES (?,?,?)",
                   (row["ticket_id"], score, tx.at))
        # A late rating changes a closed day's satisfaction: its frozen facts are rebuilt.
        tx.execute("DELETE FROM report_days WHERE day = ?", (row["day"],))
        tx.emit("ticket.rated", actor=actor, ticket=uid, **att.payload(row, score=score))
        return {"uid": uid, "score": score}
    return store.write(op)


def check_before_closing(store: Store, *, service_id: Any, priority: Any,
                         closes_at: datetime | None, margin_minutes: int = 0) -> None:
    """Refuse a kiosk ticket that, by the current estimate, would be called after closing:
    better to send the citizen to the orientador than to let them wait for nothing. Read
    outside the write lock; a ticket issued meanwhile moves the estimate by seconds."""
    if closes_at is None:
        return
    conn = store.reader()
    now = store.now()
    if now >= closes_at:  # issuing ended (the jornada may be closed too): that is the reason
        raise _after_hours(closes_at)
    if not conn.execute("SELECT 1 FROM days WHERE closed_at IS NULL AND day = ?",
                        (store.service_day(now),)).fetchone():
        return  # not open yet: issue_ticket says so
    if not isinstance(service_id, int) or isinstance(service_id, bool) \
            or not att.is_sql_int(service_id):
        return  # issue_ticket reports the bad input
    service = conn.execute("SELECT queue FROM services WHERE id = ?", (service_id,)).fetchone()
    if service is None:
        return
    category = conn.execute("SELECT preferential FROM priorities WHERE code = ? AND active",
                            (priority,)).fetchone() if isinstance(priority, str) else None
    # A preferential citizen is called before every normal one (Ley 27408): only the
    # preferential tickets waiting count against closing time.
    preferential = category is not None and bool(category["preferential"])
    expected = issuing.expected_call(conn, store, service["queue"], preferential, now)
    if expected > closes_at - timedelta(minutes=margin_minutes):
        raise Conflict("Por la espera estimada ya no le alcanzaríamos a atender hoy en este "
                       "servicio antes del cierre. Acérquese al orientador.", "after_closing",
                       expected_call_at=expected.astimezone(closes_at.tzinfo).isoformat(
                           timespec="minutes"),
                       closes_at=closes_at.isoformat(timespec="minutes"))


def _after_hours(closes_at: datetime) -> Conflict:
    return Conflict(f"La atención de hoy terminó a las {closes_at:%H:%M}; ya no se emiten "
                    "turnos.", "after_hours", closes_at=closes_at.isoformat(timespec="minutes"))


def issued_with_key(store: Store, idempotency_key: str) -> bool:
    """Whether a ticket was already issued under this key (a replayed double tap)."""
    return store.reader().execute("SELECT 1 FROM tickets WHERE idempotency_key = ?",
                                  (idempotency_key,)).fetchone() is not None
