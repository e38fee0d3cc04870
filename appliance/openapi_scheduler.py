"""OpenAPI description of the scheduler's supervision route."""

from __future__ import annotations

from typing import Any

from appliance.openapi import BOOL, STR, _obj, _op, _ref

NULL_STR = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "SchedulerJob": _obj(
        ("name", "title", "status", "last_run"), name=STR, title=STR,
        status={"type": "string", "enum": ["never", "ok", "error"]}, last_run=NULL_STR,
        duration_ms={"type": ["number", "null"]}, result={"type": ["object", "null"]},
        error=NULL_STR, next_run=NULL_STR),
    "CalendarDay": _obj(
        ("date", "kind", "opens", "closes"), date=STR,
        kind={"type": "string", "enum": ["weekday", "holiday", "closure"]},
        holiday=NULL_STR, opens=NULL_STR, closes=NULL_STR),
    "Scheduler": _obj(
        ("status", "running", "jobs", "calendar", "timezone"),
        status={"type": "string", "enum": ["ok", "warning", "error", "disabled"]},
        running=BOOL, failed={"type": "array", "items": STR}, timezone=STR,
        jobs={"type": "object", "additionalProperties": _ref("SchedulerJob")},
        calendar={"type": "array", "items": _ref("CalendarDay")}),
}


def paths() -> dict[str, Any]:
    return {"/scheduler": {"get": _op(
        "Tareas programadas (apertura, cierre, copias, depuración) y horario de los próximos "
        "días", "system", _ref("Scheduler"))}}
