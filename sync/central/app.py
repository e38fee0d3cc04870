"""The central receiver: a Flask app of its own (it never touches a centre's database).

Routes: ``POST /api/v1/ingest``, ``GET /api/v1/catalogue`` and ``GET /api/v1/box/citas``
(centres, bearer token: their batches, the newest catalogue version, and their citas'
changes), ``GET /api/v1/health``, ``GET /``
(the national dashboard) and ``GET /export.csv`` (the same indicators as CSV), the last two
for viewers logged in through ``/login`` (``sync.central.auth``).

The pages that only read (the dashboard, its CSV, the entities' report, the citas and
catalogue pages and ``GET /api/v1/citas``) may read from another database, a PostgreSQL
streaming replica (``read_db``); ingest, logins, sessions, roles and every write stay on
the primary.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import zlib
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from sync import strict_json
from sync.central import (
    aggregates,
    auth,
    boxes,
    catalogue,
    catalogue_pages,
    citas,
    citas_pages,
    csv_export,
    entity_report,
    indicators,
    viewers,
)
from sync.central.db import Database
from sync.central.ingest import BadBatch, centre_for, ingest
from sync.central.times import moment
from sync.fingerprint import fingerprint

log = logging.getLogger("sync.central")
MAX_BODY = 32 * 1024 * 1024
# The most a gzip body may inflate to: a box sends at most 50 MB of JSON in one request
# (``uplink.batch_bytes``), plus the batch's head.
MAX_INFLATED = 64 * 1024 * 1024
INFLATE_CHUNK = 1024 * 1024
CSP = ("default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; "
       "base-uri 'none'; frame-ancestors 'none'")
LATE_MINUTES = 60
PERU = ZoneInfo("America/Lima")  # the network's centres keep Peru's time
DIGITS = re.compile(r"[0-9]+")  # ASCII only: str.isdigit takes "²", which int() refuses


HTTP_ERRORS = {
    400: ("bad_request", "La solicitud no es válida."),
    404: ("not_found", "No existe esa dirección."),
    405: ("method_not_allowed", "Método no permitido."),
    413: ("too_large", "El cuerpo es demasiado grande."),
    500: ("internal", "Error interno; el central lo registró."),
}


def _error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def _inflate(data: bytes) -> bytearray:
    """gunzip with a ceiling, so a small bomb cannot fill the memory.

    The body is inflated at most ``INFLATE_CHUNK`` (1 MiB) at a time into one buffer and
    refused with 413 as soon as that buffer passes ``MAX_INFLATED`` (64 MiB). Whatever the
    ratio of the bomb, inflating holds at most the compressed body (``MAX_BODY``, 32 MiB),
    a copy of the part of it not yet inflated (at most as much again), and 64 MiB plus one
    chunk of output. A stream that is not gzip, or is cut short, is ``zlib.error``."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = bytearray()
    pending = data
    while not inflater.eof:
        chunk = inflater.decompress(pending, INFLATE_CHUNK)
        if not chunk and len(inflater.unconsumed_tail) == len(pending):
            raise zlib.error("the gzip stream is cut short")
        out += chunk
        if len(out) > MAX_INFLATED:
            raise BadBatch(413, "too_large", "El envío descomprimido es demasiado grande.")
        pending = inflater.unconsumed_tail
    return out


def _range() -> tuple[str, str]:
    today = datetime.now(UTC).date()
    try:
        day_to = date.fromisoformat(request.args.get("to") or today.isoformat())
        day_from = date.fromisoformat(request.args.get("from")
                                      or (day_to - timedelta(days=6)).isoformat())
    except (ValueError, OverflowError):  # not a date, or a week before 0001-01-07
        day_to, day_from = today, today - timedelta(days=6)
    if day_from > day_to:
        day_from, day_to = day_to, day_from
    return day_from.isoformat(), day_to.isoformat()


def _span(seconds: int) -> str:
    """A clock's offset for people: +4 años, −3 h 20 min, +12 min."""
    sign, left = ("+" if seconds > 0 else "−"), abs(int(seconds))
    days, left = divmod(left, 86400)
    if days >= 365:
        return f"{sign}{days // 365} año{'s' if days >= 730 else ''}"
    if days:
        return f"{sign}{days} d"
    hours, left = divmod(left, 3600)
    return f"{sign}{hours} h {left // 60} min" if hours else f"{sign}{left // 60} min"


def _state(centre: dict[str, Any], now: datetime) -> str:
    """The centre's state for the dashboard: what needs attention first, each thing said."""
    if centre["revoked_at"]:
        return "revocado"
    notes = _warnings(centre, now)
    if notes:
        return "; ".join(notes)
    if not centre["last_contact"]:
        return "sin contacto"
    last = moment(centre["last_contact"])
    if now - last > timedelta(minutes=LATE_MINUTES):
        return "sin contacto reciente"
    return "al día" if not centre["backlog"] else "enviando pendientes"


def _warnings(centre: dict[str, Any], now: datetime) -> list[str]:
    """A clone refused in the last day, a clock far off, a gap being filled again."""
    found = []
    if centre.get("refused_box_at") and now - moment(centre["refused_box_at"]) < timedelta(
            days=1):
        found.append(f"otro equipo intentó enviar como este centro (huella "
                     f"{fingerprint(centre['refused_box_key'])}, "
                     f"{centre['refused_box_count']} veces)")
    if centre.get("clock_skew_seconds"):
        found.append(f"reloj del centro desfasado ({_span(centre['clock_skew_seconds'])})")
    if centre.get("gap_until") is not None:
        found.append(f"recuperando eventos perdidos aquí (seq {centre['gap_after'] + 1} a "
                     f"{centre['gap_until']})")
    return found


def create_central_app(db: Database, login_guard: viewers.LoginGuard | None = None,
                       citas_retention_days: int = citas.DEFAULT_RETENTION_DAYS,
                       read_db: Database | None = None) -> Flask:
    """The receiver on ``db``; ``login_guard`` counts failed logins (a new one unless
    given: tests give theirs, with its clock); the citizens' data of citas is erased
    ``citas_retention_days`` after their day; the read-only pages' figures come from
    ``read_db`` when given (a replica of ``db``), never a session, a login or a write."""
    reads = read_db or db
    app = Flask(__name__, static_folder="static")  # the dashboard's stylesheet
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, CITAS_RETENTION_DAYS=citas_retention_days)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["mac_turnos.central_db"] = db
    auth.install(app, db, login_guard)  # the dashboard and the CSV need a viewer's session
    entity_report.install(app, reads)
    catalogue_pages.install(app, db, reads)
    citas_pages.install(app, db, reads)

    _box_routes(app, db)

    @app.get("/api/v1/health")
    def health() -> Response:
        db.conn().query("SELECT 1 AS ok")
        answer = {"status": "ok", "database": db.kind}
        if read_db is not None:
            read_db.conn().query("SELECT 1 AS ok")
            answer["read_database"] = read_db.kind
        return jsonify(answer)

    _dashboard_routes(app, reads)

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["Cache-Control"] = "no-store"
        return response

    _errors(app)
    return app


def _box_routes(app: Flask, db: Database) -> None:
    """What the centres' boxes call, with their token: their batches and the catalogue."""
    @app.post("/api/v1/ingest")
    def receive() -> Response:
        centre = centre_for(db, request.headers.get("Authorization", ""))
        if centre is None:
            return _error(401, "unauthorized", "Token de centro inválido o revocado.")
        try:
            raw = request.get_data()
            boxes.admit(db, centre, request.headers.get("X-Box-Key"),
                        request.headers.get("X-Box-Signature"), raw)
            data: bytes | bytearray = raw
            if request.headers.get("Content-Encoding", "").lower() == "gzip":
                try:
                    data = _inflate(raw)
                except zlib.error:
                    raise BadBatch(400, "bad_gzip", "El cuerpo no es gzip válido.") from None
            try:
                batch = strict_json.loads(data, allow_nul=False)  # PostgreSQL: no U+0000
            except strict_json.Refused as exc:
                raise BadBatch(400, "invalid_json", str(exc)) from None
            return jsonify(ingest(db, centre, batch, app.config["CITAS_RETENTION_DAYS"]))
        except (BadBatch, boxes.Refused) as exc:
            return _error(exc.status, exc.code, exc.message)

    @app.get("/api/v1/catalogue")
    def catalogue_for_box() -> Response:
        """The newest catalogue version as the token's centre runs it, if newer than
        ``after`` (204 otherwise)."""
        centre = centre_for(db, request.headers.get("Authorization", ""))
        if centre is None:
            return _error(401, "unauthorized", "Token de centro inválido o revocado.")
        after = request.args.get("after", "0")
        if not after.isdigit() or len(after) > 18:
            return _error(400, "invalid_after", "after debe ser un número de versión.")
        found = catalogue.for_centre(db, centre, int(after))
        if found is None:
            return Response(status=204)
        return jsonify({"version": found[0], "catalogue": found[1]})

    @app.get("/api/v1/box/citas")
    def citas_for_box() -> Response:
        """The token's centre's citas changed after ``after``, ``limit`` at most."""
        centre = centre_for(db, request.headers.get("Authorization", ""))
        if centre is None:
            return _error(401, "unauthorized", "Token de centro inválido o revocado.")
        after = request.args.get("after", "0")
        limit = request.args.get("limit", "500")
        if not DIGITS.fullmatch(after) or len(after) > 18:
            return _error(400, "invalid_after", "after debe ser un número de cambio.")
        if (not DIGITS.fullmatch(limit) or len(limit) > 4
                or not 1 <= int(limit) <= citas.FEED_LIMIT):
            return _error(400, "invalid_limit",
                          f"limit debe ser un número de 1 a {citas.FEED_LIMIT}.")
        return jsonify(citas.changes(db, centre, int(after), int(limit)))


def _entity_rows(cells: dict[tuple[str, str], Any], centre: str) -> list[dict[str, Any]]:
    """The dashboard's table by entity: each entity over every centre, or one centre's
    (``centre``). A network of 120 centres × 15 entities is 1,800 rows, which nobody reads
    on a page: they are in the CSV."""
    if centre:
        return [{"centre": c, "entity": e, **cell.figures()}
                for (c, e), cell in sorted(cells.items()) if c == centre and e]
    return [{"centre": "", "entity": entity, **cell.figures()}
            for entity, cell in sorted(indicators.by_entity(cells).items())]


def _dashboard_routes(app: Flask, db: Database) -> None:
    """The national dashboard and its CSV, for a viewer's session; ``db`` is the database
    they read (the replica, when there is one)."""
    @app.get("/")
    def dashboard() -> str:
        day_from, day_to = _range()
        now = datetime.now(UTC)
        listed = indicators.centres(db)
        local = now.astimezone(PERU).date().isoformat()  # the centres' service day
        today = aggregates.read(db, local, local)
        versions = catalogue.states(db)
        for c in listed:
            c["state"] = _state(c, now)
            c["catalogue"] = versions.get(c["code"], "")
            c["today"] = today[(c["code"], "")].figures() if (c["code"], "") in today else {}
        cells = aggregates.read(db, day_from, day_to)
        totals = {centre: cell.figures() for (centre, entity), cell in cells.items()
                  if entity == ""}
        codes = [c["code"] for c in listed]
        chosen = request.args.get("centre", "")
        chosen = chosen if chosen in codes else ""
        rows = _entity_rows(cells, chosen)
        worst = max((t["mean_wait_minutes"] or 0 for t in totals.values()), default=0) or 1
        waits = [(code, totals.get(code, {}).get("mean_wait_minutes")) for code in codes]
        return render_template("dashboard.html", viewer=g.viewer, centres=listed, rows=rows,
                               totals=totals, codes=codes, day_from=day_from,
                               day_to=day_to, worst=worst, waits_by_centre=waits,
                               chosen=chosen, now=now.strftime("%Y-%m-%d %H:%M UTC"))

    @app.get("/export.csv")
    def export() -> Response:
        day_from, day_to = _range()
        text = csv_export.indicators_csv(aggregates.read(db, day_from, day_to), day_from,
                                         day_to)
        # A text/* mimetype gets "; charset=utf-8" in its Content-Type.
        response = Response(text, mimetype="text/csv")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="indicadores-{day_from}-{day_to}.csv"')
        return response


def _errors(app: Flask) -> None:
    """Every error of the central is JSON ``{error, message}``, the dashboard's included:
    its pages are HTML only when they answer 200."""
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code, message = HTTP_ERRORS.get(status, ("http_error", exc.description or ""))
        response = _error(status, code, message)
        if status == 405 and isinstance(exc, MethodNotAllowed) and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _error(500, "internal", "Error interno; el central lo registró.")


def gzip_json(data: Any) -> bytes:
    """A gzipped JSON body, as centres send (for tools and tests)."""
    return gzip.compress(json.dumps(data).encode("utf-8"))
