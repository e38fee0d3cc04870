"""The OpenAPI 3.1 document of ``/api/v1``; tests keep it true to the routes and responses.

Each room's API module may describe its own operations in a sibling ``openapi_<room>.py``
with ``paths() -> dict`` and an optional ``SCHEMAS`` dict; they are merged here, so adding a
room never means editing this file."""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import Path
from typing import Any

from appliance import __version__


def _nullable(kind: str) -> dict[str, Any]:
    return {"type": [kind, "null"]}


def _obj(required: tuple[str, ...] = (), **props: Any) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": props}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


STR, INT, BOOL, NUM = ({"type": "string"}, {"type": "integer"}, {"type": "boolean"},
                       {"type": "number"})

SCHEMAS: dict[str, Any] = {
    "Error": _obj(("error", "message"), error=STR, message=STR),
    "Ticket": _obj(
        ("uid", "label", "number", "status", "queue", "service_id", "priority",
         "preferential", "issued_at", "status_url"),
        uid=STR, label=STR, number=INT, day=STR,
        status={"type": "string", "enum": ["waiting", "called", "serving", "done", "no_show",
                                           "cancelled", "transferred", "expired"]},
        step=INT, queue=STR, service_id=INT, service_name=STR, entity=STR, entity_name=STR,
        priority=STR, preferential=BOOL, channel=STR, visit={"type": "array", "items": INT},
        issued_at=STR, appointment_at=_nullable("string"), entered_at=_nullable("string"),
        rule=_nullable("string"), called_at=_nullable("string"),
        started_at=_nullable("string"), ended_at=_nullable("string"), recalls=INT,
        counter=_nullable("integer"), counter_name=_nullable("string"),
        outcome=_nullable("string"), status_url=STR, token=STR, ahead=_nullable("integer"),
        estimated_wait_minutes=_nullable("integer"), attention_starts_at=_nullable("string"),
        document=_nullable("string"), document_type=_nullable("string"), name=_nullable("string"),
        print={"$ref": "#/components/schemas/PrintJob"},
        cancellations={"type": "array", "items": _ref("Cancellation")}),
    "PrintJob": _obj(("id", "printer", "ticket", "label", "status"), id=STR, printer=STR,
                     ticket=STR, label=STR,
                     status={"type": "string", "enum": ["queued", "printed", "pending"]}),
    "PrinterList": _obj(("printers",), printers={"type": "array", "items": _obj(
        ("name", "state", "message", "pending", "pending_jobs"), name=STR,
        state={"type": "string", "enum": ["ok", "paper_out", "offline", "error"]},
        message=STR, pending=INT, since=STR, transport=STR,
        paper={"type": "string", "enum": ["ok", "near_end", "out", "unknown"]},
        pending_jobs={"type": "array", "items": _obj(("id", "ticket", "label"), id=STR,
                                                     ticket=STR, label=STR)})}),
    "TicketDetail": {"allOf": [_ref("Ticket"), _obj(("history",), history={
        "type": "array", "items": _obj(("seq", "kind", "at"), seq=INT, kind=STR, at=STR,
                                       actor=_nullable("string"),
                                       counter=_nullable("integer"), payload={
                                           "type": "object"})})]},
    "PublicTicket": _obj(("label", "status"), label=STR, status=STR, service_name=STR,
                         entity_name=STR, preferential=BOOL, ahead=_nullable("integer"),
                         estimated_wait_minutes=_nullable("integer"),
                         attention_starts_at=_nullable("string"),
                         counter=_nullable("integer"), counter_name=_nullable("string")),
    "TicketList": _obj(("tickets",), tickets={"type": "array", "items": _ref("Ticket")}),
    "Rating": _obj(("uid", "score"), uid=STR, score=INT),
    "Queue": _obj(("code", "entity", "prefix", "waiting", "is_open"),
                  code=STR, entity=STR, prefix=STR, name=STR, is_open=BOOL,
                  closed_reason=_nullable("string"), waiting=INT, waiting_preferential=INT,
                  oldest_wait_minutes=NUM, max_wait_minutes=INT, open_counters=INT,
                  expected_wait_minutes=INT, expected_wait_preferential_minutes=INT,
                  attention_starts_at=_nullable("string"),
                  issuing=_ref("Issuing")),
    # Whether a kiosk would issue a normal / a preferential ticket in the queue now (false
    # with reason null when the queue itself is closed: see is_open and closed_reason).
    "Issuing": _obj(("normal", "preferential", "reason", "message"), normal=BOOL,
                    preferential=BOOL, reason={"type": ["string", "null"], "enum": [
                        "after_closing", "issuing_ended", "closed_today", None]},
                    message=_nullable("string")),
    "QueueList": _obj(("queues",), queues={"type": "array", "items": _ref("Queue")}),
    "QueueState": _obj(("code", "is_open"), code=STR, is_open=BOOL,
                       closed_reason=_nullable("string")),
    "Counter": _obj(("id", "name", "entity", "status"), id=INT, name=STR, entity=STR,
                    status={"type": "string", "enum": ["open", "paused", "closed"]},
                    reason=_nullable("string"), since=_nullable("string"),
                    agent=_nullable("string"), current={"type": ["object", "null"]}),
    "CounterList": _obj(("counters",), counters={"type": "array", "items": _ref("Counter")}),
    "CounterState": _obj(("id", "status"), id=INT, status=STR, reason=_nullable("string"),
                         since=STR, agent=_nullable("string")),
    "Day": _obj(("date", "open"), date=STR, open=BOOL, opened_at=_nullable("string"),
                closed_at=_nullable("string"), expired=INT, finished=INT),
    "Catalog": _obj(("entities", "queues", "services", "priorities", "counters", "centre"),
                    entities={"type": "array"}, queues={"type": "array"},
                    services={"type": "array"}, priorities={"type": "array"},
                    counters={"type": "array"}, centre={"type": "object"}),
    "Health": _obj(("status", "version", "components"),
                   status={"type": "string", "enum": ["ok", "warning", "error"]},
                   version=STR, centre=STR, day={"type": ["object", "null"]},
                   components={"type": "object"}, stream_clients=INT),
    "Me": _obj(("username", "role"), username=STR, role=STR, entity=_nullable("string"),
               csrf_token=_nullable("string")),
    "Ok": _obj(("ok",), ok=BOOL),
}

# One event of the live stream (before OpenAPI 3.2 the schema of an event stream describes
# each event): the snapshot or a committed event, JSON with its sequence number.
SSE_EVENT = {"type": "object", "required": ["event", "data"],
             "properties": {"event": STR, "id": STR, "data": {
                 "type": "string", "contentMediaType": "application/json",
                 "contentSchema": {"type": "object", "required": ["seq"],
                                   "properties": {"seq": {"type": "integer"}}}}}}

ERRORS = {
    "400": "Entrada inválida", "401": "Sin sesión ni dispositivo", "403": "Rol no permitido, "
    "CSRF ausente o cambio enviado desde otro sitio", "404": "No existe",
    "409": "El estado actual no lo permite",
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


def _op(summary: str, tag: str, ok: dict[str, Any] | None, *, status: str = "200",
        body: dict[str, Any] | None = None, public: bool = False,
        extra: dict[str, Any] | None = None, params: list | None = None) -> dict[str, Any]:
    responses: dict[str, Any] = {}
    if ok is not None:
        responses[status] = {"description": "OK", **_json(ok)}
    for code, text in ERRORS.items():
        if public and code in ("401", "403", "409"):
            continue
        responses[code] = {"description": text, **_json(_ref("Error"))}
    responses.update(extra or {})
    op: dict[str, Any] = {"summary": summary, "tags": [tag], "responses": responses}
    if body is not None:
        op["requestBody"] = {"required": False, **_json(body)}
    if params:
        op["parameters"] = params
    if public:
        op["security"] = []
    return op


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


UID = [_path("uid", STR)]
COUNTER = [_path("counter_id", {"type": "integer", "minimum": 0})]
POSITION = {"type": "string", "enum": ["arrival", "front", "back"]}
TRANSFER = _obj(service_id=INT, queue=STR, position=POSITION)
LANGUAGE = {"type": "string", "enum": ["es", "qu", "en"]}


def _ticket_actions() -> dict[str, Any]:
    actions = {
        "reactivate": ("Reactivar un turno no presentado o anulado", _obj(position=POSITION)),
        "priority": ("Cambiar la categoría preferente", _obj(("priority",), priority=STR)),
        "transfer": ("Derivar un turno en espera", TRANSFER),
        "reprint": ("Imprimir otra vez en la impresora de recepción",
                    _obj(language=LANGUAGE)),
    }
    paths = {f"/tickets/{{uid}}/{name}": {"post": _op(summary, "reception", _ref("Ticket"),
                                                      body=schema, params=UID)}
             for name, (summary, schema) in actions.items()}
    paths["/tickets/{uid}/rating"] = {"post": _op(
        "Registrar la satisfacción (1 a 5)", "reception", _ref("Rating"),
        body=_obj(("score",), score={"type": "integer", "minimum": 1, "maximum": 5}),
        params=UID)}
    return paths


def _counter_actions() -> dict[str, Any]:
    state = {"open": "Abrir el módulo", "resume": "Reanudar", "close": "Cerrar el módulo"}
    paths: dict[str, Any] = {
        f"/counters/{{counter_id}}/{name}": {"post": _op(text, "counter", _ref("CounterState"),
                                                         body=_obj(), params=COUNTER)}
        for name, text in state.items()}
    paths["/counters/{counter_id}/pause"] = {"post": _op(
        "Pausar el módulo", "counter", _ref("CounterState"), params=COUNTER,
        body=_obj(("reason",), reason={"type": "string", "enum": [
            "break", "training", "it_support", "entity_system_down", "other"]}))}
    ticket_ops = {"recall": "Volver a llamar", "start": "Iniciar la atención",
                  "no-show": "No se presentó"}
    for name, text in ticket_ops.items():
        paths[f"/counters/{{counter_id}}/{name}"] = {"post": _op(
            text, "counter", _ref("Ticket"), body=_obj(), params=COUNTER)}
    paths["/counters/{counter_id}/call-next"] = {"post": _op(
        "Llamar al siguiente", "counter", _ref("Ticket"), body=_obj(), params=COUNTER,
        extra={"204": {"description": "Nadie espera"}})}
    paths["/counters/{counter_id}/call"] = {"post": _op(
        "Llamar a un turno dado", "counter", _ref("Ticket"), params=COUNTER,
        body=_obj(("uid",), uid=STR))}
    paths["/counters/{counter_id}/finish"] = {"post": _op(
        "Finalizar la atención", "counter", _ref("Ticket"), params=COUNTER,
        body=_obj(outcome={"type": "string",
                           "enum": ["attended", "pending", "not_applicable"]}))}
    paths["/counters/{counter_id}/transfer"] = {"post": _op(
        "Derivar al ciudadano a otra cola", "counter", _ref("Ticket"), params=COUNTER,
        body=TRANSFER)}
    return paths


@cache
def document() -> dict[str, Any]:
    issue_body = _obj(("service_id",), service_id=INT, priority=STR, document=STR,
                      document_type={"type": "string", "enum": ["dni", "ce", "passport", "ruc"]},
                      name=STR, language=LANGUAGE,
                      visit={"type": "array", "items": INT, "maxItems": 4},
                      appointment={"type": "string", "format": "date-time"})
    paths: dict[str, Any] = {
        "/health": {"get": _op("Estado del equipo", "system", _ref("Health"), public=True)},
        "/openapi.json": {"get": {"summary": "Este documento", "tags": ["system"],
                                  "security": [], "responses": {"200": {
                                      "description": "OK", **_json({"type": "object"})}}}},
        "/auth/login": {"post": _op(
            "Iniciar sesión", "auth", _ref("Me"), public=True,
            body=_obj(("username", "password"), username=STR, password=STR),
            extra={"401": {"description": "Credenciales incorrectas",
                           **_json(_ref("Error"))},
                   "403": {"description": "Enviado desde una página de otro sitio",
                           **_json(_ref("Error"))},
                   "429": {"description": "Demasiados intentos fallidos desde este equipo "
                                          "(ver Retry-After)", **_json(_ref("Error"))}})},
        "/auth/logout": {"post": _op("Cerrar sesión", "auth", _ref("Ok"))},
        "/auth/me": {"get": _op("Quién soy", "auth", _ref("Me"))},
        "/catalog": {"get": _op("Entidades, colas, servicios, categorías y módulos",
                                "catalog", _ref("Catalog"))},
        "/tickets": {
            "post": _op("Emitir un turno", "reception", _ref("Ticket"), status="201",
                        body=issue_body, extra={"200": {
                            "description": "Repetición de una petición con la misma "
                                           "Idempotency-Key", **_json(_ref("Ticket"))},
                            "403": {"description": "Rol no permitido, CSRF ausente, "
                                                   "cambio enviado desde otro sitio, o un "
                                                   "quiosco que pide un turno con cita "
                                                   "(appointment_not_for_kiosk)",
                                    **_json(_ref("Error"))},
                            "422": {"description": "La Idempotency-Key ya se usó con otros "
                                                   "datos (idempotency_key_reused)",
                                    **_json(_ref("Error"))},
                            "429": {"description": "Demasiados turnos desde este quiosco",
                                    **_json(_ref("Error"))}},
                        params=[{"name": "Idempotency-Key", "in": "header",
                                 "required": False,
                                 "schema": {"type": "string", "minLength": 8,
                                            "maxLength": 100}}]),
            "get": _op("Buscar turnos del día por etiqueta o documento (por documento: "
                       "orientación y supervisión; un asesor ve documento y nombre solo de "
                       "los turnos de su entidad)", "reception",
                       _ref("TicketList"), params=[
                           {"name": "label", "in": "query", "schema": STR},
                           {"name": "document", "in": "query", "schema": STR}])},
        "/tickets/{uid}": {"get": _op("Un turno y su historia", "reception",
                                      _ref("TicketDetail"), params=UID)},
        "/public/tickets/{token}": {"get": _op("Vista pública de un turno (QR)", "public",
                                               _ref("PublicTicket"), public=True,
                                               params=[_path("token", STR)])},
        "/counters": {"get": _op("Estado de los módulos", "counter", _ref("CounterList"))},
        "/queues": {"get": _op("Colas: espera y tiempo estimado", "floor", _ref("QueueList"))},
        "/queues/{code}/open": {"post": _op("Abrir una cola", "floor", _ref("QueueState"),
                                            body=_obj(), params=[_path("code", STR)])},
        "/queues/{code}/close": {"post": _op("Cerrar una cola con motivo", "floor",
                                             _ref("QueueState"), params=[_path("code", STR)],
                                             body=_obj(("reason",), reason=STR))},
        "/day": {"get": _op("La jornada de hoy", "floor", _ref("Day"))},
        "/day/open": {"post": _op("Abrir la jornada", "floor", _ref("Day"),
                                  body=_obj(checks={"type": "object"},
                                            clock_confirmed={"type": "boolean"}))},
        "/day/close": {"post": _op("Cerrar la jornada (con gente esperando, 409 "
                                   "people_waiting salvo expire_waiting)", "floor",
                                   _ref("Day"), body=_obj(expire_waiting={"type": "boolean"}))},
        "/stream": {"get": {"summary": "Eventos en vivo (SSE)", "tags": ["floor"],
                            "responses": {"200": {"description": "text/event-stream",
                                                  "content": {"text/event-stream": {
                                                      "schema": SSE_EVENT}}},
                                          **{c: {"description": t, **_json(_ref("Error"))}
                                             for c, t in ERRORS.items()
                                             if c in ("401", "403")},
                                          "429": {"description": "Este equipo o sesión ya "
                                                                 "tiene todas sus conexiones "
                                                                 "en vivo",
                                                  **_json(_ref("Error"))},
                                          "503": {"description": "Demasiadas conexiones en "
                                                                 "vivo; reintente luego",
                                                  **_json(_ref("Error"))}}}},
        "/print-jobs/{job_id}": {"get": _op("Si el ticket salió impreso", "printing",
                                            _ref("PrintJob"),
                                            params=[_path("job_id", STR)])},
        "/printers": {"get": _op("Impresoras y los tickets que deben", "printing",
                                 _ref("PrinterList"))},
        "/printers/{name}/retry": {"post": _op(
            "Reintentar ahora los tickets pendientes de una impresora", "printing",
            _ref("Ok"), body=_obj(), params=[_path("name", STR)])},
        "/printers/{name}/preview.png": {"get": _op(
            "Vista previa del último ticket de una impresora virtual", "printing", None,
            params=[_path("name", STR)],
            extra={"200": {"description": "PNG", "content": {"image/png": {"schema": {
                "type": "string", "format": "binary"}}}}})},
        **_ticket_actions(), **_counter_actions(),
    }
    schemas = dict(SCHEMAS)
    for part in _parts():
        paths.update(part.paths())
        schemas.update(getattr(part, "SCHEMAS", {}))
    return {
        "openapi": "3.1.0",
        "info": {"title": "mac-turnos", "version": __version__,
                 "description": "API of the Centro MAC turn appliance."},
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "device": {"type": "http", "scheme": "bearer",
                           "description": "Token of an enrolled kiosk or TV."},
                "session": {"type": "apiKey", "in": "cookie", "name": "mt_session",
                            "description": "Staff session; send X-CSRF-Token on changes."}},
        },
        "security": [{"device": []}, {"session": []}],
    }


def _parts() -> list[Any]:
    """The ``openapi_*`` modules beside this one, in name order."""
    here = Path(__file__).parent
    names = sorted(m.name for m in pkgutil.iter_modules([str(here)])
                   if m.name.startswith("openapi_"))
    return [importlib.import_module(f"appliance.{name}") for name in names]
