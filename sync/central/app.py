"""The central receiver: a Flask app of its own (it never touches a centre's database).

Routes: ``POST /api/v1/ingest`` (centres, bearer token), ``GET /api/v1/health``, ``GET /``
(the national dashboard) and ``GET /export.csv`` (the same indicators as CSV), the last two
for viewers logged in through ``/login`` (``sync.central.auth``).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request

from sync.central import auth, indicators
from sync.central.db import Database
from sync.central.ingest import BadBatch, centre_for, ingest

log = logging.getLogger("sync.central")
MAX_BODY = 32 * 1024 * 1024
MAX_INFLATED = 256 * 1024 * 1024
CSP = ("default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
LATE_MINUTES = 60


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def _inflate(data: bytes) -> bytes:
    """gunzip with a ceiling, so a small bomb cannot fill the memory."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, MAX_INFLATED)
    if inflater.unconsumed_tail:
        raise BadBatch(413, "too_large", "El envío descomprimido es demasiado grande.")
    return out


def _range() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    try:
        day_to = date.fromisoformat(request.args.get("to") or today.isoformat())
        day_from = date.fromisoformat(request.args.get("from")
                                      or (day_to - timedelta(days=6)).isoformat())
    except ValueError:
        day_to, day_from = today, today - timedelta(days=6)
    if day_from > day_to:
        day_from, day_to = day_to, day_from
    return day_from.isoformat(), day_to.isoformat()


def _state(centre: dict[str, Any], now: datetime) -> str:
    if centre["revoked_at"]:
        return "revocado"
    if not centre["last_contact"]:
        return "sin contacto"
    last = datetime.strptime(centre["last_contact"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    if now - last > timedelta(minutes=LATE_MINUTES):
        return "sin contacto reciente"
    return "al día" if not centre["backlog"] else "enviando pendientes"


def create_central_app(db: Database) -> Flask:
    app = Flask(__name__, static_folder="static")  # the dashboard's stylesheet
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["mac_turnos.central_db"] = db
    auth.install(app, db)  # the dashboard and the CSV need a viewer's session

    @app.post("/api/v1/ingest")
    def receive() -> Response:
        centre = centre_for(db, request.headers.get("Authorization", ""))
        if centre is None:
            return _error(401, "unauthorized", "Token de centro inválido o revocado.")
        try:
            data = request.get_data()
            if request.headers.get("Content-Encoding", "").lower() == "gzip":
                try:
                    data = _inflate(data)
                except zlib.error:
                    raise BadBatch(400, "bad_gzip", "El cuerpo no es gzip válido.") from None
            try:
                batch = json.loads(data)
            except ValueError:
                raise BadBatch(400, "invalid_json", "El cuerpo no es JSON válido.") from None
            return jsonify(ingest(db, centre, batch))
        except BadBatch as exc:
            return _error(exc.status, exc.code, exc.message)

    @app.get("/api/v1/health")
    def health() -> Response:
        db.conn().query("SELECT 1 AS ok")
        return jsonify({"status": "ok", "database": db.kind})

    @app.get("/")
    def dashboard() -> str:
        day_from, day_to = _range()
        now = datetime.now(UTC)
        listed = indicators.centres(db)
        for c in listed:
            c["state"] = _state(c, now)
        cells = indicators.compute(db, day_from, day_to)
        totals = {centre: cell.figures() for (centre, entity), cell in cells.items()
                  if entity == ""}
        rows = [{"centre": centre, "entity": entity, **cell.figures()}
                for (centre, entity), cell in sorted(cells.items()) if entity]
        codes = [c["code"] for c in listed]
        worst = max((t["mean_wait_minutes"] or 0 for t in totals.values()), default=0) or 1
        return render_template("dashboard.html", viewer=g.viewer, centres=listed, rows=rows,
                               totals=totals, codes=codes, day_from=day_from,
                               day_to=day_to, worst=worst,
                               now=now.strftime("%Y-%m-%d %H:%M UTC"))

    @app.get("/export.csv")
    def export() -> Response:
        day_from, day_to = _range()
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["centro", "entidad", "desde", "hasta", "emitidos", "atendidos",
                         "no_se_presento", "anulados", "vencidos", "esperas_medidas",
                         "espera_media_min", "espera_mediana_min", "dentro_ans"])
        for (centre, entity), cell in sorted(indicators.compute(db, day_from, day_to).items()):
            f = cell.figures()
            writer.writerow([centre, entity or "(total)", day_from, day_to,
                             *(f[k] if f[k] is not None else "" for k in indicators.COLUMNS)])
        # A text/* mimetype gets "; charset=utf-8" in its Content-Type.
        response = Response("\ufeff" + out.getvalue(), mimetype="text/csv")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="indicadores-{day_from}-{day_to}.csv"')
        return response

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    return app


def gzip_json(data: Any) -> bytes:
    """A gzipped JSON body, as centres send (for tools and tests)."""
    return gzip.compress(json.dumps(data).encode("utf-8"))
