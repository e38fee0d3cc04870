"""OpenAPI description of the uplink's routes (``api_sync.py``)."""

from __future__ import annotations

from typing import Any

from appliance.openapi import _obj, _op, _ref

INT, STR, BOOL, NUM = ({"type": "integer"}, {"type": "string"}, {"type": "boolean"},
                       {"type": "number"})
NSTR = {"type": ["string", "null"]}
STATUS_FIELDS: dict[str, Any] = dict(
    enabled=BOOL, central_url=STR, interval_seconds=INT, local_seq=INT, acked_seq=INT,
    backlog=INT, rejected=INT, last_success=NSTR, last_error=NSTR, last_error_at=NSTR,
    failures=INT, failing_since=NSTR, last_attempt=NSTR, next_attempt_in_seconds=NUM)
REQUIRED = ("enabled", "local_seq", "acked_seq", "backlog", "last_success", "last_error")

SCHEMAS: dict[str, Any] = {
    "SyncStatus": _obj(REQUIRED, **STATUS_FIELDS),
    "SyncDetail": {"allOf": [_ref("SyncStatus"), _obj(("rejects",), rejects={
        "type": "array", "items": _obj(("seq", "uid", "reason", "at"), seq=INT, uid=STR,
                                       reason=STR, at=STR, kind=NSTR, event_at=NSTR)})]},
}


def paths() -> dict[str, Any]:
    return {
        "/sync": {"get": _op("Envío a la sede central: local, confirmado, pendientes, "
                             "rechazados", "sync", _ref("SyncDetail"))},
        "/sync/send-now": {"post": _op(
            "Enviar ahora los pendientes a la sede central", "sync", None, body=_obj(),
            extra={"202": {"description": "Envío iniciado",
                           "content": {"application/json": {"schema": _ref("SyncStatus")}}}})},
    }
