"""OpenAPI of cancelling a ticket: a reason from the fixed list and an optional note, and
the cancellations a ticket's staff view lists (the note only for the staff of the entity
it was cancelled in, reception and supervision)."""

from __future__ import annotations

from typing import Any

from appliance.openapi import INT, STR, UID, _json, _nullable, _obj, _op, _ref
from turnero.cancellations import CANCEL_REASONS, NOTE_MAX

REASON = {"type": "string", "enum": list(CANCEL_REASONS)}

SCHEMAS: dict[str, Any] = {
    "Cancellation": _obj(
        ("step", "entity", "reason", "note", "at", "actor"), step=INT, entity=STR,
        reason=REASON, note=_nullable("string"), at=STR, actor=_nullable("string")),
}


def paths() -> dict[str, Any]:
    cancel = _op("Anular un turno con un motivo de la lista y una nota opcional (solo para "
                 "el personal de la entidad del turno; nunca va a las pantallas)",
                 "reception", _ref("Ticket"), params=UID,
                 body=_obj(("reason",), reason=REASON,
                           note={"type": ["string", "null"], "maxLength": NOTE_MAX}))
    cancel["responses"]["400"] = {
        "description": "Motivo ausente o fuera de la lista (invalid_reason: reasons), o nota "
                       "que no es un texto de una línea de hasta "
                       f"{NOTE_MAX} caracteres (invalid_note)", **_json(_ref("Error"))}
    return {"/tickets/{uid}/cancel": {"post": cancel}}
