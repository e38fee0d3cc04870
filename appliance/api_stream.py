"""Live updates by Server-Sent Events: a full snapshot on connect, then every committed event,
with a heartbeat so that proxies and the browser notice a dead connection.

The subscription starts before the snapshot is read, and events already contained in the
snapshot (seq not above it) are skipped, so nothing falls between the two.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, request, stream_with_context

from appliance import parts
from appliance.http import SESSION_COOKIE, STAFF, principal, require, store
from turnero import views
from turnero.accounts import Principal, digest
from turnero.bus import Subscription
from turnero.store import Event

bp = Blueprint("api_stream", __name__, url_prefix="/api/v1")


def _frame(kind: str, data: Any, seq: int | None = None) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"id: {seq}\n" if seq is not None else ""
    return f"{head}event: {kind}\ndata: {text}\n\n"


STAFF_ONLY = ("user.", "device.")  # accounts and enrolments are nobody else's business


class SessionStreams:
    """The live streams open under each staff session (by the session token's digest), so
    that ending the session (logout, or a new login in that browser) ends them at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: dict[str, set[Subscription]] = {}

    def add(self, session: str, sub: Subscription) -> None:
        with self._lock:
            self._streams.setdefault(session, set()).add(sub)

    def remove(self, session: str, sub: Subscription) -> None:
        with self._lock:
            subs = self._streams.get(session)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._streams[session]

    def end(self, session: str) -> int:
        """End every stream of ``session``; how many there were."""
        with self._lock:
            subs = self._streams.pop(session, set())
        for sub in subs:
            sub.end()
        return len(subs)


def _ends(event: Event, who: Principal) -> bool:
    """Whether ``event`` takes away what this stream was opened with: the device's token
    was revoked, or the user was disabled or given a new PIN (both end their sessions). The
    stream then ends at once; the browser's reconnection is refused with 401."""
    if who.kind == "device":
        return event.kind == "device.revoked" and event.payload.get("device") == who.name
    return (event.kind in ("user.disabled", "user.secret_reset")
            and event.payload.get("username") == who.name)


def _public(event: Event, staff: bool) -> dict[str, Any]:
    data = event.as_dict()
    if not staff:  # TVs and kiosks do not need to know who did what, nor staff's notes
        data.pop("actor", None)
        if "reason_note" in event.payload:
            data["payload"] = {k: v for k, v in event.payload.items() if k != "reason_note"}
    return data


@bp.get("/stream")
@require(*STAFF, "display")
def stream() -> Response:
    s = store()
    who = principal()
    assert who is not None  # require() let it through
    staff = who.kind == "user"
    heartbeat = float(current_app.config.get("SSE_HEARTBEAT_SECONDS", 15))
    sub = s.bus.subscribe()
    cookie = request.cookies.get(SESSION_COOKIE) if staff else None
    session = digest(cookie) if cookie else None
    sessions = parts.session_streams()
    if session is not None:
        sessions.add(session, sub)
    snapshot = views.snapshot(s, staff=staff)

    def generate() -> Iterator[str]:
        try:
            yield "retry: 2000\n\n"
            yield _frame("snapshot", snapshot, snapshot["seq"])
            while not sub.dropped:
                event = sub.get(timeout=heartbeat)
                if sub.dropped:  # ended (logout) or fallen behind: the browser reconnects
                    return
                if event is None:
                    yield ": heartbeat\n\n"
                elif _ends(event, who):
                    return
                elif event.seq > snapshot["seq"] and (
                        staff or not event.kind.startswith(STAFF_ONLY)):
                    yield _frame(event.kind, _public(event, staff), event.seq)
        finally:
            sub.close()
            if session is not None:
                sessions.remove(session, sub)

    return Response(stream_with_context(generate()), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
