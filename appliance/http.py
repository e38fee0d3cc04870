"""HTTP plumbing shared by the API blueprints: who is asking, what they may do, JSON in and
out, and errors that are always JSON with a stable code."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Response, jsonify, request

from appliance import parts
from sync import strict_json
from turnero.accounts import Principal, device_principal, session_principal
from turnero.clock import to_iso
from turnero.errors import TurneroError
from turnero.store import Store

SESSION_COOKIE = "mt_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

STAFF = ("admin", "supervisor", "receptionist", "agent")
RECEPTION = ("admin", "supervisor", "receptionist")
SUPERVISORS = ("admin", "supervisor")
DEVICES = ("kiosk", "display")

F = TypeVar("F", bound=Callable[..., Any])


class ApiError(TurneroError):
    """An error raised by the HTTP layer itself (auth, input shape)."""

    def __init__(self, status: int, code: str, message: str,
                 retry_after: int | None = None) -> None:
        super().__init__(message, code)
        self.status = status
        self.retry_after = retry_after  # seconds, sent as Retry-After with a 429


def store() -> Store:
    return parts.store()


def error_response(http_status: int, code: str, message: str,
                   details: dict[str, Any] | None = None) -> Response:
    body = {k: v for k, v in (details or {}).items() if v is not None}
    body.update({"error": code, "message": message})
    response = jsonify(body)
    response.status_code = http_status
    return response


def principal() -> Principal | None:
    """The caller, from a device bearer token or a staff session cookie (cached per request)."""
    cache = request.environ
    if "mac_turnos.principal" in cache:
        return cache["mac_turnos.principal"]
    found: Principal | None = None
    conn = store().reader()
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        found = device_principal(conn, auth[7:].strip())
    else:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            found = session_principal(conn, token, to_iso(store().now()))
    cache["mac_turnos.principal"] = found
    return found


def require(*roles: str) -> Callable[[F], F]:
    """Allow only callers whose role is in ``roles``; staff sessions must send the CSRF token
    on every state change."""
    def decorate(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            who = principal()
            if who is None:
                raise ApiError(401, "unauthorized", "Inicie sesión o use un dispositivo "
                                                    "enrolado.")
            if who.role not in roles:
                raise ApiError(403, "forbidden", "Su rol no permite esta acción.")
            if who.kind == "user" and request.method in UNSAFE_METHODS:
                # bytes: compare_digest refuses str with non-ASCII characters (a TypeError)
                sent = request.headers.get(CSRF_HEADER, "").encode("utf-8", "replace")
                if not who.csrf or not hmac.compare_digest(sent, who.csrf.encode()):
                    raise ApiError(403, "csrf_failed", "Falta o no coincide el token CSRF.")
            return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]
    return decorate


def refuse_cross_site() -> Response | None:
    """A request hook: a state change sent by another site's page is refused before any
    route reads it.

    Staff changes need the CSRF token and device changes the bearer header, which no other
    site's page can send; but the login has neither, and the JSON body is read whatever its
    content type, so a form on another site could sign a browser in to an account of its
    author's choosing. Browsers say where a request comes from (``Sec-Fetch-Site``,
    ``Origin``); tools such as curl send neither and are let through."""
    if request.method not in UNSAFE_METHODS:
        return None
    site = request.headers.get("Sec-Fetch-Site", "same-origin")
    origin = request.headers.get("Origin")
    if site in ("same-origin", "none") and (origin is None or _same_host(origin)):
        return None
    return error_response(403, "cross_site", "Solo las páginas de este equipo pueden hacer "
                                             "cambios.")


def _same_host(origin: str) -> bool:
    try:
        return urlsplit(origin).netloc.lower() == request.host.lower()
    except ValueError:  # not a URL at all ("http://[x")
        return False


def body() -> dict[str, Any]:
    """The request's JSON object; an empty body is an empty object.

    Every JSON body of the API is read here, whatever its content type, and strictly
    (``sync.strict_json``): a lone surrogate, nesting deeper than 32 levels, NaN, Infinity, an
    infinite float or an integer outside 64 bits is a 400, never a 500 from the database or
    the parser further on."""
    raw = request.get_data(cache=True)
    if not raw:
        return {}
    try:
        data = strict_json.loads(raw)
    except strict_json.Refused as exc:
        raise ApiError(400, "invalid_json", str(exc)) from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "El cuerpo debe ser un objeto JSON válido.")
    return data


def field(data: dict[str, Any], name: str, kind: type | tuple[type, ...],
          default: Any = None, *, required: bool = False) -> Any:
    value = data.get(name, default)
    if value is None:
        if required:
            raise ApiError(400, "missing_field", f"Falta el campo {name}.")
        return default
    if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
        raise ApiError(400, "invalid_field", f"El campo {name} tiene un tipo incorrecto.")
    if not isinstance(value, kind):
        raise ApiError(400, "invalid_field", f"El campo {name} tiene un tipo incorrecto.")
    return value


def actor() -> str | None:
    who = principal()
    return who.actor if who else None
