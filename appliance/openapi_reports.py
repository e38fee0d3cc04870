"""OpenAPI description of the indicators (reports and their audit) and the ANS catalogue."""

from __future__ import annotations

from typing import Any

from appliance.openapi import BOOL, INT, STR, _obj, _op, _path, _ref

NUM_OR_NULL = {"type": ["number", "null"]}
DATE = {"type": "string", "format": "date"}
GROUP = {"type": "string", "enum": ["total", "entity", "queue", "service", "counter", "agent",
                                    "hour", "priority", "channel"]}
STATS = _obj(("count", "mean", "median", "p90"), count=INT, mean=NUM_OR_NULL,
             median=NUM_OR_NULL, p90=NUM_OR_NULL, max=NUM_OR_NULL)
DESK = {"type": ["object", "null"], "required": ["serving", "calling", "idle", "paused", "open"],
        "properties": {"serving": {"type": "number"}, "calling": {"type": "number"},
                       "idle": {"type": "number"}, "open": {"type": "number"},
                       "paused_total": {"type": "number"},
                       "paused": {"type": "object",
                                  "additionalProperties": {"type": "number"}}}}
COUNTS = ("issued", "entered", "served", "no_show", "cancelled", "expired", "transferred",
          "in_progress")


def _param(name: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": text}


RANGE = [_param("from", DATE, "Primer día del período (AAAA-MM-DD)."),
         _param("to", DATE, "Último día del período; por defecto, el primero."),
         _param("period", {"type": "string", "enum": ["day", "week", "month"]},
                "En lugar de from/to: el día, la semana (lunes a domingo) o el mes."),
         _param("date", DATE, "Fecha dentro del período; por defecto, hoy.")]

SCHEMAS: dict[str, Any] = {
    "ReportRow": _obj(
        ("key", "label", *COUNTS, "wait", "attention", "wait_preferential", "wait_normal",
         "within_wait_target", "within_attention_target", "satisfaction", "desk"),
        key={"type": ["string", "integer"]}, label=STR,
        **{name: INT for name in COUNTS},
        wait=STATS, attention=STATS, wait_preferential=STATS, wait_normal=STATS,
        within_wait_target=NUM_OR_NULL, within_attention_target=NUM_OR_NULL,
        satisfaction=_obj(("count", "mean", "distribution"), count=INT, mean=NUM_OR_NULL,
                          distribution={"type": "object",
                                        "additionalProperties": {"type": "integer"}}),
        desk=DESK),
    "Report": _obj(
        ("from", "to", "group", "generated_at", "days", "rows", "total", "charts"),
        **{"from": STR}, to=STR, group={"type": ["string", "null"]}, generated_at=STR,
        days={"type": "array", "items": STR},
        rows={"type": "array", "items": _ref("ReportRow")}, total=_ref("ReportRow"),
        charts=_obj(("by_hour", "wait_distribution", "ans_by_entity"),
                    by_hour={"type": "array", "items": {"type": "object"}},
                    wait_distribution={"type": "array", "items": {"type": "object"}},
                    ans_by_entity={"type": "array", "items": {"type": "object"}})),
    "ReportAudit": _obj(("from", "to", "equal", "differences"), **{"from": STR}, to=STR,
                        equal=BOOL, differences={"type": "array", "items": {"type": "object"}}),
    "AnsTarget": _obj(
        ("id", "queue", "max_wait_minutes", "max_attention_minutes", "valid_from", "source"),
        id=INT, queue=STR, queue_name=STR, entity=STR,
        service={"type": ["integer", "null"]}, service_name={"type": ["string", "null"]},
        max_wait_minutes=INT, max_attention_minutes=INT, valid_from=STR,
        valid_to={"type": ["string", "null"]},
        source={"type": "string", "enum": ["config", "supervision"]}, created_at=STR,
        created_by={"type": ["string", "null"]}),
    "AnsList": _obj(("targets",), targets={"type": "array", "items": _ref("AnsTarget")}),
}

ANS_BODY = _obj(("queue", "max_wait_minutes", "max_attention_minutes", "valid_from"),
                queue=STR, service={"type": ["integer", "null"]},
                max_wait_minutes={"type": "integer", "minimum": 0, "maximum": 120},
                max_attention_minutes={"type": "integer", "minimum": 0, "maximum": 180},
                valid_from=DATE, valid_to={"type": ["string", "null"]})
TARGET = [_path("target_id", {"type": "integer", "minimum": 0})]


def paths() -> dict[str, Any]:
    report = _op("Indicadores de un período agrupados (JSON o CSV para Excel)", "reports",
                 _ref("Report"), params=[
                     *RANGE, _param("group", GROUP, "Cómo agrupar; por defecto, entity."),
                     _param("format", {"type": "string", "enum": ["json", "csv"]},
                            "json (por defecto) o csv (UTF-8 con BOM)."),
                     _param("separator", {"type": "string", "enum": [";", ","]},
                            "Separador del CSV; con ; los decimales llevan coma.")])
    report["responses"]["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    return {
        "/reports": {"get": report},
        "/reports/audit": {"get": _op(
            "Los indicadores recalculados desde el registro de eventos, comparados",
            "reports", _ref("ReportAudit"), params=RANGE)},
        "/ans": {"get": _op("Catálogo de ANS fechados", "reports", _ref("AnsList")),
                 "post": _op("Registrar un ANS", "reports", _ref("AnsTarget"), status="201",
                             body=ANS_BODY)},
        "/ans/{target_id}": {
            "put": _op("Corregir un ANS registrado en supervisión", "reports",
                       _ref("AnsTarget"), body=ANS_BODY, params=TARGET),
            "delete": _op("Borrar un ANS registrado en supervisión", "reports", None,
                          params=TARGET, extra={"204": {"description": "Borrado"}})},
    }
