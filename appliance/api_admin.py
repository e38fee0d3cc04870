"""Staff accounts and enrolled devices, managed from the supervision page.

Only supervisors and admins reach these routes (an orientador or asesor never manages
accounts). A supervisor manages the floor staff (orientadores and asesores); supervisor and
admin accounts are the admin's: otherwise a supervisor could make themself an admin, or take
over another supervisor's account by resetting its PIN. Nobody disables or demotes their own
account here, so a centre cannot lock its last admin out by mistake.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from appliance import parts
from appliance.http import SUPERVISORS, ApiError, actor, body, field, principal, require, store
from config.model import Security
from turnero import accounts
from turnero.clock import from_iso

bp = Blueprint("api_admin", __name__, url_prefix="/api/v1")

FLOOR_STAFF = ("receptionist", "agent")


def _security() -> Security:
    return parts.settings().security


def _may_manage(*roles: Any) -> None:
    """A supervisor may touch only floor-staff accounts (before and after the change)."""
    who = principal()
    assert who is not None
    if who.role != "admin" and any(r not in FLOOR_STAFF for r in roles):
        raise ApiError(403, "forbidden", "Solo un administrador gestiona cuentas de "
                                         "supervisores y administradores.")


def _target(name: str, *, self_ok: bool = False) -> dict[str, Any]:
    user = accounts.get_user(store(), name)
    who = principal()
    assert who is not None
    if not self_ok and user["username"].lower() == who.name.lower():
        raise ApiError(409, "own_account", "No puede cambiar así su propia cuenta.")
    _may_manage(user["role"])
    return user


def _public(user: dict[str, Any]) -> dict[str, Any]:
    locked = user.get("locked_until")
    return {"username": user["username"], "full_name": user.get("full_name", ""),
            "role": user["role"], "entity": user["entity"],
            "disabled": bool(user.get("disabled")),
            "locked": bool(locked and from_iso(locked) > store().now())}


@bp.get("/users")
@require(*SUPERVISORS)
def users() -> Response:
    return jsonify({"users": [_public(u) for u in accounts.list_users(store())]})


@bp.post("/users")
@require(*SUPERVISORS)
def create_user() -> Response:
    data = body()
    role = field(data, "role", str, required=True)
    _may_manage(role)
    created = accounts.create_user(
        store(), field(data, "username", str, required=True), role,
        field(data, "pin", str, required=True), security=_security(),
        entity=field(data, "entity", str), full_name=field(data, "full_name", str, ""),
        actor=actor())
    response = jsonify(_public(accounts.get_user(store(), created["username"])))
    response.status_code = 201
    return response


@bp.post("/users/<name>/pin")
@require(*SUPERVISORS)
def reset_pin(name: str) -> Response:
    """A new PIN; lifts a lockout and ends the user's sessions."""
    data = body()
    user = _target(name, self_ok=True)
    accounts.set_secret(store(), user["username"], field(data, "pin", str, required=True),
                        security=_security(), actor=actor())
    return jsonify(_public(accounts.get_user(store(), user["username"])))


@bp.post("/users/<name>/disable")
@require(*SUPERVISORS)
def disable(name: str) -> Response:
    body()
    user = _target(name)
    accounts.set_disabled(store(), user["username"], True, actor=actor())
    return jsonify(_public(accounts.get_user(store(), user["username"])))


@bp.post("/users/<name>/enable")
@require(*SUPERVISORS)
def enable(name: str) -> Response:
    body()
    user = _target(name)
    accounts.set_disabled(store(), user["username"], False, actor=actor())
    return jsonify(_public(accounts.get_user(store(), user["username"])))


@bp.post("/users/<name>/role")
@require(*SUPERVISORS)
def change_role(name: str) -> Response:
    data = body()
    role = field(data, "role", str, required=True)
    user = _target(name)
    _may_manage(role)
    accounts.set_role(store(), user["username"], role, entity=field(data, "entity", str),
                      actor=actor())
    return jsonify(_public(accounts.get_user(store(), user["username"])))


def _link(name: str, role: str, token: str) -> str:
    """Where to open the device's browser once; the token travels after ``#``, so it never
    reaches a server log, and the page keeps it."""
    return f"/kiosk#device={token}" if role == "kiosk" else f"/display/{name}#device={token}"


@bp.get("/devices")
@require(*SUPERVISORS)
def devices() -> Response:
    return jsonify({"devices": accounts.list_devices(store())})


@bp.post("/devices")
@require(*SUPERVISORS)
def enrol() -> Response:
    """Enrol a kiosk or TV; the answer is the only time the token is ever shown."""
    data = body()
    name = field(data, "name", str, required=True)
    role = field(data, "role", str, required=True)
    token = accounts.enrol_device(store(), name, role, actor=actor())
    response = jsonify({"name": name, "role": role, "token": token,
                        "link": _link(name, role, token)})
    response.status_code = 201
    return response


@bp.post("/devices/<name>/revoke")
@require(*SUPERVISORS)
def revoke(name: str) -> Response:
    body()
    accounts.revoke_device(store(), name, actor=actor())
    return jsonify({"ok": True})
