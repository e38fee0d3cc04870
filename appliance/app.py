"""``create_app()``: the Flask application wired to one store and one centre's settings."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from appliance import (
    announcing,
    api_auth,
    api_citas,
    api_counters,
    api_devices,
    api_floor,
    api_printers,
    api_stream,
    api_tickets,
    desk_workers,
    floor_alerts,
    gate,
    memory,
    parts,
    scheduler,
)
from appliance.api_admin import bp as admin_api
from appliance.api_reports import bp as reports_api
from appliance.api_scheduler import bp as scheduler_api
from appliance.api_stream import SessionStreams
from appliance.api_supervision import bp as supervision_api
from appliance.api_sync import bp as sync_api
from appliance.assets import bp as shared_assets
from appliance.http import error_response, refuse_cross_site
from appliance.openapi import document
from appliance.parts import HealthCheck, Parts
from appliance.printing import Printing
from appliance.ratelimit import RateLimiter
from config.model import Settings
from counter import pages as counter_pages
from display import pages as display_pages
from display.feed import AnnouncementFeed
from kiosk import pages as kiosk_pages
from supervision import pages as supervision_pages
from sync.service import Uplink
from turnero.errors import TurneroError
from turnero.store import Event, Store

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024  # bytes of a request body; the server and the front refuse more

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "media-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")


def create_app(settings: Settings, store: Store, **config: Any) -> Flask:
    """The app and everything it is made of: its parts (``appliance.parts``), the blueprints,
    the request hooks and the workers. The uplink and the scheduler are built here and
    started by the server (``appliance.server``, ``appliance.startup``), so that an app
    built in a test starts nothing that reaches out or runs on the clock."""
    app = Flask(__name__, static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=MAX_BODY, JSON_SORT_KEYS=False, **config)
    app.config.setdefault("STREAM_BUDGET", api_devices.stream_budget(settings.server.threads))
    app.json.ensure_ascii = False  # type: ignore[attr-defined]

    health: dict[str, HealthCheck] = {}
    app_parts = parts.install(app, Parts(
        settings=settings,
        store=store,
        printing=Printing(settings, store),
        announcing=announcing.build(settings, store, app.config),
        desk=desk_workers.build(settings, store, app.config),
        uplink=Uplink(store, settings),
        scheduler=scheduler.build(settings, store, health),
        kiosk_limit=RateLimiter(settings.kiosk.tickets_per_minute),
        session_streams=SessionStreams(),
        health=health,
    ))

    # Request hooks: after-request hooks run in reverse order, so the headers come first.
    gate.install(app)  # the Host allow-list and the staff networks, before anything else
    app.before_request(refuse_cross_site)
    app.before_request(api_devices.cookie_as_bearer)
    app.before_request(api_devices.admit_stream)
    app.after_request(api_devices.release_stream_reader)
    app.after_request(_headers)

    # Blueprints: the HTTP API, then the rooms with their pages for people.
    for bp in (api_floor.bp, api_auth.bp, api_tickets.bp, api_citas.bp, api_counters.bp,
               api_stream.bp, api_printers.bp, kiosk_pages.bp, supervision_api, admin_api,
               supervision_pages.bp, counter_pages.bp, api_devices.bp, display_pages.bp,
               sync_api, scheduler_api, reports_api):
        app.register_blueprint(bp)
    app.register_blueprint(shared_assets)  # staff.js, staff.css: /static/shared/
    app.add_url_rule("/api/v1/openapi.json", "openapi", lambda: jsonify(document()))
    _errors(app)
    app_parts.pages.update({
        "Quiosco": "/kiosk", "Orientador": "/reception", "Supervisión": "/supervision",
        "Indicadores y ANS": "/supervision/reports", "Módulo": "/counter",
        "Pantalla de sala": "/display/sala-1"})

    # Health components (GET /api/v1/health); the server adds the scheduler's when it
    # starts it and the front's (it concerns the socket it listens on), and start-up the
    # safe mode's.
    health["printers"] = app_parts.printing.health
    health["memory"] = lambda: memory.health(store.reader_count)
    health["speaker"] = app_parts.announcing.health
    if app_parts.desk.devices.devices:
        health["desk_devices"] = app_parts.desk.devices.health
    health["uplink"] = app_parts.uplink.health
    health["public_address"] = floor_alerts.public_address_view

    # Workers started with the app; the uplink and the scheduler are started by the server.
    app_parts.printing.start()
    app_parts.announcing.attach()  # on the bus; its threads start with the first call, or:
    app_parts.announcing.start_early()  # now, with espeak or when calls are owed since a cut
    app_parts.on_stop.append(app_parts.announcing.stop)
    _end_announcements_of_revoked_tvs(store, app_parts.announcements)
    app_parts.desk.start()  # the automatic no-show, the serial call buttons and number signs
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
        response = error_response(exc.status, exc.code, exc.message, exc.details)
        retry_after = getattr(exc, "retry_after", None)
        if exc.status == 429 and isinstance(retry_after, int):
            response.headers["Retry-After"] = str(retry_after)  # when to try again
        return response

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
