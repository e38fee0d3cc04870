"""Device sessions for browsers that cannot send an ``Authorization`` header, and the budget
of live streams.

A TV's page follows ``/api/v1/stream`` with EventSource, which sends cookies but no headers.
So the page hands its bearer token once to ``POST /api/v1/devices/session`` (a fetch, which
can send the header) and gets it back as an HttpOnly, SameSite=Strict cookie. The cookie
stands for the token on reads only (GET and HEAD): a state change still needs the header, so
a cookie can never be ridden into a change. Every request checks the token again, and a
revoked device's open streams end at once (``api_stream`` and ``display.pages`` watch for the
revocation), so the browser's reconnection is refused.

Every open stream holds one of the server's threads for as long as it lasts. Streams get at
most the threads left after a reserve kept for ordinary requests, so no number of TVs and
desks can starve a kiosk issuing a ticket; a stream beyond the budget is refused with 503
and the browser tries again later.
"""

from __future__ import annotations

import re

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from appliance import parts
from appliance.http import SESSION_COOKIE, error_response, principal, require
from display.pages import DEVICE_COOKIE

bp = Blueprint("api_devices", __name__, url_prefix="/api/v1")
COOKIE_DAYS = 400  # the longest a browser keeps a cookie; the page renews it at each load
STREAMS = re.compile(r"^(/api/v1/stream|/display/[A-Za-z0-9_-]{1,40}/announcements)$")


@bp.post("/devices/session")
@require("display", "kiosk")
def open_session() -> Response:
    """Set the device cookie from the bearer token this request carries."""
    who = principal()
    auth = request.headers.get("Authorization", "")
    response = jsonify({"name": who.name, "role": who.role})  # type: ignore[union-attr]
    response.set_cookie(DEVICE_COOKIE, auth[7:].strip(), max_age=COOKIE_DAYS * 86400,
                        httponly=True, samesite="Strict", path="/")
    return response


@bp.get("/devices/session")
@require("display", "kiosk")
def session() -> Response:
    """Which device this browser is (by its cookie or token): how a TV learns it is enrolled."""
    who = principal()
    return jsonify({"name": who.name, "role": who.role})  # type: ignore[union-attr]


def stream_budget(threads: int) -> int:
    """Streams allowed with ``threads`` server threads: all but a reserve for requests."""
    return max(1, threads - max(8, threads // 8))


def cookie_as_bearer() -> None:
    """Before a request: a device's cookie stands for its token on reads only."""
    if request.method not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in request.environ:
        return
    token = request.cookies.get(DEVICE_COOKIE)
    if token and SESSION_COOKIE not in request.cookies:
        request.environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"


def open_streams(app: Flask) -> int:
    app_parts = parts.of(app)
    return app_parts.store.bus.subscribers + app_parts.announcements.listeners


def admit_stream() -> Response | None:
    """Before a request: refuse a live stream beyond the budget (app config
    ``STREAM_BUDGET``) with 503."""
    budget = current_app.config.get("STREAM_BUDGET")
    if not budget or not STREAMS.match(request.path):
        return None
    if open_streams(current_app) < budget:
        return None
    response = error_response(503, "too_many_streams", "El servidor tiene todas sus "
                              "conexiones en vivo ocupadas; se reintentará en unos segundos.")
    response.headers["Retry-After"] = "10"
    return response


def release_stream_reader(response: Response) -> Response:
    """After a request: a stream has read its snapshot and will not touch the database
    again, so give back the thread's SQLite reader (about 115 KiB each, measured), which
    would otherwise stay with the thread for as long as the stream lasts."""
    if STREAMS.match(request.path):
        parts.store().release_reader()
    return response
