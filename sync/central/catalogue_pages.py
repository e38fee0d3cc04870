"""The national catalogue for the PCM's people: its versions and what each centre runs, and,
for an editor, publishing a new version — as a page and as an API.

Routes (a viewer's session, as the dashboard): ``GET /catalogue`` (the page; an editor also
gets the form that publishes a file), ``POST /catalogue`` (that form), ``GET
/api/v1/catalogue/versions`` (the list), ``GET /api/v1/catalogue/versions/<n>`` (one
version's document), ``POST /api/v1/catalogue/versions`` (an editor publishes a JSON
document: 201 with its number, or 400 with every problem). A post from another site's page
is refused (403), as the login is.
"""

from __future__ import annotations

import json
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from flask import Flask, Response, g, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from sync import strict_json
from sync.central import catalogue, indicators, viewers
from sync.central.auth import from_elsewhere
from sync.central.db import Database

MAX_FILE = 8 * 1024 * 1024  # a catalogue of every service of the network is ~200 KiB


def _error(status: int, code: str, message: str, **more: Any) -> Response:
    response = jsonify({"error": code, "message": message, **more})
    response.status_code = status
    return response


def _refusal(db: Database) -> Response | None:
    """Why this viewer may not publish now (None: they may)."""
    if from_elsewhere():
        return _error(403, "cross_site", "La solicitud no salió de las páginas del central.")
    if viewers.role_of(db, g.viewer) != "editor":
        return _error(403, "forbidden", "Publicar el catálogo requiere el rol editor.")
    return None


def _page(db: Database, reads: Database, status: int = 200,
          problems: list[str] | None = None, published: str | None = None) -> Response:
    """The page: its figures from ``reads`` (a replica, or ``db``), the viewer's role from
    ``db``."""
    states = catalogue.states(reads)
    centres = [{"code": c["code"], "name": c["name"], "catalogue": states.get(c["code"], "")}
               for c in indicators.centres(reads)]
    html = render_template("catalogue.html", viewer=g.viewer, versions=catalogue.versions(reads),
                           centres=centres, editor=viewers.role_of(db, g.viewer) == "editor",
                           problems=problems or [], published=published)
    return Response(html, status=status)


def _uploaded() -> Any:
    """The document of the form's file: JSON, or a centre's TOML file."""
    upload = request.files.get("archivo")
    if upload is None or not upload.filename:
        raise ValueError("elija un archivo .json o .toml")
    data = upload.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise ValueError("el archivo pasa de 8 MiB")
    suffix = ".toml" if upload.filename.lower().endswith(".toml") else ".json"
    with TemporaryDirectory() as folder:
        path = Path(folder) / f"catalogo{suffix}"
        path.write_bytes(data)
        try:
            return catalogue.read_source(path)
        except UnicodeDecodeError:
            raise ValueError("el archivo no está en UTF-8") from None


def install(app: Flask, db: Database, reads: Database | None = None) -> None:
    """The routes on ``db``; the page reads its lists from ``reads`` when given, except
    right after a publication (``?publicada=N``), which the primary shows at once."""
    @app.get("/catalogue")
    def catalogue_page() -> Response:
        published = request.args.get("publicada")
        if published and published.isdigit():
            return _page(db, db, published=published)
        return _page(db, reads or db)

    @app.post("/catalogue")
    def catalogue_form() -> BaseResponse:
        refused = _refusal(db)
        if refused is not None:
            return refused
        try:
            document = _uploaded()
            number = catalogue.publish(db, document, g.viewer,
                                       (request.form.get("nota") or "").strip()[:200])
        except ValueError as exc:  # Invalid too
            problems = exc.problems if isinstance(exc, catalogue.Invalid) else [str(exc)]
            return _page(db, db, 400, problems=problems)
        return redirect(f"/catalogue?publicada={number}", code=303)

    @app.get("/api/v1/catalogue/versions")
    def versions_api() -> Response:
        return jsonify({"versions": catalogue.versions(db), "centres": catalogue.states(db)})

    @app.get("/api/v1/catalogue/versions/<int:number>")
    def version_api(number: int) -> Response:
        rows = db.conn().query("SELECT body FROM catalogue_versions WHERE number = ?",
                               (number,))
        if not rows:
            return _error(404, "not_found", f"No existe la versión {number}.")
        return jsonify({"version": number, "catalogue": json.loads(rows[0]["body"])})

    @app.post("/api/v1/catalogue/versions")
    def publish_api() -> Response:
        refused = _refusal(db)
        if refused is not None:
            return refused
        if request.mimetype != "application/json":
            return _error(415, "unsupported_media_type", "Envíe el catálogo como JSON.")
        try:
            body = strict_json.loads(request.get_data(), allow_nul=False)
        except strict_json.Refused as exc:
            return _error(400, "invalid_json", str(exc))
        if not isinstance(body, dict) or not isinstance(body.get("catalogue"), dict):
            return _error(400, "invalid_body", "Se esperaba {catalogue: {...}, note?}.")
        note = body.get("note", "")
        try:
            number = catalogue.publish(db, body["catalogue"], g.viewer,
                                       note[:200] if isinstance(note, str) else "")
        except catalogue.Invalid as exc:
            return _error(400, "invalid_catalogue", "El catálogo no se publicó.",
                          problems=exc.problems)
        response = jsonify({"version": number})
        response.status_code = 201
        return response
