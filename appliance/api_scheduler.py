"""Supervision of the scheduler: each job's last run and result, the next runs, and the
centre's hours for the coming days (holidays and closures included)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, jsonify

from appliance import parts
from appliance.http import SUPERVISORS, require, store
from turnero import hours

bp = Blueprint("api_scheduler", __name__, url_prefix="/api/v1")
DAYS_AHEAD = 14


@bp.get("/scheduler")
@require(*SUPERVISORS)
def scheduler() -> Response:
    settings = parts.settings()
    sched = parts.scheduler()
    if not sched.started:  # safe mode, or an app without a server (tests, tools)
        view: dict[str, Any] = {"status": "disabled", "running": False, "failed": [],
                                "jobs": {}}
    else:
        view = sched.view()
    today = store().now().astimezone(ZoneInfo(settings.centre.timezone)).date()
    view["timezone"] = settings.centre.timezone
    view["calendar"] = [d.as_dict() for d in hours.upcoming(
        settings.hours, today, DAYS_AHEAD, settings.centre.timezone,
        hours.schedule_for(store(), settings.schedule))]
    return jsonify(view)
