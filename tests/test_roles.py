"""The role matrix, route by route, from the application's own route table.

``MATRIX`` states, for every rule of the app (pages and ``/api/v1``) and every method, what
each kind of caller gets: ``OK`` (let through: any answer but 401/403 and never a 5xx),
``401`` (nobody is signed in) or ``403`` (signed in or enrolled, but the role may not).
A route added to the app without a line here fails the first test, so nobody can add a
route without deciding who may use it.

The rules: asesores act only on their entity's módulos and queues (the sample módulo and
ticket belong to RENIEC; ``agent_same`` is RENIEC's asesor, ``agent_other`` Banco de la
Nación's); orientadores do not manage users, devices, módulos, queues or the day; a kiosk
only issues and reads what issuing needs; a TV only reads the floor.

Every caller sends a state change with an empty body (or the smallest valid one where the
role check comes after the input check), so allowed calls mostly end in 400/404/409.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from config.demo import demo_settings
from tests.conftest import PIN, START
from turnero import accounts, calls, day, floor, tickets
from turnero.clock import ManualClock, to_iso
from turnero.store import Store

CALLERS = ("anonymous", "kiosk", "display", "agent_same", "agent_other", "receptionist",
           "supervisor", "admin")
STAFF_USERS = {"agent_same": ("asesor.reniec", "agent", "RENIEC"),
               "agent_other": ("asesor.bn", "agent", "BN"),
               "receptionist": ("orientador", "receptionist", None),
               "supervisor": ("supervisor", "supervisor", None),
               "admin": ("admin", "admin", None)}
OK, U, F = "ok", 401, 403

ALL = (OK,) * 8
PUBLIC = ALL
SIGNED_IN = (U, OK, OK, OK, OK, OK, OK, OK)       # any device or staff
FLOOR_READ = (U, F, OK, OK, OK, OK, OK, OK)       # staff and TVs
STAFF = (U, F, F, OK, OK, OK, OK, OK)
RECEPTION = (U, F, F, F, F, OK, OK, OK)           # orientador, supervisor, admin
SUPERVISORS = (U, F, F, F, F, F, OK, OK)
DESK = (U, F, F, OK, F, F, OK, OK)                # the módulo's own asesor, supervisors
ISSUE = (U, OK, F, F, F, OK, OK, OK)
DEVICES = (U, OK, OK, F, F, F, F, F)                # a kiosk's or TV's own session

#                                                        anon kiosk tv ag= ag≠ rec sup adm
MATRIX: dict[tuple[str, str], tuple[Any, ...]] = {
    # pages: plain shells, their data comes from the API below
    ("GET", "/kiosk"): PUBLIC,
    ("GET", "/kiosk/i18n/<language>.json"): PUBLIC,
    ("GET", "/kiosk/logos/<name>"): PUBLIC,
    ("GET", "/reception"): PUBLIC,
    ("GET", "/supervision"): PUBLIC,
    ("GET", "/supervision/reports"): PUBLIC,
    ("GET", "/static/kiosk/<path:filename>"): PUBLIC,
    ("GET", "/static/shared/<path:filename>"): PUBLIC,
    ("GET", "/static/supervision/<path:filename>"): PUBLIC,
    ("GET", "/t/<token>"): PUBLIC,
    ("GET", "/t/<token>/qr.svg"): PUBLIC,
    ("GET", "/counter"): PUBLIC,
    ("GET", "/counter/rating"): PUBLIC,
    ("GET", "/static/counter/<path:filename>"): PUBLIC,
    ("GET", "/display/<name>"): PUBLIC,
    ("GET", "/display/i18n/<language>.json"): PUBLIC,
    ("GET", "/display/audio/<file>"): PUBLIC,
    ("GET", "/display/clock"): PUBLIC,
    ("GET", "/static/display/<path:filename>"): PUBLIC,
    # A TV's own announcement feed: only an enrolled TV. It answers 401 (not 403) to every
    # other caller, because it looks for a TV's token only and never at other credentials.
    ("GET", "/display/<name>/announcements"): (U, U, OK, U, U, U, U, U),
    # system and authentication
    ("GET", "/api/v1/health"): PUBLIC,
    ("GET", "/api/v1/openapi.json"): PUBLIC,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): STAFF,
    ("GET", "/api/v1/auth/me"): SIGNED_IN,
    ("GET", "/api/v1/devices/session"): DEVICES,
    ("POST", "/api/v1/devices/session"): DEVICES,
    # what a kiosk needs to issue
    ("GET", "/api/v1/catalog"): SIGNED_IN,
    ("GET", "/api/v1/queues"): SIGNED_IN,
    ("POST", "/api/v1/tickets"): ISSUE,
    ("POST", "/api/v1/citas/check-in"): ISSUE,
    ("GET", "/api/v1/citas"): RECEPTION,
    ("GET", "/api/v1/print-jobs/<job_id>"): (U, OK, F, OK, OK, OK, OK, OK),
    ("GET", "/api/v1/public/tickets/<token>"): PUBLIC,
    # the floor as TVs and staff read it
    ("GET", "/api/v1/day"): FLOOR_READ,
    ("GET", "/api/v1/counters"): FLOOR_READ,
    ("GET", "/api/v1/stream"): FLOOR_READ,
    ("GET", "/api/v1/messages/current"): FLOOR_READ,
    ("GET", "/api/v1/floor"): RECEPTION,
    # tickets
    ("GET", "/api/v1/tickets"): STAFF,
    ("GET", "/api/v1/tickets/<uid>"): STAFF,
    ("POST", "/api/v1/tickets/<uid>/cancel"): RECEPTION,
    ("POST", "/api/v1/tickets/<uid>/reactivate"): RECEPTION,
    ("POST", "/api/v1/tickets/<uid>/priority"): RECEPTION,
    ("POST", "/api/v1/tickets/<uid>/transfer"): RECEPTION,
    ("POST", "/api/v1/tickets/<uid>/reprint"): RECEPTION,
    ("POST", "/api/v1/tickets/<uid>/rating"): (U, F, F, OK, F, OK, OK, OK),
    # módulos: only their own entity's asesor, and supervisors
    **{("POST", f"/api/v1/counters/<int:counter_id>/{action}"): DESK
       for action in ("open", "pause", "resume", "close", "call-next", "call", "recall",
                      "start", "finish", "no-show", "transfer")},
    ("GET", "/api/v1/counters/<int:counter_id>/waiting"): DESK,
    # printers
    ("GET", "/api/v1/printers"): STAFF,
    ("POST", "/api/v1/printers/<name>/retry"): RECEPTION,
    ("GET", "/api/v1/printers/<name>/preview.png"): RECEPTION,
    # queues, the day, the TVs' message: supervisors
    ("POST", "/api/v1/queues/<code>/open"): SUPERVISORS,
    ("POST", "/api/v1/queues/<code>/close"): SUPERVISORS,
    ("POST", "/api/v1/day/open"): SUPERVISORS,
    ("POST", "/api/v1/day/close"): SUPERVISORS,
    # the opening check list owed after an automatic opening
    ("GET", "/api/v1/day/checklist"): RECEPTION,
    ("POST", "/api/v1/day/checklist"): RECEPTION,
    ("POST", "/api/v1/messages"): SUPERVISORS,
    # accounts and devices: never an orientador or asesor
    ("GET", "/api/v1/users"): SUPERVISORS,
    ("POST", "/api/v1/users"): SUPERVISORS,
    ("POST", "/api/v1/users/<name>/pin"): SUPERVISORS,
    ("POST", "/api/v1/users/<name>/disable"): SUPERVISORS,
    ("POST", "/api/v1/users/<name>/enable"): SUPERVISORS,
    ("POST", "/api/v1/users/<name>/role"): SUPERVISORS,
    ("GET", "/api/v1/devices"): SUPERVISORS,
    ("POST", "/api/v1/devices"): SUPERVISORS,
    ("POST", "/api/v1/devices/<name>/revoke"): SUPERVISORS,
    # the box itself: uplink and scheduler
    ("GET", "/api/v1/sync"): SUPERVISORS,
    ("POST", "/api/v1/sync/send-now"): SUPERVISORS,
    ("GET", "/api/v1/scheduler"): SUPERVISORS,
    # indicators and the ANS they are measured against
    ("GET", "/api/v1/reports"): SUPERVISORS,
    ("GET", "/api/v1/reports/audit"): SUPERVISORS,
    ("GET", "/api/v1/ans"): SUPERVISORS,
    ("POST", "/api/v1/ans"): SUPERVISORS,
    ("PUT", "/api/v1/ans/<int:target_id>"): SUPERVISORS,
    ("DELETE", "/api/v1/ans/<int:target_id>"): SUPERVISORS,
}


def _routes(app: Flask) -> set[tuple[str, str]]:
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}


# --- the world every caller is tried in -----------------------------------------------------

@dataclass
class World:
    app: Flask
    store: Store
    tokens: dict[str, str]        # kiosk / display -> bearer token
    sessions: dict[str, tuple[FlaskClient, str]]
    values: dict[str, Any]        # path parameter samples

    def client(self, caller: str) -> tuple[FlaskClient, dict[str, str]]:
        if caller == "anonymous":
            return self.app.test_client(), {}
        if caller in self.tokens:
            return self.app.test_client(), {"Authorization": f"Bearer {self.tokens[caller]}"}
        client, csrf = self.sessions.get(caller, (None, ""))
        cookie = client.get_cookie("mt_session") if client else None
        if cookie is None or accounts.session_principal(
                self.store.reader(), cookie.value, to_iso(self.store.now())) is None:
            client = self.app.test_client()  # logged out by an earlier call: log in again
            response = client.post("/api/v1/auth/login", json={
                "username": STAFF_USERS[caller][0], "password": PIN})
            assert response.status_code == 200, response.get_json()
            csrf = response.get_json()["csrf_token"]
            self.sessions[caller] = (client, csrf)
        return client, {"X-CSRF-Token": csrf}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = demo_settings()
    store = open_store(settings, Path(tmp_path_factory.mktemp("roles")),
                       clock=ManualClock(START))
    day.open_day(store, actor="test")
    for name, role, entity in [*STAFF_USERS.values(), ("victima", "receptionist", None)]:
        accounts.create_user(store, name, role, PIN, security=settings.security,
                             entity=entity)
    tokens = {"kiosk": accounts.enrol_device(store, "kiosk-1", "kiosk"),
              "display": accounts.enrol_device(store, "tv-1", "display")}
    accounts.enrol_device(store, "tv-victima", "display")
    served, _ = tickets.issue_ticket(store, service_id=76, channel="reception")
    waiting, _ = tickets.issue_ticket(store, service_id=76, channel="reception")
    floor.change_counter(store, 1, "open", actor="asesor.reniec")
    calls.call_next(store, 1, actor="asesor.reniec")
    calls.start(store, 1, actor="asesor.reniec")
    calls.finish(store, 1, actor="asesor.reniec")
    app = create_app(settings, store, TESTING=True, SSE_HEARTBEAT_SECONDS=0.2)
    values = {"counter_id": 1, "uid": served["uid"], "waiting_uid": waiting["uid"],
              "code": "RN", "token": served["token"], "job_id": "no-such-job",
              "language": "es", "printer": "kiosko-demo", "user": "victima",
              "device": "tv-victima"}
    yield World(app, store, tokens, {}, values)
    parts.of(app).printing.stop()
    parts.of(app).desk.stop()
    store.close()


def _url(world: World, method: str, rule: str) -> str:
    v = world.values
    names = {"counter_id": v["counter_id"], "uid": v["uid"], "code": v["code"],
             "token": v["token"], "job_id": v["job_id"], "language": v["language"],
             "name": (v["printer"] if rule.startswith("/api/v1/printers")
                      else v["user"] if rule.startswith("/api/v1/users")
                      else v["device"] if rule.startswith("/api/v1/devices")
                      else "tv-1" if rule.startswith("/display") else "none.png"),
             "file": "none.wav", "target_id": 1,
             "filename": ("supervision.css" if "supervision" in rule else "common.css")}
    url = rule
    for name, value in names.items():
        for converter in ("", "int:", "path:"):
            url = url.replace(f"<{converter}{name}>", str(value))
    assert "<" not in url, f"no sample value for a parameter of {rule}"
    return url


def _body(world: World, rule: str) -> dict[str, Any]:
    """The smallest body that gets past input checks made before the entity check."""
    if rule.endswith("/call"):
        return {"uid": world.values["waiting_uid"]}
    if rule.endswith("/pause"):
        return {"reason": "break"}
    return {}


# --- the tests ------------------------------------------------------------------------------

def test_every_route_of_the_app_has_a_line_in_the_matrix_and_every_line_a_route(world: World):
    routes = _routes(world.app)
    assert sorted(routes - set(MATRIX)) == [], "routes without a decision on who may use them"
    assert sorted(set(MATRIX) - routes) == [], "matrix lines for routes that do not exist"
    assert all(len(row) == len(CALLERS) for row in MATRIX.values())


CASES = [(method, rule, caller, expected[i])
         for (method, rule), expected in sorted(MATRIX.items())
         for i, caller in enumerate(CALLERS)]


@pytest.mark.parametrize(("method", "rule", "caller", "expected"), CASES,
                         ids=[f"{m} {r} as {c}" for m, r, c, _ in CASES])
def test_each_caller_gets_what_the_matrix_says(world: World, method: str, rule: str,
                                               caller: str, expected: Any):
    client, headers = world.client(caller)
    url = _url(world, method, rule)
    if method == "GET":
        response = client.get(url, headers=headers, buffered=False)
    else:
        response = client.open(url, method=method, json=_body(world, rule), headers=headers)
    status = response.status_code
    error = response.get_json(silent=True) if response.mimetype == "application/json" else None
    response.close()  # ends a live stream
    assert status < 500, (status, error)
    if expected == OK:
        assert status not in (401, 403), (status, error)
    else:
        assert status == expected, (status, error)
        assert error and error["error"] == ("unauthorized" if expected == 401 else "forbidden")


POSTS_BY_STAFF = [rule for (method, rule), row in sorted(MATRIX.items())
                  if method == "POST" and row[CALLERS.index("supervisor")] == OK
                  and rule != "/api/v1/auth/login"]


@pytest.mark.parametrize("rule", POSTS_BY_STAFF)
def test_a_staff_change_without_the_csrf_token_is_refused(world: World, rule: str):
    client, _ = world.client("supervisor")
    response = client.post(_url(world, "POST", rule), json=_body(world, rule))
    assert response.status_code == 403
    assert response.get_json()["error"] == "csrf_failed"
