"""OpenAPI operations of citas at the box (``api_citas.py``)."""

from __future__ import annotations

from typing import Any

from appliance.openapi import _obj, _op, _ref

INT, STR = {"type": "integer"}, {"type": "string"}
NSTR = {"type": ["string", "null"]}
LANGUAGE = {"type": "string", "enum": ["es", "qu", "en"]}

SCHEMAS: dict[str, Any] = {
    "CitaCheckIn": _obj(
        ("cita", "arrival", "ticket"),
        cita=_obj(("code", "service", "day", "slot"), code=STR, service=INT, day=STR,
                  slot=STR),
        arrival={"type": "string", "enum": ["kept", "late"]},
        ticket=_ref("Ticket")),
    "CitaList": _obj(("day", "citas"), day=STR, citas={"type": "array", "items": _obj(
        ("code", "service", "slot", "status"), code=STR, service=INT, slot=STR, status=STR,
        name=NSTR, document_type=NSTR, document=NSTR, arrival=NSTR, checked_in_at=NSTR,
        outcome=NSTR, label=NSTR)}),
}


def paths() -> dict[str, Any]:
    created = {"201": {"description": "Llegada registrada; turno emitido",
                       "content": {"application/json": {"schema": _ref("CitaCheckIn")}}},
               "429": {"description": "Demasiados intentos seguidos desde este quiosco",
                       "content": {"application/json": {"schema": _ref("Error")}}}}
    return {
        "/citas/check-in": {"post": _op(
            "Registrar la llegada de un ciudadano con cita (por documento o código)",
            "citas", _ref("CitaCheckIn"), extra=created,
            body=_obj(code=STR, document=STR, document_type=STR, language=LANGUAGE))},
        "/citas": {"get": _op(
            "Las citas de un día, para recepción", "citas", _ref("CitaList"),
            params=[{"name": "day", "in": "query", "required": False, "schema": STR}])},
    }
