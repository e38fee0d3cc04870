"""``create_app()``: the Flask application wired to one store and one centre's settings."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from appliance import (
    api_auth,
    api_counters,
    api_floor,
    api_printers,
    api_stream,
    api_tickets,
    memory,
)
from appliance.announcing import install as install_display
from appliance.api_admin import bp as admin_api
from appliance.api_reports import bp as reports_api
from appliance.api_scheduler import bp as scheduler_api
from appliance.api_supervision import bp as supervision_api
from appliance.api_sync import bp as sync_api
from appliance.desk_workers import start as start_desk_workers
from appliance.http import error_response, refuse_cross_site
from appliance.openapi import document
from appliance.printing import Printing
from appliance.ratelimit import RateLimiter
from config.model import Settings
from counter import pages as counter_pages
from display.feed import AnnouncementFeed
from kiosk import pages as kiosk_pages
from supervision import pages as supervision_pages
from sync.service import Uplink
from turnero.errors import TurneroError
from turnero.store import Event, Store

log = logging.getLogger(__name__)

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def create_app(settings: Settings, store: Store, **config: Any) -> Flask:
    app = Flask(__name__, static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=64 * 1024, JSON_SORT_KEYS=False, **config)
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.extensions["mac_turnos.store"] = store
    app.extensions["mac_turnos.settings"] = settings
    app.extensions.setdefault("mac_turnos.health", {})
    app.extensions.setdefault("mac_turnos.pages", {})
    app.extensions["mac_turnos.kiosk_limit"] = RateLimiter(settings.kiosk.tickets_per_minute)
    app.before_request(refuse_cross_site)
    printing = Printing(settings, store)
    printing.start()
    app.extensions["mac_turnos.printing"] = printing
    app.extensions["mac_turnos.health"].setdefault("printers", printing.health)
    app.extensions["mac_turnos.health"].setdefault(
        "memory", lambda: memory.health(store.reader_count))
    for bp in (api_floor.bp, api_auth.bp, api_tickets.bp, api_counters.bp, api_stream.bp,
               api_printers.bp, kiosk_pages.bp):
        app.register_blueprint(bp)
    app.extensions["mac_turnos.pages"].update({
        "Quiosco": "/kiosk", "Orientador": "/reception"})
    for bp in (supervision_api, admin_api, supervision_pages.bp):
        app.register_blueprint(bp)
    app.extensions["mac_turnos.pages"]["Supervisión"] = "/supervision"
    app.extensions["mac_turnos.pages"]["Indicadores y ANS"] = "/supervision/reports"
    app.register_blueprint(counter_pages.bp)
    app.extensions["mac_turnos.pages"]["Módulo"] = "/counter"
    install_display(app, settings, store)
    _end_announcements_of_revoked_tvs(store, app.extensions["mac_turnos.announcements"])
    start_desk_workers(app, settings, store)
    uplink = Uplink(store, settings)  # started by the server, not here (tests stay quiet)
    app.extensions["mac_turnos.uplink"] = uplink
    app.extensions["mac_turnos.health"].setdefault("uplink", uplink.health)
    app.register_blueprint(sync_api)
    app.register_blueprint(scheduler_api)  # the scheduler itself is started by the server
    app.register_blueprint(reports_api)
    app.add_url_rule("/api/v1/openapi.json", "openapi", lambda: jsonify(document()))
    _errors(app)
    app.after_request(_headers)
    return app


def _end_announcements_of_revoked_tvs(store: Store, feed: AnnouncementFeed) -> None:
    """A revoked TV's announcement stream ends at once, not at its next reconnection."""
    def on_event(event: Event) -> None:
        if event.kind == "device.revoked":
            feed.revoke(str(event.payload.get("device")))
    store.bus.listen(on_event)


def _errors(app: Flask) -> None:
    @app.errorhandler(TurneroError)
    def engine_error(exc: TurneroError) -> Response:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large",
                 400: "bad_request"}
        message = {404: "No existe esa dirección.", 405: "Método no permitido.",
                   413: "El cuerpo es demasiado grande."}.get(exc.code or 500,
                                                              exc.description or "")
        response = error_response(exc.code or 500, codes.get(exc.code or 500, "http_error"),
                                  message)
        if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
            response.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal", "Error interno; el equipo lo registró.")


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    if request.path.startswith("/api/"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response
