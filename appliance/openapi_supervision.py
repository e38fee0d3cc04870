"""OpenAPI description of the supervision routes: the floor, TV messages, staff accounts and
enrolled devices (merged into ``/api/v1/openapi.json`` by ``appliance.openapi``)."""

from __future__ import annotations

from typing import Any

from appliance.openapi import BOOL, STR, _nullable, _obj, _op, _path, _ref

NAME = [_path("name", STR)]
ROLE = {"type": "string", "enum": ["admin", "supervisor", "receptionist", "agent"]}
DEVICE_ROLE = {"type": "string", "enum": ["kiosk", "display"]}

SCHEMAS: dict[str, Any] = {
    "Message": _obj(("text",), text=STR, until=_nullable("string"), at=STR),
    "CurrentMessage": _obj(("message",), message={"oneOf": [{"type": "null"},
                                                            _ref("Message")]}),
    "User": _obj(("username", "role", "disabled", "locked"), username=STR, full_name=STR,
                 role=ROLE, entity=_nullable("string"), disabled=BOOL, locked=BOOL),
    "UserList": _obj(("users",), users={"type": "array", "items": _ref("User")}),
    "Device": _obj(("name", "role"), name=STR, role=DEVICE_ROLE, created_at=STR,
                   revoked_at=_nullable("string")),
    "DeviceList": _obj(("devices",), devices={"type": "array", "items": _ref("Device")}),
    "EnrolledDevice": _obj(("name", "role", "token", "link"), name=STR, role=DEVICE_ROLE,
                           token=STR, link=STR),
    "Checklist": _obj(
        ("date", "open", "pending", "items", "checks"), date=STR, open=BOOL, pending=BOOL,
        items={"type": "array", "items": _obj(("code", "label"), code=STR, label=STR)},
        checks={"type": "object"}),
    "Alert": _obj(("kind", "message"), kind=STR, message=STR, severity=STR,
                  queue=STR, username=STR, source=STR, printer=STR),
    "Floor": _obj(
        ("now", "day", "queues", "counters", "alerts"), now=STR, timezone=STR,
        day=_obj(("date", "open"), date=STR, open=BOOL, opened_at=_nullable("string"),
                 closed_at=_nullable("string"), opened_by=_nullable("string"),
                 reopened_at=_nullable("string"), reopened_by=_nullable("string"),
                 checks={"type": "object"}),
        queues={"type": "array", "items": {"allOf": [_ref("Queue"), _obj(
            ("ans_breach",), ans_breach=BOOL)]}},
        counters={"type": "array", "items": {"allOf": [_ref("Counter"), _obj(
            ("seconds_in_state", "queues"), seconds_in_state=_nullable("integer"),
            queues={"type": "array", "items": STR})]}},
        message={"oneOf": [{"type": "null"}, _ref("Message")]},
        alerts={"type": "array", "items": _ref("Alert")},
        uplink={"type": ["object", "null"]},
        public_address=_obj(("status", "url", "source"), status=STR,
                            url={"type": ["string", "null"]}, source=STR, detail=STR)),
}

def paths() -> dict[str, Any]:
    pin = {"type": "string", "minLength": 1, "maxLength": 64}
    return {
        "/floor": {"get": _op("La sala en vivo: colas frente al ANS, módulos, jornada y "
                              "alertas", "supervision", _ref("Floor"))},
        "/day/checklist": {
            "get": _op("La lista de apertura de hoy: si aún falta confirmarla", "supervision",
                       _ref("Checklist")),
            "post": _op("Confirmar la lista de apertura de una jornada abierta automáticamente",
                        "supervision", _ref("Checklist"),
                        body=_obj(("checks",), checks={"type": "object"}))},
        "/messages": {"post": _op(
            "Mostrar un mensaje en las pantallas de sala (texto vacío: quitarlo)",
            "supervision", _ref("Message"),
            body=_obj(("text",), text={"type": "string", "maxLength": 200},
                      minutes={"type": "integer", "minimum": 0, "maximum": 1440}))},
        "/messages/current": {"get": _op("El mensaje que muestran las pantallas",
                                         "supervision", _ref("CurrentMessage"))},
        "/users": {
            "get": _op("Usuarios del personal", "admin", _ref("UserList")),
            "post": _op("Crear un usuario", "admin", _ref("User"), status="201",
                        body=_obj(("username", "role", "pin"), username=STR, role=ROLE,
                                  pin=pin, entity=STR, full_name=STR))},
        "/users/{name}/pin": {"post": _op(
            "Restablecer el PIN (levanta el bloqueo y cierra sus sesiones)", "admin",
            _ref("User"), body=_obj(("pin",), pin=pin), params=NAME)},
        "/users/{name}/disable": {"post": _op("Deshabilitar un usuario", "admin",
                                              _ref("User"), body=_obj(), params=NAME)},
        "/users/{name}/enable": {"post": _op("Habilitar un usuario", "admin", _ref("User"),
                                             body=_obj(), params=NAME)},
        "/users/{name}/role": {"post": _op(
            "Cambiar el rol (y la entidad de un asesor)", "admin", _ref("User"),
            body=_obj(("role",), role=ROLE, entity=STR), params=NAME)},
        "/devices": {
            "get": _op("Quioscos y pantallas enrolados", "admin", _ref("DeviceList")),
            "post": _op("Enrolar un quiosco o pantalla; el token se muestra solo aquí",
                        "admin", _ref("EnrolledDevice"), status="201",
                        body=_obj(("name", "role"), name=STR, role=DEVICE_ROLE))},
        "/devices/{name}/revoke": {"post": _op("Revocar un dispositivo", "admin", _ref("Ok"),
                                               body=_obj(), params=NAME)},
    }

