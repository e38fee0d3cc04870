"""Tickets: issue (kiosk, reception), look up, and reception's actions on a ticket."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, jsonify, request

from appliance.http import RECEPTION, STAFF, ApiError, actor, body, field, principal, require, store
from turnero import tickets, views

bp = Blueprint("api_tickets", __name__, url_prefix="/api/v1")


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
    ticket, created = tickets.issue_ticket(
        store(), service_id=field(data, "service_id", int, required=True),
        priority=field(data, "priority", str), channel="kiosk" if kiosk else
        ("appointment" if appointment else "reception"),
        document=field(data, "document", str), name=field(data, "name", str),
        visit=field(data, "visit", list), appointment_at=_when(appointment),
        idempotency_key=f"{who.actor}:{key}" if key else None, actor=who.actor)
    if kiosk:  # a kiosk prints the ticket; it has no business reading personal data back
        ticket.pop("document", None)
        ticket.pop("name", None)
    return _created(ticket, 201 if created else 200)


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
    return when


@bp.get("/tickets")
@require(*STAFF)
def find() -> Response:
    label, document = request.args.get("label"), request.args.get("document")
    if not label and not document:
        raise ApiError(400, "missing_field", "Indique label o document.")
    return jsonify({"tickets": views.find_tickets(store(), label=label, document=document)})


@bp.get("/tickets/<uid>")
@require(*STAFF)
def show(uid: str) -> Response:
    return jsonify(views.ticket_by_uid(store(), uid))


@bp.get("/public/tickets/<token>")
def public(token: str) -> Response:
    """The citizen's own view, reached from the ticket's QR code."""
    return jsonify(views.ticket_by_token(store(), token))


@bp.post("/tickets/<uid>/cancel")
@require(*RECEPTION)
def cancel(uid: str) -> Response:
    data = body()
    return jsonify(tickets.cancel(store(), uid, actor=actor(),
                                  reason=field(data, "reason", str)))


@bp.post("/tickets/<uid>/reactivate")
@require(*RECEPTION)
def reactivate(uid: str) -> Response:
    data = body()
    return jsonify(tickets.reactivate(store(), uid, actor=actor(),
                                      position=field(data, "position", str, "arrival")))


@bp.post("/tickets/<uid>/priority")
@require(*RECEPTION)
def priority(uid: str) -> Response:
    data = body()
    return jsonify(tickets.set_priority(store(), uid, field(data, "priority", str,
                                                           required=True), actor=actor()))


@bp.post("/tickets/<uid>/transfer")
@require(*RECEPTION)
def transfer(uid: str) -> Response:
    data = body()
    return jsonify(tickets.transfer_waiting(
        store(), uid, service_id=field(data, "service_id", int),
        queue=field(data, "queue", str), position=field(data, "position", str, "arrival"),
        actor=actor()))


@bp.post("/tickets/<uid>/reprint")
@require(*RECEPTION)
def reprint(uid: str) -> Response:
    body()
    return jsonify(tickets.reprint(store(), uid, actor=actor()))


@bp.post("/tickets/<uid>/rating")
@require(*STAFF)
def rating(uid: str) -> Response:
    data = body()
    return jsonify(tickets.rate(store(), uid, field(data, "score", int, required=True),
                                actor=actor()))
