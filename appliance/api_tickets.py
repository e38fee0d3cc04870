"""Tickets: issue (kiosk, reception), look up, and reception's actions on a ticket."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from appliance import parts
from appliance.http import (
    RECEPTION,
    STAFF,
    SUPERVISORS,
    ApiError,
    actor,
    body,
    field,
    principal,
    require,
    store,
)
from appliance.printing import printing, public_base
from turnero import access, cancellations, hours, issuing, tickets, views
from turnero.errors import Conflict

bp = Blueprint("api_tickets", __name__, url_prefix="/api/v1")
APPOINTMENT_YEARS = (2000, 2999)


def _created(ticket: dict[str, Any], status: int) -> Response:
    response = jsonify(ticket)
    response.status_code = status
    return response


@bp.post("/tickets")
@require("kiosk", *RECEPTION)
def issue() -> Response:
    data = body()
    who = principal()
    assert who is not None
    kiosk = who.kind == "device"
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (8 <= len(key) <= 100):
        raise ApiError(400, "invalid_idempotency_key", "Idempotency-Key: de 8 a 100 caracteres.")
    appointment = field(data, "appointment", str)
    service_id = field(data, "service_id", int, required=True)
    priority_code = field(data, "priority", str)
    language = field(data, "language", str, "es")
    if language not in ("es", "qu", "en"):
        raise ApiError(400, "invalid_field", "language debe ser es, qu o en.")
    appointment_at = _when(appointment)
    if kiosk:
        if appointment_at is not None or tickets.is_appointment_priority(store(),
                                                                         priority_code):
            # A cita is checked against the entity's agenda by a person; a kiosk that could
            # claim one would put anyone ahead of the walk-in queue.
            raise ApiError(403, "appointment_not_for_kiosk",
                           "Los turnos con cita los emite el orientador. Acérquese a "
                           "orientación con su cita.")
        kiosk_checks(who.actor or "", service_id, priority_code, key)
    print_on = printing().request_for(who.name if kiosk else None, language, public_base())
    ticket, created = tickets.issue_ticket(
        store(), service_id=service_id, priority=priority_code,
        channel="kiosk" if kiosk else ("appointment" if appointment else "reception"),
        document=field(data, "document", str), document_type=field(data, "document_type", str),
        name=field(data, "name", str), visit=field(data, "visit", list),
        appointment_at=appointment_at,
        idempotency_key=f"{who.actor}:{key}" if key else None, actor=who.actor,
        closes_at=_issuing_ends(who.role), print_on=print_on)
    if kiosk:  # a kiosk prints the ticket; it has no business reading personal data back
        ticket.pop("document", None)
        ticket.pop("document_type", None)
        ticket.pop("name", None)
    job = printing().send(ticket) if print_on is not None else None
    if job is not None:
        ticket["print"] = job
    return _created(ticket, 201 if created else 200)


def kiosk_checks(device: str, service_id: int, priority: str | None, key: str | None) -> None:
    """What only a kiosk is held to: a per-device pace, and no ticket that could not be
    served before closing time (the orientador decides those). A replayed key passes: the
    ticket already exists."""
    if key and tickets.issued_with_key(store(), f"{device}:{key}"):
        return
    wait = parts.kiosk_limit().allow(device)
    if wait is not None:
        raise ApiError(429, "rate_limited", "Se emitieron muchos turnos seguidos en este "
                                            "quiosco. Espere un momento o acérquese al "
                                            "orientador.", retry_after=math.ceil(wait) or 1)
    rules = issuing_rules()
    if rules.refuse_after_closing:
        tickets.check_before_closing(
            store(), service_id=service_id, priority=priority,
            closes_at=rules.closes_at, margin_minutes=rules.margin_minutes)


def issuing_rules() -> issuing.IssuingRules:
    """What a kiosk is held to today, from the settings: the ``issuing`` flags of the queue
    list and the kiosk's refusals read the same rules."""
    settings = parts.settings()
    return issuing.IssuingRules(_closes_at(), settings.schedule.stop_issuing,
                                settings.kiosk.refuse_after_closing,
                                settings.kiosk.closing_margin_minutes)


def _closes_at() -> datetime | None:
    """Today's closing time by weekday, holidays and the centre's closures."""
    settings = parts.settings()
    s = store()
    return hours.closing_time(settings.hours, s.now(), settings.centre.timezone,
                              hours.schedule_for(s, settings.schedule))


def _issuing_ends(role: str) -> datetime | None:
    """When issuing stops today for this caller: closing time, except for supervisors."""
    settings = parts.settings()
    if role in SUPERVISORS or not settings.schedule.stop_issuing:
        return None
    return _closes_at()


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "invalid_field", "appointment debe ser fecha y hora ISO 8601 "
                                             "con zona horaria.") from None
    if when.tzinfo is None:
        raise ApiError(400, "invalid_field", "appointment debe llevar zona horaria.")
    # A slot far outside any real day ("0001-01-01T00:00+14:00") would be stored and then
    # break every view that shows the ticket: refused here, before anything is written.
    try:
        utc_year = when.astimezone(UTC).year
    except OverflowError:
        utc_year = 0
    if not APPOINTMENT_YEARS[0] <= utc_year <= APPOINTMENT_YEARS[1]:
        raise ApiError(400, "invalid_field", "appointment está fuera de las fechas posibles.")
    return when


PERSONAL = ("document", "document_type", "name")


def _minimised(ticket: dict[str, Any]) -> dict[str, Any]:
    """An asesor sees a citizen's document and name only while the ticket is with their
    own entity (Ley 29733: no more personal data than the task needs), and a cancellation's
    note only when the ticket was cancelled in a queue of their entity."""
    who = principal()
    if who is not None and who.role == "agent":
        if ticket["entity"] != who.entity:
            for key in PERSONAL:
                ticket.pop(key, None)
        for cancelled in ticket.get("cancellations", ()):
            if cancelled["entity"] != who.entity:
                cancelled["note"] = None
    return ticket


def _for_staff(ticket: dict[str, Any]) -> dict[str, Any]:
    """A ticket as staff read it: with its cancellations (reason, note), minimised for the
    caller."""
    ticket["cancellations"] = cancellations.for_ticket(store().reader(), ticket["uid"])
    return _minimised(ticket)


@bp.get("/tickets")
@require(*STAFF)
def find() -> Response:
    label, document = request.args.get("label"), request.args.get("document")
    if not label and not document:
        raise ApiError(400, "missing_field", "Indique label o document.")
    who = principal()
    if document and who is not None and who.role == "agent":
        raise ApiError(403, "forbidden", "La búsqueda por documento es de orientación y "
                                         "supervisión.")
    if label:
        found = [t for one in _labels(label) for t in views.find_tickets(store(), label=one)]
    else:
        found = views.find_tickets(store(), document=document)
    return jsonify({"tickets": [_for_staff(t) for t in found]})


TYPED_LABEL = re.compile(r"\s*([A-Za-z]{0,3})[\s._-]*(\d{1,4})\s*")


def _labels(text: str) -> list[str]:
    """The labels a typed text may mean, as the orientador hears or reads them: "RN005",
    "rn 5" and "RN-005" are RN-005; a bare "5" is number 5 of every queue."""
    typed = TYPED_LABEL.fullmatch(text)
    if typed is None:
        return [text.strip().upper()]
    prefix, number = typed.group(1).upper(), int(typed.group(2))
    prefixes = [prefix] if prefix else [r["prefix"] for r in store().reader().execute(
        "SELECT DISTINCT prefix FROM queues ORDER BY prefix")]
    return [f"{p}-{number:03d}" for p in prefixes]


@bp.get("/tickets/<uid>")
@require(*STAFF)
def show(uid: str) -> Response:
    return jsonify(_for_staff(views.ticket_by_uid(store(), uid)))


@bp.get("/public/tickets/<token>")
def public(token: str) -> Response:
    """The citizen's own view, reached from the ticket's QR code."""
    return jsonify(views.ticket_by_token(store(), token))


@bp.post("/tickets/<uid>/cancel")
@require(*RECEPTION)
def cancel(uid: str) -> Response:
    """``reason``: one of ``turnero.cancellations.CANCEL_REASONS`` (400 ``invalid_reason``
    naming them otherwise); ``note``: optional, for the staff of the ticket's entity only."""
    data = body()
    return jsonify(_for_staff(tickets.cancel(store(), uid, reason=data.get("reason"),
                                             note=data.get("note"), actor=actor())))


@bp.post("/tickets/<uid>/reactivate")
@require(*RECEPTION)
def reactivate(uid: str) -> Response:
    data = body()
    return jsonify(_for_staff(tickets.reactivate(
        store(), uid, actor=actor(), position=field(data, "position", str, "arrival"))))


@bp.post("/tickets/<uid>/priority")
@require(*RECEPTION)
def priority(uid: str) -> Response:
    data = body()
    return jsonify(_for_staff(tickets.set_priority(
        store(), uid, field(data, "priority", str, required=True), actor=actor())))


@bp.post("/tickets/<uid>/transfer")
@require(*RECEPTION)
def transfer(uid: str) -> Response:
    data = body()
    return jsonify(_for_staff(tickets.transfer_waiting(
        store(), uid, service_id=field(data, "service_id", int),
        queue=field(data, "queue", str), position=field(data, "position", str, "arrival"),
        actor=actor())))


@bp.post("/tickets/<uid>/reprint")
@require(*RECEPTION)
def reprint(uid: str) -> Response:
    """Records the request with its print job, then hands the job to the reception
    printer's worker (never printing in the request)."""
    data = body()
    language = field(data, "language", str, "es")
    if language not in ("es", "qu", "en"):
        raise ApiError(400, "invalid_field", "language debe ser es, qu o en.")
    print_on = printing().request_for(None, language, public_base())
    ticket = tickets.reprint(store(), uid, actor=actor(), print_on=print_on)
    job = printing().send(ticket) if print_on is not None else None
    if job is not None:
        ticket["print"] = job
    return jsonify(_for_staff(ticket))


def _last_attention(uid: str) -> tuple[int | None, str | None]:
    """The módulo and status of the ticket's last attention ((None, None) if unknown)."""
    row = store().reader().execute(
        "SELECT a.counter, a.status FROM attentions a JOIN tickets t ON t.id = a.ticket "
        "WHERE t.uid = ? ORDER BY a.id DESC LIMIT 1", (uid,)).fetchone()
    return (None, None) if row is None else (row["counter"], row["status"])


def _held_modulo(who_actor: str) -> int | None:
    """The módulo an asesor opened and still holds (open or paused), or None."""
    row = store().reader().execute(
        "SELECT id FROM counters WHERE agent = ? AND status != 'closed' AND active "
        "ORDER BY id LIMIT 1", (who_actor,)).fetchone()
    return None if row is None else int(row["id"])


@bp.post("/tickets/<uid>/rating")
@require(*STAFF)
def rating(uid: str) -> Response:
    """The citizen's score, entered on the rating screen beside the módulo, under the
    asesor's session: an asesor only for a ticket whose last attention was served at the
    módulo they hold. ``counter`` (optional) names the screen's módulo; the ticket must have
    been served there."""
    data = body()
    who = principal()
    if who is not None and who.role == "agent" and not access.ticket_in_entity(
            store(), uid, who.entity):
        raise ApiError(403, "forbidden", "Este turno no pasó por su entidad.")
    score = field(data, "score", int, required=True)
    counter = field(data, "counter", int)
    if who is not None and who.role == "agent":
        held = _held_modulo(who.actor)
        if held is None:
            raise ApiError(403, "not_at_a_modulo", "Abra su módulo para registrar "
                           "calificaciones.")
        if counter is not None and counter != held:
            raise ApiError(403, "not_your_modulo", f"El módulo {counter} no es el suyo; "
                           f"usted atiende en el módulo {held}.")
        counter = held
    if counter is not None:
        last_counter, status = _last_attention(uid)
        if last_counter != counter:
            raise ApiError(403, "not_served_here", f"Este turno no fue atendido en el módulo "
                           f"{counter}; se califica solo en la pantalla del módulo que lo "
                           "atendió.")
        if status != "done":
            raise Conflict("Solo se califica una atención terminada.", "not_served")
    return jsonify(tickets.rate(store(), uid, score, actor=actor()))
