"""Módulos: their state and the asesor's actions on the current ticket.

Asesores act only on módulos of their own entity, and only on the one they opened: the
módulo records who opened it (``counters.agent``), and an asesor holds one módulo at a time.
Supervisors and admins act on any. Every action hands the caller (a ``Principal``) to the
engine, which checks this inside its write transaction (``turnero.access.take_desk``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Response, jsonify

from appliance.http import STAFF, SUPERVISORS, body, field, principal, require
from appliance.http import store as get_store
from turnero import access, calls, desk_waiting, floor, views

bp = Blueprint("api_counters", __name__, url_prefix="/api/v1/counters")
COUNTER_ROLES = ("agent", *SUPERVISORS)


def _act(counter_id: int, fn: Callable[..., Any], **kwargs: Any) -> Response:
    """Run a desk action as the caller; the engine refuses an asesor at a módulo they do not
    hold (403 ``not_your_modulo``) in the action's own transaction."""
    return jsonify(fn(get_store(), counter_id, actor=principal(), **kwargs))


@bp.get("")
@require(*STAFF, "display")
def index() -> Response:
    who = principal()
    staff = who is not None and who.kind == "user"
    return jsonify({"counters": views.counter_views(get_store(), staff=staff)})


@bp.post("/<int:counter_id>/open")
@require(*COUNTER_ROLES)
def open_(counter_id: int) -> Response:
    body()
    return _act(counter_id, floor.change_counter, action="open")


@bp.post("/<int:counter_id>/pause")
@require(*COUNTER_ROLES)
def pause(counter_id: int) -> Response:
    data = body()
    return _act(counter_id, floor.change_counter, action="pause",
                reason=field(data, "reason", str, required=True))


@bp.post("/<int:counter_id>/resume")
@require(*COUNTER_ROLES)
def resume(counter_id: int) -> Response:
    body()
    return _act(counter_id, floor.change_counter, action="resume")


@bp.post("/<int:counter_id>/close")
@require(*COUNTER_ROLES)
def close(counter_id: int) -> Response:
    body()
    return _act(counter_id, floor.change_counter, action="close")


@bp.post("/<int:counter_id>/call-next")
@require(*COUNTER_ROLES)
def call_next(counter_id: int) -> Response:
    body()
    ticket = calls.call_next(get_store(), counter_id, actor=principal())
    if ticket is None:
        return Response(status=204)
    return jsonify(ticket)


@bp.post("/<int:counter_id>/call")
@require(*COUNTER_ROLES)
def call(counter_id: int) -> Response:
    data = body()
    return _act(counter_id, calls.call_ticket, uid=field(data, "uid", str, required=True),
                reason=field(data, "reason", str), note=field(data, "note", str))


@bp.get("/<int:counter_id>/waiting")
@require(*COUNTER_ROLES)
def waiting(counter_id: int) -> Response:
    """Who waits in the módulo's queues (first rows, then a count), for its desk: only a
    read, so the check needs no write transaction."""
    reader = get_store().reader()
    access.check_desk(reader, calls.counter_row(reader, counter_id), principal())
    return jsonify(desk_waiting.waiting_list(get_store(), counter_id))


@bp.post("/<int:counter_id>/recall")
@require(*COUNTER_ROLES)
def recall(counter_id: int) -> Response:
    body()
    return _act(counter_id, calls.recall)


@bp.post("/<int:counter_id>/start")
@require(*COUNTER_ROLES)
def start(counter_id: int) -> Response:
    body()
    return _act(counter_id, calls.start)


@bp.post("/<int:counter_id>/finish")
@require(*COUNTER_ROLES)
def finish(counter_id: int) -> Response:
    data = body()
    return _act(counter_id, calls.finish, outcome=field(data, "outcome", str, "attended"))


@bp.post("/<int:counter_id>/no-show")
@require(*COUNTER_ROLES)
def no_show(counter_id: int) -> Response:
    body()
    return _act(counter_id, calls.no_show)


@bp.post("/<int:counter_id>/transfer")
@require(*COUNTER_ROLES)
def transfer(counter_id: int) -> Response:
    data = body()
    return _act(counter_id, calls.transfer_current, service_id=field(data, "service_id", int),
                queue=field(data, "queue", str),
                position=field(data, "position", str, "arrival"))
