"""The uplink to the central office, as the supervisor sees it: local vs acknowledged,
backlog, last success and error, refused events, and "enviar ahora"."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from appliance import parts
from appliance.http import SUPERVISORS, ApiError, body, require, store
from turnero import outbox

bp = Blueprint("api_sync", __name__, url_prefix="/api/v1")
REJECTS_SHOWN = 100


@bp.get("/sync")
@require(*SUPERVISORS)
def sync_status() -> Response:
    conn = store().reader()
    data = parts.uplink().status(conn)
    data["rejects"] = outbox.rejects(conn, "central", REJECTS_SHOWN)
    return jsonify(data)


@bp.post("/sync/send-now")
@require(*SUPERVISORS)
def send_now() -> Response:
    """Answers at once; the round runs on the uplink's own thread."""
    body()
    uplink = parts.uplink()
    if not uplink.enabled:
        raise ApiError(409, "uplink_disabled", "El envío a la sede central no está "
                                               "habilitado en la configuración ([uplink]).")
    uplink.send_now()
    response = jsonify(uplink.status(store().reader()))
    response.status_code = 202
    return response
