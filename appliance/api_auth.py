"""Staff login and logout: an HttpOnly, SameSite=Strict session cookie plus a CSRF token."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from appliance import parts
from appliance.http import (
    SESSION_COOKIE,
    STAFF,
    body,
    error_response,
    field,
    principal,
    require,
    store,
)
from turnero import accounts

bp = Blueprint("api_auth", __name__, url_prefix="/api/v1/auth")


def _me(who: accounts.Principal) -> dict:
    return {"username": who.name, "role": who.role, "entity": who.entity,
            "csrf_token": who.csrf}


def end_session(token: str) -> None:
    """The session dies on the server, and so do the live streams opened with it."""
    accounts.logout(store(), token)
    parts.session_streams().end(accounts.digest(token))


@bp.post("/login")
def login() -> Response:
    data = body()
    settings = parts.settings()
    old = request.cookies.get(SESSION_COOKIE)
    if old:  # a login always starts a new session; the old id dies (no fixation)
        end_session(old)
    try:
        token, who = accounts.login(store(), field(data, "username", str, required=True),
                                    field(data, "password", str, required=True),
                                    security=settings.security,
                                    source=request.remote_addr or "")
    except accounts.TooManyAttempts as exc:  # about the source, the same for any username
        refused = error_response(exc.status, exc.code, exc.message)
        refused.headers["Retry-After"] = str(exc.retry_after)
        return refused
    response = jsonify(_me(who))
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="Strict",
                        secure=request.is_secure, path="/",
                        max_age=settings.security.session_hours * 3600)
    return response


@bp.post("/logout")
@require(*STAFF)
def logout() -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(token)
    response = jsonify({"ok": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@bp.get("/me")
@require(*STAFF, "kiosk", "display")
def me() -> Response:
    who = principal()
    assert who is not None
    return jsonify(_me(who))
