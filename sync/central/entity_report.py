"""The monthly report an entity (and the PCM) reads: for one month, each entity across every
centre — counts, waits, attention times, the share within the ANS and satisfaction — then
each entity at each centre, as a page with a chart and as CSV. Read from the aggregates,
so a month of the whole network is a few thousand rows.

Routes (a viewer's session, as the dashboard): ``GET /entities?month=YYYY-MM`` and
``GET /entities.csv?month=YYYY-MM`` (``entity=CODE`` keeps one entity).
"""

from __future__ import annotations

import calendar
import csv
import io
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, Response, g, render_template, request

from config.csv_cells import safe
from sync.central import aggregates
from sync.central.db import Database
from sync.central.indicators import COLUMNS, by_entity

HEADER = ("mes", "entidad", "centro", "emitidos", "atendidos", "no_se_presento", "anulados",
          "vencidos", "esperas_medidas", "espera_media_min", "espera_mediana_min",
          "dentro_ans", "atenciones_medidas", "atencion_media_min", "atencion_dentro_ans",
          "calificaciones", "calificacion_media", "satisfechos")
ALL = "(todos)"


def month_of(text: str | None) -> tuple[str, str, str]:
    """(YYYY-MM, its first day, its last day); this month when ``text`` is not one."""
    try:
        year, month = (int(x) for x in (text or "").split("-"))
        first = date(year, month, 1)
    except (ValueError, TypeError):
        today = datetime.now(UTC).date()
        first = today.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first.strftime("%Y-%m"), first.isoformat(), last.isoformat()


def report(db: Database, month: str | None, entity: str | None = None) -> dict[str, Any]:
    """The month's figures: ``entities`` (each over every centre, busiest first) and
    ``rows`` (each entity at each centre)."""
    label, day_from, day_to = month_of(month)
    cells = aggregates.read(db, day_from, day_to)
    if entity:
        cells = {k: v for k, v in cells.items() if k[1] == entity}
    entities = sorted(({"entity": e, **c.figures()} for e, c in by_entity(cells).items()),
                      key=lambda r: (-r["issued"], r["entity"]))
    rows = [{"entity": e, "centre": centre, **c.figures()}
            for (centre, e), c in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0]))
            if e]
    return {"month": label, "from": day_from, "to": day_to, "entities": entities,
            "rows": rows}


def as_csv(data: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for r in [{**e, "centre": ALL} for e in data["entities"]] + data["rows"]:
        writer.writerow([safe(v) for v in (
            data["month"], r["entity"], r["centre"],
            *(r[k] if r[k] is not None else "" for k in COLUMNS))])
    return "\ufeff" + out.getvalue()


def install(app: Flask, db: Database) -> None:
    @app.get("/entities")
    def entities_page() -> str:
        data = report(db, request.args.get("month"), request.args.get("entity"))
        worst = max((e["mean_wait_minutes"] or 0 for e in data["entities"]), default=0) or 1
        bars = [(e["entity"], e["mean_wait_minutes"]) for e in data["entities"]]
        return render_template("entities.html", viewer=g.viewer, worst=worst, bars=bars,
                               **data)

    @app.get("/entities.csv")
    def entities_csv() -> Response:
        data = report(db, request.args.get("month"), request.args.get("entity"))
        response = Response(as_csv(data), mimetype="text/csv")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="entidades-{data["month"]}.csv"')
        return response
