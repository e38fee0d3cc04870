"""OpenAPI operations of the asesor's desk beyond the módulo's state: calling a given ticket
(with the reason when it passes a preferential citizen) and who waits at the módulo."""

from __future__ import annotations

from typing import Any

from appliance.openapi import BOOL, COUNTER, INT, STR, _json, _obj, _op, _ref
from turnero.calls import MANUAL_REASONS, NOTE_MAX

SCHEMAS: dict[str, Any] = {
    "WaitingList": _obj(
        ("counter", "total", "preferential", "items", "more"), counter=INT, total=INT,
        preferential=INT, more=INT, items={"type": "array", "items": _obj(
            ("uid", "label", "queue", "priority", "preferential", "entered_at",
             "waited_minutes"), uid=STR, label=STR, queue=STR, priority=STR,
            preferential=BOOL, entered_at=STR, waited_minutes=INT, appointment=BOOL)}),
}


def paths() -> dict[str, Any]:
    call = _op("Llamar a un turno dado; si adelanta a un ciudadano preferente que espera, "
               "con motivo", "counter", _ref("Ticket"), params=COUNTER,
               body=_obj(("uid",), uid=STR,
                         reason={"type": "string", "enum": list(MANUAL_REASONS)},
                         note={"type": "string", "maxLength": NOTE_MAX}))
    call["responses"]["409"] = {
        "description": "El estado actual no lo permite, o el turno adelanta a un ciudadano "
                       "preferente y falta el motivo (reason_required: passed, reasons)",
        **_json(_ref("Error"))}
    return {
        "/counters/{counter_id}/call": {"post": call},
        "/counters/{counter_id}/waiting": {"get": _op(
            "Quiénes esperan en las colas del módulo (primeras filas y cuántos más)",
            "counter", _ref("WaitingList"), params=COUNTER)},
    }
