"""The uplink to the central office, as the supervisor sees it: local vs acknowledged,
backlog, last success and error, refused events, and "enviar ahora"."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from appliance.http import SUPERVISORS, ApiError, body, require, store
from sync.service import Uplink
from turnero import outbox

bp = Blueprint("api_sync", __name__, url_prefix="/api/v1")
REJECTS_SHOWN = 100


def _uplink() -> Uplink | None:
    return current_app.extensions.get("mac_turnos.uplink")


@bp.get("/sync")
@require(*SUPERVISORS)
def sync_status() -> Response:
    conn = store().reader()
    uplink = _uplink()
    data = uplink.status(conn) if uplink else {"enabled": False, **outbox.status(conn, "central")}
    data["rejects"] = outbox.rejects(conn, "central", REJECTS_SHOWN)
    return jsonify(data)


@bp.post("/sync/send-now")
@require(*SUPERVISORS)
def send_now() -> Response:
    """Answers at once; the round runs on the uplink's own thread."""
    body()
    uplink = _uplink()
    if uplink is None or not uplink.enabled:
        raise ApiError(409, "uplink_disabled", "El envío a la sede central no está "
                                               "habilitado en la configuración ([uplink]).")
    uplink.send_now()
    response = jsonify(uplink.status(store().reader()))
    response.status_code = 202
    return response
