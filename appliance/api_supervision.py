"""The supervisor's floor in one read, and messages for the waiting-room TVs."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from appliance import floor_alerts, parts
from appliance.http import RECEPTION, STAFF, SUPERVISORS, actor, body, field, require, store
from turnero import checklist, clock_trust, messages, overview

bp = Blueprint("api_supervision", __name__, url_prefix="/api/v1")
CHECKLIST_PENDING = ("Lista de apertura pendiente: la jornada se abrió automáticamente y "
                     "nadie ha confirmado aún la lista.")


def _uplink() -> dict[str, Any] | None:
    """The uplink's health component, when the sync sender has registered one (until then
    the page shows no uplink slot at all rather than a false "all sent")."""
    check = parts.health().get("uplink")
    if check is None:
        return None
    try:
        return check()
    except Exception as exc:  # a broken check is itself worth an alert
        return {"status": "error", "detail": str(exc)}


def _uplink_text(uplink: dict[str, Any]) -> str:
    why = uplink.get("last_error") or uplink.get("detail") or uplink.get("status")
    backlog = uplink.get("backlog")
    waiting = f"{backlog} registros por enviar" if isinstance(backlog, int) else "con retraso"
    return f"Envío a la sede central: {waiting} ({why})."


@bp.get("/floor")
@require(*RECEPTION)
def floor() -> Response:
    """Queues against their ANS, módulos with time in state, the jornada with its checks,
    the TV message and the alerts; durations by the box's clock."""
    view = overview.floor(store(), floor_alerts.today_hours())
    view["alerts"] += floor_alerts.voice_alerts(floor_alerts.voice_health())
    view["alerts"] += floor_alerts.paper_alerts()
    view["public_address"] = floor_alerts.public_address_view()
    uplink = _uplink()
    view["uplink"] = uplink
    if uplink is not None and uplink.get("status") != "ok":
        view["alerts"].append({"kind": "uplink", "severity": uplink.get("status", "warning"),
                               "message": _uplink_text(uplink)})
    clock = clock_trust.state(store())
    if clock["problems"]:
        view["alerts"].append({"kind": "clock", "severity": "warning", "message": (
            "Reloj del equipo: " + "; ".join(clock["problems"]) + ". Corríjalo (NTP) antes de "
            "abrir la jornada.")})
    if view["day"]["open"] and checklist.pending(view["day"]["checks"]):
        view["alerts"].append({"kind": "checklist", "severity": "warning",
                               "message": CHECKLIST_PENDING})
    return jsonify(view)


@bp.post("/messages")
@require(*SUPERVISORS)
def broadcast() -> Response:
    """Show a line on every TV for ``minutes`` (0 = until replaced); an empty text clears."""
    data = body()
    return jsonify(messages.broadcast(store(), field(data, "text", str, required=True),
                                      minutes=field(data, "minutes", int, 0), actor=actor()))


@bp.get("/messages/current")
@require(*STAFF, "display")
def current_message() -> Response:
    return jsonify({"message": messages.current(store())})


@bp.get("/day/checklist")
@require(*RECEPTION)
def get_checklist() -> Response:
    """Whether today's opening list is still owed (the staff pages then ask for it)."""
    return jsonify(checklist.status(store()))


@bp.post("/day/checklist")
@require(*RECEPTION)
def confirm_checklist() -> Response:
    """The first supervisor or orientador in after an automatic opening confirms the list."""
    data = body()
    return jsonify(checklist.record(store(), field(data, "checks", dict, required=True),
                                    actor=actor()))
