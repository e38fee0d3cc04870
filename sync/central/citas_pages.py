"""Citas for the PCM's people (docs/citas.md): the page ``/citas`` with, per centre and
day, the citas booked, kept, late, missed and cancelled (and, for an editor, the form that
imports a booking system's CSV), and the JSON API that books, changes, cancels, imports and
lists them.

Every viewer reads; writing needs the ``editor`` role, and a write from another site's page
is refused (403) as the login is. Whatever a client sends, the answer is 2xx or a JSON
``{error, message}`` with 400, 403, 404 or 409: a wrong body is the sender's to fix, never
the central's 500.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from sync import strict_json
from sync.central import citas, citas_csv, indicators, viewers
from sync.central import citas_fields as fields
from sync.central.auth import from_elsewhere
from sync.central.db import Database

LONGEST_RANGE = 366  # days a page or a list covers at most


def _error(status: int, code: str, message: str, **more: Any) -> Response:
    response = jsonify({"error": code, "message": message, **more})
    response.status_code = status
    return response


def _refused(exc: citas.Refused) -> Response:
    more = {"problems": exc.problems} if exc.problems else {}
    return _error(exc.status, exc.code, exc.message, **more)


def _refusal(db: Database) -> Response | None:
    """Why this viewer may not write citas now (None: they may)."""
    if from_elsewhere():
        return _error(403, "cross_site", "La solicitud no salió de las páginas del central.")
    if viewers.role_of(db, g.viewer) != "editor":
        return _error(403, "forbidden",
                      "Reservar, cambiar o importar citas requiere el rol editor.")
    return None


def _days() -> tuple[str, str]:
    """The ``from``/``to`` days asked (default: today in Peru), in order; ValueError when
    one is not a date or the range passes a year."""
    today = citas.today().isoformat()
    first = fields.day(request.args.get("from") or today)
    last = fields.day(request.args.get("to") or request.args.get("from") or today)
    if first > last:
        first, last = last, first
    if date.fromisoformat(last) - date.fromisoformat(first) > timedelta(days=LONGEST_RANGE):
        raise fields.Bad(f"el rango pasa de {LONGEST_RANGE} días")
    return first, last


def _body() -> Any:
    """The request's JSON, read strictly (Refused as a 400)."""
    try:
        return strict_json.loads(request.get_data(), allow_nul=False)
    except strict_json.Refused as exc:
        raise citas.Refused(400, "invalid_json", f"El cuerpo no es JSON válido: {exc}") \
            from None


def _uploaded() -> str:
    """The CSV of the request: the form's ``file`` (or the page's ``archivo``), or the
    body itself."""
    upload = request.files.get("file") or request.files.get("archivo")
    if upload is not None:
        return citas_csv.decode(upload.read(citas_csv.MAX_BYTES + 1))
    if request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise citas.Refused(400, "invalid_import", "Elija un archivo CSV (campo file).",
                            ["elija un archivo CSV"])
    return citas_csv.decode(request.get_data())


def _import(db: Database) -> dict[str, int]:
    return citas_csv.import_text(db, _uploaded(), g.viewer,
                                 current_app.config.get("CITAS_RETENTION_DAYS",
                                                        citas.DEFAULT_RETENTION_DAYS))


def _page(db: Database, reads: Database, status: int = 200,
          problems: list[str] | None = None) -> Response:
    """The page: its figures from ``reads`` (a replica, or ``db``), the viewer's role from
    ``db``."""
    try:
        first, last = _days()
    except fields.Bad:  # a hand-typed address: today, as the dashboard does
        first = last = citas.today().isoformat()
    names = {c["code"]: c["name"] for c in indicators.centres(reads)}
    rows = [{**r, "name": names.get(r["centre"], "")}
            for r in citas.summary(reads, first, last)]
    totals = {k: sum(r[k] for r in rows) for k in citas.SUMMARY}
    imported = request.args.get("importadas", "")
    html = render_template("citas.html", viewer=g.viewer, rows=rows, totals=totals,
                           day_from=first, day_to=last, problems=problems or [],
                           editor=viewers.role_of(db, g.viewer) == "editor",
                           imported=imported if imported.isdigit() else None)
    return Response(html, status=status)


def install(app: Flask, db: Database, reads: Database | None = None) -> None:
    """The routes on ``db``; the page and the list read from ``reads`` when given, except
    the page right after an import (``?importadas=N``), which the primary shows at once."""
    source = reads or db

    @app.get("/citas")
    def citas_page() -> Response:
        return _page(db, db if request.args.get("importadas") else source)

    @app.post("/citas")
    def citas_form() -> BaseResponse:
        refused = _refusal(db)
        if refused is not None:
            return refused
        try:
            counts = _import(db)
        except citas.Refused as exc:
            return _page(db, db, 400, problems=exc.problems or [exc.message])
        return redirect(f"/citas?importadas={counts['rows']}", code=303)

    _api(app, db, source)


def _api(app: Flask, db: Database, reads: Database) -> None:
    @app.get("/api/v1/citas")
    def citas_list() -> Response:
        centre = request.args.get("centre") or None
        if centre is not None and not fields.CENTRE.match(centre):
            return _error(400, "invalid_centre", "centre no es un código de centro.")
        try:
            first, last = _days()
        except fields.Bad as exc:
            return _error(400, "invalid_range", f"Fechas no válidas: {exc}.")
        return jsonify({"from": first, "to": last,
                        **citas.listing(reads, centre, first, last)})

    @app.post("/api/v1/citas")
    def cita_book() -> Response:
        refused = _refusal(db)
        if refused is not None:
            return refused
        try:
            cita, new = citas.book(db, _body(), g.viewer)
        except citas.Refused as exc:
            return _refused(exc)
        response = jsonify({"cita": cita})
        response.status_code = 201 if new else 200
        return response

    @app.patch("/api/v1/citas/<code>")
    def cita_change(code: str) -> Response:
        refused = _refusal(db)
        if refused is not None:
            return refused
        try:
            return jsonify({"cita": citas.change(db, code, _body(), g.viewer)})
        except citas.Refused as exc:
            return _refused(exc)

    @app.post("/api/v1/citas/<code>/cancel")
    def cita_cancel(code: str) -> Response:
        refused = _refusal(db)
        if refused is not None:
            return refused
        try:
            return jsonify({"cita": citas.cancel(db, code, g.viewer)})
        except citas.Refused as exc:
            return _refused(exc)

    @app.post("/api/v1/citas/import")
    def citas_import() -> Response:
        refused = _refusal(db)
        if refused is not None:
            return refused
        try:
            return jsonify(_import(db))
        except citas.Refused as exc:
            return _refused(exc)
