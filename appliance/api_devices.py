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
and the browser tries again later. Each caller (one device token, one staff session) also has
a cap of its own, so that one TV or one browser cannot take every slot and leave the other
desks and TVs with 503: a stream beyond the caller's cap is refused with 429, to that caller
only.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from flask import Blueprint, Flask, Response, after_this_request, current_app, jsonify, request

from appliance import parts
from appliance.http import SESSION_COOKIE, error_response, principal, require
from display.pages import DEVICE_COOKIE
from turnero.accounts import digest

bp = Blueprint("api_devices", __name__, url_prefix="/api/v1")
COOKIE_DAYS = 400  # the longest a browser keeps a cookie; the page renews it at each load
STREAMS = re.compile(r"^(/api/v1/stream|/display/[A-Za-z0-9_-]{1,40}/announcements)$")
# Live streams one caller may hold at once. Not settings: they follow from the pages. A TV
# needs its event stream and its announcement stream (2), plus one while a reload's new page
# connects before the old one is gone. A staff session is one browser: an asesor's desk page
# and the rating screen beside it (2), with room for a reload and a supervision tab.
STREAMS_PER_DEVICE = 3
STREAMS_PER_SESSION = 4


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


class CallerStreams:
    """The live streams each caller (device token or staff session) holds, counted from
    admission until the response is closed (the stream ended or the browser went away)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}

    def take(self, caller: str, cap: int) -> Callable[[], None] | None:
        """One more stream for ``caller``, or None when it already holds ``cap``. The
        returned function gives the slot back; calling it again does nothing."""
        with self._lock:
            if self._open.get(caller, 0) >= cap:
                return None
            self._open[caller] = self._open.get(caller, 0) + 1
        given_back = threading.Event()

        def give_back() -> None:
            if given_back.is_set():
                return
            given_back.set()
            with self._lock:
                left = self._open.get(caller, 0) - 1
                if left > 0:
                    self._open[caller] = left
                else:
                    self._open.pop(caller, None)
        return give_back

    def held(self, caller: str) -> int:
        with self._lock:
            return self._open.get(caller, 0)


_CALLERS_LOCK = threading.Lock()


def caller_streams(app: Flask) -> CallerStreams:
    with _CALLERS_LOCK:
        found = app.extensions.get("mac_turnos.caller_streams")
        if found is None:
            found = app.extensions["mac_turnos.caller_streams"] = CallerStreams()
        return found


def _caller() -> tuple[str, int] | None:
    """Who opens this stream, as a key, and their cap; None when nobody is signed in (the
    stream's own route answers 401)."""
    who = principal()
    if who is None:
        return None
    if who.kind == "device":
        auth = request.headers.get("Authorization", "")
        return "device:" + digest(auth[7:].strip()), STREAMS_PER_DEVICE
    cookie = request.cookies.get(SESSION_COOKIE, "")
    return "session:" + digest(cookie), STREAMS_PER_SESSION


def admit_stream() -> Response | None:
    """Before a request: refuse a live stream beyond the budget (app config
    ``STREAM_BUDGET``) with 503, and one beyond its caller's cap with 429."""
    budget = current_app.config.get("STREAM_BUDGET")
    if not budget or not STREAMS.match(request.path):
        return None
    if open_streams(current_app) >= budget:
        response = error_response(503, "too_many_streams", "El servidor tiene todas sus "
                                  "conexiones en vivo ocupadas; se reintentará en unos "
                                  "segundos.")
        response.headers["Retry-After"] = "10"
        return response
    caller = _caller()
    if caller is None:
        return None
    give_back = caller_streams(current_app).take(*caller)
    if give_back is None:
        response = error_response(429, "too_many_streams", "Este equipo ya tiene abiertas "
                                  "todas las conexiones en vivo que se le permiten; cierre "
                                  "otra pestaña o pantalla.")
        response.headers["Retry-After"] = "10"
        return response

    @after_this_request
    def release_on_close(response: Response) -> Response:
        response.call_on_close(give_back)
        return response
    return None


def release_stream_reader(response: Response) -> Response:
    """After a request: a stream has read its snapshot and will not touch the database
    again, so give back the thread's SQLite reader (about 115 KiB each, measured), which
    would otherwise stay with the thread for as long as the stream lasts."""
    if STREAMS.match(request.path):
        parts.store().release_reader()
    return response
