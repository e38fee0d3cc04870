"""Health, catalogue, queues and the service day."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from appliance import __version__, parts
from appliance.api_tickets import issuing_rules
from appliance.http import STAFF, SUPERVISORS, actor, body, field, require, store
from turnero import catalog, checklist, clock_trust, day, floor, issuing, views
from turnero.clock import is_plausible, to_iso

bp = Blueprint("api_floor", __name__, url_prefix="/api/v1")


@bp.get("/health")
def health() -> Response:
    """Cheap enough for a watchdog: one query, no writes."""
    s = store()
    components: dict[str, Any] = {}
    try:
        mode = s.reader().execute("PRAGMA journal_mode").fetchone()[0]
        components["db"] = {"status": "ok" if mode == "wal" else "warning",
                            "journal_mode": mode}
    except Exception as exc:  # the whole point of a health check is to report this
        components["db"] = {"status": "error", "detail": str(exc)}
    # The clock: plausible at all (a Pi without RTC boots in 1970), and not contradicted by
    # the central's time nor left behind the log (turnero.clock_trust).
    trust = clock_trust.state(s)
    components["clock"] = {"status": trust["status"] if is_plausible(s.clock.now()) else "error",
                           "now": to_iso(s.clock.now()),
                           **{k: trust[k] for k in ("central_offset_seconds",
                                                    "log_ahead_seconds", "problems")}}
    for name, check in parts.health().items():
        try:
            components[name] = check()
        except Exception as exc:
            components[name] = {"status": "error", "detail": str(exc)}
    worst = {c["status"] for c in components.values()}
    status = "error" if "error" in worst else ("warning" if "warning" in worst else "ok")
    today = views.day_view(s) if components["db"]["status"] != "error" else None
    settings = parts.settings()
    return jsonify({"status": status, "version": __version__, "centre": settings.centre.code,
                    "day": today, "components": components,
                    "stream_clients": s.bus.subscribers})


@bp.get("/catalog")
@require(*STAFF, "kiosk", "display")
def get_catalog() -> Response:
    settings = parts.settings()
    data = catalog.read_catalog(store().reader())
    data["centre"] = {"code": settings.centre.code, "name": settings.centre.name,
                      "timezone": settings.centre.timezone,
                      "language": settings.centre.language}
    return jsonify(data)


@bp.get("/queues")
@require(*STAFF, "kiosk", "display")
def queues() -> Response:
    """Each queue's figures, and whether a kiosk would issue in it now (``issuing``)."""
    s = store()
    items = views.queue_stats(s)
    flags = issuing.for_queues(s, issuing_rules(), items)
    for item in items:
        item["issuing"] = flags[item["code"]]
    return jsonify({"queues": items})


@bp.post("/queues/<code>/open")
@require(*SUPERVISORS)
def open_queue(code: str) -> Response:
    body()
    return jsonify(floor.change_queue(store(), code, True, actor=actor()))


@bp.post("/queues/<code>/close")
@require(*SUPERVISORS)
def close_queue(code: str) -> Response:
    data = body()
    return jsonify(floor.change_queue(store(), code, False, actor=actor(),
                                      reason=field(data, "reason", str, required=True)))


@bp.get("/day")
@require(*STAFF, "display")
def get_day() -> Response:
    return jsonify(views.day_view(store()))


@bp.post("/day/open")
@require(*SUPERVISORS)
def open_day() -> Response:
    data = body()
    checks = field(data, "checks", dict)
    if checks is not None:  # a person opening the day records the whole check list
        checks = checklist.validate(checks)
    confirmed = field(data, "clock_confirmed", bool, False)  # the log is ahead of the clock
    return jsonify(day.open_day(store(), actor=actor(), checks=checks,
                                clock_confirmed=bool(confirmed)))


@bp.post("/day/close")
@require(*SUPERVISORS)
def close_day() -> Response:
    """Refused with the counts while people wait, unless ``expire_waiting`` confirms it."""
    confirmed = field(body(), "expire_waiting", bool, False)
    return jsonify(day.close_day(store(), actor=actor(), expire_waiting=bool(confirmed)))
