"""OpenAPI operations of the TVs' device session (see ``api_devices.py``)."""

from __future__ import annotations

from typing import Any

from appliance.openapi import STR, _obj, _op, _ref

SCHEMAS: dict[str, Any] = {
    "DeviceSession": _obj(("name", "role"), name=STR,
                          role={"type": "string", "enum": ["kiosk", "display"]}),
}


def paths() -> dict[str, Any]:
    cookie = {"Set-Cookie": {"description": "mt_device: the device's token, HttpOnly, "
                                            "SameSite=Strict; accepted in place of the "
                                            "bearer token on GET requests only",
                             "schema": STR}}
    opened = _op("Abrir la sesión de un dispositivo (cookie para EventSource)", "devices",
                 _ref("DeviceSession"), body=_obj())
    opened["responses"]["200"]["headers"] = cookie
    return {"/devices/session": {
        "post": opened,
        "get": _op("Qué dispositivo es este navegador", "devices", _ref("DeviceSession")),
    }}
