"""Indicators over HTTP: the report of a period grouped one way (JSON or CSV), its audit
against the event log, and the ANS catalogue that the report measures against."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, jsonify, request

from appliance.http import SUPERVISORS, ApiError, actor, body, require, store
from turnero import ans, reports
from turnero.reports import tabular

bp = Blueprint("api_reports", __name__, url_prefix="/api/v1")
# The years a report may ask about: at the edges of what ``date`` holds (0001, 9999) the
# week or month around a day, or the day after, does not exist.
REPORT_YEARS = (2000, 2999)


def _date(name: str) -> date:
    text = request.args.get(name, "")
    try:
        if len(text) != 10:
            raise ValueError
        day = date.fromisoformat(text)
    except ValueError:
        raise ApiError(400, "invalid_date", f"{name} debe ser una fecha AAAA-MM-DD.") from None
    if not REPORT_YEARS[0] <= day.year <= REPORT_YEARS[1]:
        raise ApiError(400, "invalid_date", f"{name} debe estar entre los años "
                                            f"{REPORT_YEARS[0]} y {REPORT_YEARS[1]}.")
    return day


def _range() -> tuple[date, date]:
    """``from``/``to``, or a ``period`` (day, week, month) around ``date`` (default today)."""
    period = request.args.get("period")
    if period is not None:
        if period not in reports.PERIODS:
            raise ApiError(400, "invalid_period", "period debe ser day, week o month.")
        anchor = _date("date") if "date" in request.args else date.fromisoformat(
            store().service_day(store().now()))
        return reports.period_range(period, anchor)
    if "from" not in request.args:
        raise ApiError(400, "missing_field", "Indique from y to, o period.")
    start = _date("from")
    return start, _date("to") if "to" in request.args else start


def _group() -> str | None:
    group = request.args.get("group", "entity")
    if group == "total":
        return None
    if group not in reports.GROUPS:
        raise ApiError(400, "invalid_group",
                       "group debe ser uno de: total, " + ", ".join(reports.GROUPS) + ".")
    return group


@bp.get("/reports")
@require(*SUPERVISORS)
def report() -> Response:
    start, end = _range()
    group = _group()
    fmt = request.args.get("format", "json")
    separator = request.args.get("separator", ";")
    if fmt not in ("json", "csv"):
        raise ApiError(400, "invalid_format", "format debe ser json o csv.")
    if separator not in (";", ","):
        raise ApiError(400, "invalid_separator", "separator debe ser ; o ,.")
    data = reports.build_report(store(), start, end, group)
    if fmt == "json":
        return jsonify(data)
    name = f"reporte-{group or 'total'}-{start.isoformat()}-{end.isoformat()}.csv"
    return Response(tabular.to_csv(data, separator), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/reports/audit")
@require(*SUPERVISORS)
def audit() -> Response:
    """Every group of the period from the tables and from the event log: they must agree."""
    start, end = _range()
    differences = []
    for group in (None, *reports.GROUPS):
        tables = reports.build_report(store(), start, end, group)
        events = reports.recompute_from_events(store(), start, end, group)
        for key in ("rows", "total", "charts"):
            if tables[key] != events[key]:
                differences.append({"group": group or "total", "part": key})
    return jsonify({"from": start.isoformat(), "to": end.isoformat(),
                    "equal": not differences, "differences": differences})


@bp.get("/ans")
@require(*SUPERVISORS)
def ans_list() -> Response:
    return jsonify({"targets": ans.list_targets(store().reader())})


@bp.post("/ans")
@require(*SUPERVISORS)
def ans_add() -> tuple[Response, int]:
    return jsonify(ans.add_target(store(), body(), actor=actor())), 201


@bp.put("/ans/<int:target_id>")
@require(*SUPERVISORS)
def ans_update(target_id: int) -> Response:
    return jsonify(ans.update_target(store(), target_id, body(), actor=actor()))


@bp.delete("/ans/<int:target_id>")
@require(*SUPERVISORS)
def ans_delete(target_id: int) -> tuple[str, int]:
    ans.delete_target(store(), target_id, actor=actor())
    return "", 204

