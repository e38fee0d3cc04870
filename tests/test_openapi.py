"""The OpenAPI document of /api/v1 tells the truth: every route is documented and every documented
operation exists, the document is valid OpenAPI 3.1, and a bounded Schemathesis run against the
app (in-process, through WSGI) meets no server error and no response the document does not
describe (status code, content type, body schema), as the demo supervisor and as a kiosk: every
operation on its own (the live stream read up to its snapshot), and as the supervisor also in
sequences where a call uses what an earlier one answered (stateful, links inferred).

Each operation is fuzzed against its own copy of one seeded database (the demo centre, day open,
tickets waiting, called, in service, done and cancelled), so an operation that closes the day
or logs out does not starve the others, and the copy costs milliseconds instead of a login and
five password hashes. Part of the generated values are the seeded módulos, queues, services and
tickets, so requests reach the engine's real paths, not only its 404s."""

from __future__ import annotations

import copy
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import JsonSchemaError, UndefinedContentType, UndefinedStatusCode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from appliance.app import create_app
from appliance.openapi import document
from appliance.runtime import DB_NAME, open_store
from config.demo import demo_settings
from tests.conftest import PIN, START, USERS, Staff
from turnero import accounts, day
from turnero.clock import ManualClock, to_iso
from turnero.store import Store

PREFIX = "/api/v1"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


# --- 1. routes and document agree ------------------------------------------------------------

def _flask_path(rule: str) -> str:
    """``/api/v1/counters/<int:counter_id>/open`` -> ``/counters/{counter_id}/open``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.removeprefix(PREFIX))


def test_every_api_route_is_documented_and_every_documented_path_exists(app: Flask) -> None:
    routed = {(method, _flask_path(rule.rule)) for rule in app.url_map.iter_rules()
              if rule.rule.startswith(PREFIX + "/")
              for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    documented = {(method.upper(), path) for path, item in document()["paths"].items()
                  for method in item if method in HTTP_METHODS}
    assert len(routed) > 30
    assert sorted(routed - documented) == [], "routes missing from the OpenAPI document"
    assert sorted(documented - routed) == [], "documented operations without a route"


def test_the_app_serves_exactly_the_document(app: Flask) -> None:
    response = app.test_client().get(PREFIX + "/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == document()


# --- 2. the document is valid OpenAPI 3.1 -----------------------------------------------------

def _openapi_31_errors(doc: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    """(where, what) for each error against the OpenAPI 3.1 meta-schema, in the copy Schemathesis
    validates documents with (openapi-spec-validator is not installed)."""
    from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

    return [(tuple(e.instance_path), e.message) for e in OPENAPI_31_VALIDATOR.iter_errors(doc)]


def _json_schemas(doc: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Every JSON Schema in the document, with where it is."""
    for name, schema in doc["components"]["schemas"].items():
        yield f"components/schemas/{name}", schema
    for path, item in doc["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                yield f"{where} parameter {param['name']}", param["schema"]
            for media, content in op.get("requestBody", {}).get("content", {}).items():
                yield f"{where} request {media}", content["schema"]
            for status, response in op["responses"].items():
                for media, content in response.get("content", {}).items():
                    yield f"{where} {status} {media}", content["schema"]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolves(doc: dict[str, Any], ref: str) -> bool:
    if not ref.startswith("#/"):
        return False
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_openapi_document_is_valid_openapi_31() -> None:
    doc = document()
    assert doc["openapi"].startswith("3.1.")
    assert doc["servers"] == [{"url": PREFIX}]
    assert _openapi_31_errors(doc) == []

    # The meta-schema does not look inside schema objects: each must be valid JSON Schema 2020-12.
    invalid = {}
    for where, schema in _json_schemas(doc):
        try:
            jsonschema_rs.meta.validate(schema)
        except jsonschema_rs.ValidationError as exc:
            invalid[where] = exc.message
    assert invalid == {}

    assert sorted(ref for ref in set(_refs(doc)) if not _resolves(doc, ref)) == []

    # What the meta-schema cannot express: path templates and parameters agree, and security
    # requirements name declared schemes.
    schemes = set(doc["components"]["securitySchemes"])
    for path, item in doc["paths"].items():
        templated = set(re.findall(r"{([^}]+)}", path))
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            path_params = [p for p in op.get("parameters", []) if p["in"] == "path"]
            assert {p["name"] for p in path_params} == templated, where
            assert all(p["required"] for p in path_params), where
            for requirement in op.get("security", doc["security"]):
                assert set(requirement) <= schemes, where


def test_the_validity_check_rejects_a_broken_document() -> None:
    """The meta-schema check above is not vacuous."""
    broken = copy.deepcopy(document())
    del broken["info"]
    broken["paths"]["/health"]["get"]["responses"] = "none"
    errors = _openapi_31_errors(broken)
    assert ((), '"info" is a required property') in errors, errors
    assert any(where == ("paths", "/health", "get", "responses") for where, _ in errors), errors


# --- 3. a bounded Schemathesis run ------------------------------------------------------------

class CurrentApp:
    """A WSGI app that forwards to the app of the running test, so that the schema is built once
    at import (as ``parametrize`` needs) while every test gets a fresh store."""

    target: Flask | None = None

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.target is not None, "no app for this test"
        return self.target(environ, start_response)


CURRENT_APP = CurrentApp()

# Stand-ins for the seeded tickets, whose uids are only known once the database exists; the
# tests swap them for the real uids before sending.
# (Only unreserved URL characters: path parameters arrive percent-encoded.)
TICKETS = ("ticket-waiting", "ticket-called", "ticket-serving", "ticket-done", "ticket-cancelled")
TOKEN = "token-waiting"
DOCUMENT = "40000001"

# Mixed into generation (with the given probability) so that requests hit the seeded state.
DICTIONARIES = {
    "counters": [1, 2, 3, 4],  # called / serving / open and idle / closed
    "queues": ["RN", "RC", "BN"],
    "services": [76, 3],  # queues RN and BN
    "priorities": ["normal", "gestante"],
    "tickets": list(TICKETS),
    "tokens": [TOKEN],
    "labels": ["RN-001", "RN-005"],
    "documents": [DOCUMENT],
}
BINDINGS = {
    "path.counter_id": "counters", "path.code": "queues", "body.queue": "queues",
    "body.service_id": "services", "body.priority": "priorities", "path.uid": "tickets",
    "body.uid": "tickets", "path.token": "tokens", "query.label": "labels",
    "query.document": "documents",
}


def _schema(doc: dict[str, Any]) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict({
        "seed": 20261127,  # reproducible: a failure names the request that triggers it
        # GET /stream never ends by itself: its answer is read up to the snapshot (the first
        # event), which is enough to check its status, content type and that it started.
        "max-stream-events": 1,
        "dictionaries": {name: {"values": values} for name, values in DICTIONARIES.items()},
        "parameters": {key: {"dictionary": name, "probability": 0.5}
                       for key, name in BINDINGS.items()},
    })
    schema = schemathesis.openapi.from_dict(doc, config=config)
    schema.app = CURRENT_APP  # as ``from_wsgi`` does: requests go in-process, never to a network
    return schema


# Every operation, the live stream included.
SCHEMA = _schema(copy.deepcopy(document()))

# No 5xx, and every response documented: status code, content type, body schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def fuzz_settings(max_examples: int) -> Any:
    # The store is per operation, not per example, on purpose: an operation's requests see the
    # state its earlier requests left (a ticket cancelled, then cancelled again).
    return settings(max_examples=max_examples, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@dataclass
class Template:
    """The seeded database and the credentials that are valid in every copy of it."""

    directory: Path
    session: str
    csrf: str
    kiosk_token: str
    tickets: dict[str, str]  # placeholder -> uid


def _seed(staff: Staff) -> dict[str, str]:
    def post(path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = staff.post(PREFIX + path, body)
        assert response.status_code in (200, 201), (path, response.get_json())
        return response.get_json()

    issued = [post("/tickets", {"service_id": 76}) for _ in range(4)]
    issued.append(post("/tickets", {"service_id": 76, "document": DOCUMENT, "name": "Ana"}))
    for counter in (1, 2, 3):
        post(f"/counters/{counter}/open")
    called = post("/counters/1/call-next")
    post("/counters/2/call-next")
    serving = post("/counters/2/start")
    post("/counters/3/call-next")
    post("/counters/3/start")
    done = post("/counters/3/finish", {"outcome": "attended"})
    cancelled = post(f"/tickets/{issued[3]['uid']}/cancel", {"reason": "duplicate"})
    waiting = issued[4]
    assert [t["label"] for t in (called, serving, done, cancelled, waiting)] == [
        "RN-001", "RN-002", "RN-003", "RN-004", "RN-005"]
    assert [t["status"] for t in (called, serving, done, cancelled)] == [
        "called", "serving", "done", "cancelled"]
    uids = dict(zip(TICKETS, (t["uid"] for t in (waiting, called, serving, done, cancelled)),
                    strict=True))
    return {**uids, TOKEN: waiting["token"]}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    settings_ = demo_settings()
    directory = tmp_path_factory.mktemp("openapi-template")
    store = open_store(settings_, directory, clock=ManualClock(START))
    try:
        day.open_day(store, actor="test")
        for name, (role, entity) in USERS.items():
            accounts.create_user(store, name, role, PIN, security=settings_.security,
                                 entity=entity)
        kiosk_token = accounts.enrol_device(store, "kiosk-1", "kiosk")
        client = create_app(settings_, store, TESTING=True).test_client()
        response = client.post(PREFIX + "/auth/login",
                               json={"username": "supervisor", "password": PIN})
        assert response.status_code == 200, response.get_json()
        staff = Staff(client, response.get_json()["csrf_token"])
        tickets = _seed(staff)
        cookie = client.get_cookie("mt_session")
        assert cookie is not None
        return Template(directory, cookie.value, staff.csrf, kiosk_token, tickets)
    finally:
        store.close()


@pytest.fixture
def fuzzed_store(template: Template, tmp_path: Path) -> Iterator[Store]:
    """A copy of the seeded database, served by ``CURRENT_APP`` for this test."""
    source, target = (sqlite3.connect(template.directory / DB_NAME),
                      sqlite3.connect(tmp_path / DB_NAME))
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    settings_ = demo_settings()
    store = open_store(settings_, tmp_path, clock=ManualClock(START))
    CURRENT_APP.target = create_app(settings_, store, TESTING=True)
    yield store
    CURRENT_APP.target = None
    store.close()


class Supervisor:
    """The demo supervisor's session in the copy; logs in again whenever a generated request
    ended it (a logout, or a login sent with the session cookie), so that every request is made
    with a live session."""

    def __init__(self, store: Store, template: Template) -> None:
        self.store = store
        self.session, self.csrf = template.session, template.csrf

    def _login(self) -> None:
        assert CURRENT_APP.target is not None
        client = CURRENT_APP.target.test_client()

        def attempt() -> Any:
            return client.post(PREFIX + "/auth/login",
                               json={"username": "supervisor", "password": PIN},
                               # an address of its own: generated failed logins come from
                               # another, and a lockout applies only to its source
                               environ_base={"REMOTE_ADDR": "127.0.0.9"})

        response = attempt()
        if response.status_code == 409:  # locked by generated bad logins: reset the PIN
            accounts.set_secret(self.store, "supervisor", PIN, security=demo_settings().security)
            response = attempt()
        assert response.status_code == 200, response.get_json()
        cookie = client.get_cookie("mt_session")
        assert cookie is not None
        self.session, self.csrf = cookie.value, response.get_json()["csrf_token"]

    def credentials(self) -> tuple[dict[str, str], dict[str, str]]:
        """(headers, cookies) to send."""
        if accounts.session_principal(self.store.reader(), self.session,
                                      to_iso(self.store.now())) is None:
            self._login()
        return {"X-CSRF-Token": self.csrf}, {"mt_session": self.session}


@pytest.fixture
def supervisor(fuzzed_store: Store, template: Template) -> Supervisor:
    return Supervisor(fuzzed_store, template)


def _restore(store: Store, template: Template) -> None:
    """Copy the seeded database over the live one (SQLite's backup, so the store's own
    connections read the restored pages on their next transaction)."""
    source, target = (sqlite3.connect(template.directory / DB_NAME),
                      sqlite3.connect(store.path))
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def _use_seeded_tickets(case: schemathesis.Case, tickets: dict[str, str]) -> None:
    """Swap the ticket placeholders the dictionaries put into the case for the real uids."""
    for values in (case.path_parameters, case.body if isinstance(case.body, dict) else None):
        for name, value in (values or {}).items():
            if isinstance(value, str) and value in tickets:
                values[name] = tickets[value]  # type: ignore[index]


def _without_authorization(case: schemathesis.Case) -> None:
    """Drop a generated bearer token: it would take precedence over the session cookie."""
    for name in [n for n in (case.headers or {}) if n.lower() == "authorization"]:
        del case.headers[name]  # type: ignore[union-attr]


@SCHEMA.parametrize()
@fuzz_settings(max_examples=25)
def test_api_as_supervisor_has_no_server_error_and_answers_as_documented(
        case: schemathesis.Case, supervisor: Supervisor, template: Template) -> None:
    _use_seeded_tickets(case, template.tickets)
    _without_authorization(case)
    headers, cookies = supervisor.credentials()
    case.call_and_validate(headers=headers, cookies=cookies, checks=CHECKS)


def test_every_documented_operation_is_fuzzed() -> None:
    """No operation is left out of the runs above (the live stream once was)."""
    fuzzed = {(op.ok().method.upper(), op.ok().path) for op in SCHEMA.get_all_operations()}
    documented = {(method.upper(), path) for path, item in document()["paths"].items()
                  for method in item if method in HTTP_METHODS}
    assert fuzzed == documented and ("GET", "/stream") in fuzzed


def test_api_workflows_as_supervisor_have_no_server_error_and_answer_as_documented(
        supervisor: Supervisor, template: Template) -> None:
    """Stateful: sequences of calls where a later call uses what an earlier one answered
    (a ticket issued, then cancelled, reactivated, called at a módulo...). The document has
    no explicit links; Schemathesis infers them from the schemas."""
    class Workflow(SCHEMA.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            # Every scenario starts from the seeded database: with the state an earlier
            # scenario left, the same choices would meet other answers (an empty list, a
            # closed day) and Hypothesis would see a flaky strategy, not a finding.
            _restore(supervisor.store, template)
            supervisor.session, supervisor.csrf = template.session, template.csrf

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            _use_seeded_tickets(case, template.tickets)
            _without_authorization(case)
            headers, cookies = supervisor.credentials()
            return {"headers": headers, "cookies": cookies}

        def validate_response(self, response: Any, case: schemathesis.Case,
                              additional_checks: Any = None, **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Workflow.run(settings=settings(max_examples=15, stateful_step_count=6, deadline=None,
                                   database=None, suppress_health_check=list(HealthCheck)))


@SCHEMA.parametrize()
@fuzz_settings(max_examples=10)
def test_api_as_kiosk_has_no_server_error_and_answers_as_documented(
        case: schemathesis.Case, fuzzed_store: Store, template: Template) -> None:
    _use_seeded_tickets(case, template.tickets)
    case.call_and_validate(headers={"Authorization": f"Bearer {template.kiosk_token}"},
                           checks=CHECKS)


# The checks above are not vacuous: each flags a response the document does not describe.
def _health_requires_a_missing_field(doc: dict[str, Any]) -> None:
    doc["components"]["schemas"]["Health"]["required"].append("not_sent")


def _health_documents_only_201(doc: dict[str, Any]) -> None:
    responses = doc["paths"]["/health"]["get"]["responses"]
    responses["201"] = responses.pop("200")


def _health_documents_plain_text(doc: dict[str, Any]) -> None:
    content = doc["paths"]["/health"]["get"]["responses"]["200"]["content"]
    content["text/plain"] = content.pop("application/json")


@pytest.mark.parametrize(("mutate", "failure"), [
    (_health_requires_a_missing_field, JsonSchemaError),
    (_health_documents_only_201, UndefinedStatusCode),
    (_health_documents_plain_text, UndefinedContentType),
])
def test_the_checks_flag_a_response_the_document_does_not_describe(
        mutate: Any, failure: type, fuzzed_store: Store) -> None:
    doc = copy.deepcopy(document())
    mutate(doc)
    case = _schema(doc)["/health"]["GET"].Case()
    with pytest.raises(FailureGroup) as raised:
        case.call_and_validate(checks=CHECKS)
    assert [type(e) for e in raised.value.exceptions] == [failure]
