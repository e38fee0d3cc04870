"""Security checks against the real app: CSRF on every state change (taken from the app's own
route table, so a new route is covered without anyone remembering to add it), what protects
the device routes, sessions (fixation, logout, expiry), PIN lockout by the box's clock,
device revocation down to the live streams, and the security headers and cookie flags of
every page and API response."""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from config.demo import demo_settings
from config.model import Settings
from tests.conftest import PIN, START
from tests.wsgi_thread import ServedApp
from turnero import accounts, day, tickets
from turnero.clock import ManualClock
from turnero.store import Store

ROOT = Path(__file__).resolve().parent.parent
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# The only state change a browser may send without a session: there is none yet. What
# protects it instead is the cross-site check (test below).
WITHOUT_SESSION = {("POST", "/api/v1/auth/login")}
WORLD_USERS = {"admin": ("admin", None), "supervisor": ("supervisor", None),
               "orientador": ("receptionist", None), "asesor.reniec": ("agent", "RENIEC"),
               "victima": ("receptionist", None)}


def everything(store: Store) -> dict[str, list[str]]:
    """Every row of every table, to prove that a refused request changed nothing at all
    (sessions, users and devices included, not only the floor)."""
    conn = store.reader()
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {name: sorted(repr(tuple(row)) for row in conn.execute(f'SELECT * FROM "{name}"'))
            for name in names}


def unsafe_routes(app: Flask) -> list[tuple[str, str]]:
    return sorted((method, rule.rule) for rule in app.url_map.iter_rules()
                  for method in (rule.methods or set()) if method in UNSAFE)


def get_routes(app: Flask) -> list[str]:
    return sorted(rule.rule for rule in app.url_map.iter_rules()
                  if "GET" in (rule.methods or set()))


@dataclass
class World:
    """One demo centre shared by the tests that only send refused requests."""

    app: Flask
    store: Store
    settings: Settings
    kiosk_token: str
    display_token: str
    values: dict[str, str]

    def login(self, username: str) -> tuple[FlaskClient, str]:
        client = self.app.test_client()
        response = client.post("/api/v1/auth/login", json={"username": username,
                                                           "password": PIN})
        assert response.status_code == 200, response.get_json()
        return client, response.get_json()["csrf_token"]

    def url(self, rule: str) -> str:
        """``rule`` with a real value in each parameter (a real ticket, módulo, user...), so
        that a request that slipped through would really change something."""
        def value(match: re.Match[str]) -> str:
            name = match.group(2)
            if name == "name":
                for prefix, sample in (("/api/v1/users", "victima"),
                                       ("/api/v1/devices", "tv-victima"),
                                       ("/api/v1/printers", "kiosko-demo")):
                    if rule.startswith(prefix):
                        return sample
                return "tv-1"
            return self.values.get(name, "1" if match.group(1) == "int:" else "x")
        url = re.sub(r"<(int:|path:|[a-z]+:)?([a-z_]+)>", value, rule)
        assert "<" not in url, rule
        return url


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    settings = demo_settings()
    store = open_store(settings, tmp_path_factory.mktemp("security"), clock=ManualClock(START))
    day.open_day(store, actor="test")
    for name, (role, entity) in WORLD_USERS.items():
        accounts.create_user(store, name, role, PIN, security=settings.security, entity=entity)
    kiosk_token = accounts.enrol_device(store, "kiosk-1", "kiosk")
    display_token = accounts.enrol_device(store, "tv-1", "display")
    accounts.enrol_device(store, "tv-victima", "display")
    ticket, _ = tickets.issue_ticket(store, service_id=76, channel="reception")
    app = create_app(settings, store, TESTING=True, SSE_HEARTBEAT_SECONDS=0.2)
    values = {"counter_id": "1", "uid": ticket["uid"], "token": ticket["token"], "code": "RN",
              "job_id": "1", "language": "es", "file": "chime.wav", "filename": "common.css"}
    yield World(app, store, settings, kiosk_token, display_token, values)
    parts.of(app).printing.stop()
    store.close()


def _body_of(rule: str, world: World) -> dict[str, Any]:
    """A body that would pass the input checks, so only the refusal stands in the way."""
    if rule.endswith("/pause"):
        return {"reason": "break"}
    if rule.endswith("/call"):
        return {"uid": world.values["uid"]}
    if rule == "/api/v1/messages":
        return {"text": "Aviso", "minutes": 5}
    if rule == "/api/v1/users":
        return {"username": "nuevo", "role": "receptionist", "pin": "97531"}
    if rule == "/api/v1/devices":
        return {"name": "kiosk-nuevo", "role": "kiosk"}
    if rule == "/api/v1/tickets":
        return {"service_id": 76}
    return {}


def _error(response: TestResponse) -> str | None:
    data = response.get_json(silent=True)
    return data.get("error") if isinstance(data, dict) else None


# --- 1. CSRF on every state change ------------------------------------------------------------

def test_the_app_has_state_changing_routes_to_check(world: World):
    """The route table is what the CSRF checks below walk through: it must not be empty."""
    routes = unsafe_routes(world.app)
    assert len(routes) > 30
    assert ("POST", "/api/v1/counters/<int:counter_id>/call-next") in routes


@pytest.mark.parametrize("csrf", ["missing", "wrong", "another session's", "in the body"])
def test_every_staff_state_change_without_its_csrf_token_is_refused_and_changes_nothing(
        world: World, csrf: str):
    client, token = world.login("admin")  # an admin may do nearly everything
    _, other_token = world.login("supervisor")
    headers = {"missing": {}, "in the body": {}, "wrong": {"X-CSRF-Token": token[:-2] + "xx"},
               "another session's": {"X-CSRF-Token": other_token}}[csrf]
    before = everything(world.store)
    wrong = {}
    for method, rule in unsafe_routes(world.app):
        if (method, rule) in WITHOUT_SESSION:
            continue
        data, query = _body_of(rule, world), {}
        if csrf == "in the body":  # the token anywhere but in its header does not count
            data, query = {**data, "csrf_token": token, "X-CSRF-Token": token}, {
                "csrf_token": token}
        response = client.open(world.url(rule), method=method, json=data, headers=headers,
                               query_string=query)
        error = _error(response)
        if error == "forbidden":  # a route the admin may not use at all (a device's own)
            error = _error(client.open(world.url(rule), method=method, json=data,
                                       headers={"X-CSRF-Token": token}))
            error = "csrf_failed" if error == "forbidden" else f"{error} with the token"
        if response.status_code != 403 or error != "csrf_failed":
            wrong[f"{method} {rule}"] = (response.status_code, error)
    assert wrong == {}
    assert everything(world.store) == before
    refused = client.post("/api/v1/counters/1/open", json={}, headers=headers)
    assert refused.get_json()["message"] == "Falta o no coincide el token CSRF."


def test_the_nothing_changed_check_sees_a_change_made_with_the_token(world: World):
    """The comparison above is not vacuous: the same kind of request with the token changes
    the database."""
    client, token = world.login("supervisor")
    before = everything(world.store)
    assert client.post("/api/v1/messages", json={"text": "Aviso", "minutes": 5},
                       headers={"X-CSRF-Token": token}).status_code == 200
    assert everything(world.store) != before


def test_a_csrf_header_with_non_ascii_characters_is_a_403_not_a_server_error(world: World):
    client, _ = world.login("supervisor")
    for sent in ("é", "\xff\xfe", "token con espacios y ñ"):
        response = client.post("/api/v1/counters/1/open", json={},
                               headers={"X-CSRF-Token": sent})
        assert (response.status_code, _error(response)) == (403, "csrf_failed")


def test_a_device_cookie_alone_never_makes_a_state_change(world: World):
    """The TV's cookie stands for its token on reads only: every state change, on every
    route, still needs the Authorization header, which no other site's page can send."""
    client = world.app.test_client()
    client.set_cookie("mt_device", world.kiosk_token)
    assert client.get("/api/v1/catalog").status_code == 200  # the cookie works for reads
    before = everything(world.store)
    let_through = {}
    for method, rule in unsafe_routes(world.app):
        if (method, rule) in WITHOUT_SESSION:
            continue
        response = client.open(world.url(rule), method=method, json=_body_of(rule, world))
        if response.status_code != 401:
            let_through[f"{method} {rule}"] = (response.status_code, _error(response))
    assert let_through == {}
    assert everything(world.store) == before


def test_device_requests_get_no_cors_headers_so_other_sites_cannot_send_the_token(
        world: World):
    """A page of another site can only attach the bearer header after a CORS preflight
    that this server never grants."""
    client = world.app.test_client()
    evil = {"Origin": "http://evil.example", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"}
    preflight = client.options("/api/v1/tickets", headers=evil)
    read = client.get("/api/v1/catalog", headers={
        "Origin": "http://evil.example", "Authorization": f"Bearer {world.kiosk_token}"})
    assert read.status_code == 200
    for response in (preflight, read):
        assert not [h for h in response.headers.keys() if h.lower().startswith("access-control")]


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "null"},
    {"Origin": "http://[bad"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:9999"},
], ids=["other origin", "opaque origin", "broken origin", "cross-site", "other port"])
def test_a_login_sent_from_another_sites_page_is_refused_and_opens_no_session(
        world: World, headers: dict[str, str]):
    """The login has no session to carry a CSRF token, and a form on another site could
    otherwise sign the centre's browser in to the attacker's account."""
    before = everything(world.store)
    client = world.app.test_client()
    response = client.post("/api/v1/auth/login", headers=headers,
                           data=json.dumps({"username": "orientador", "password": PIN}),
                           content_type="text/plain")
    assert (response.status_code, _error(response)) == (403, "cross_site")
    assert response.get_json()["message"] == ("Solo las páginas de este equipo pueden hacer "
                                              "cambios.")
    assert client.get_cookie("mt_session") is None
    assert everything(world.store) == before


def test_a_login_from_the_boxs_own_pages_or_a_tool_is_accepted(world: World):
    client = world.app.test_client()
    for headers in ({"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}, {}):
        response = client.post("/api/v1/auth/login", headers=headers,
                               json={"username": "orientador", "password": PIN})
        assert response.status_code == 200, response.get_json()


def test_a_kiosk_change_from_another_sites_page_is_refused_too(world: World):
    before = everything(world.store)
    response = world.app.test_client().post(
        "/api/v1/tickets", json={"service_id": 76},
        headers={"Authorization": f"Bearer {world.kiosk_token}",
                 "Origin": "http://evil.example"})
    assert (response.status_code, _error(response)) == (403, "cross_site")
    assert everything(world.store) == before


# --- 2. sessions, lockout, revocation ---------------------------------------------------------

def _login(client: FlaskClient, username: str = "supervisor", pin: str = PIN) -> TestResponse:
    return client.post("/api/v1/auth/login", json={"username": username, "password": pin})


def _me(app: Flask, session: str) -> int:
    client = app.test_client()
    client.set_cookie("mt_session", session)
    return client.get("/api/v1/auth/me").status_code


def test_a_session_id_planted_before_login_is_replaced_and_never_valid(app: Flask, users):
    client = app.test_client()
    client.set_cookie("mt_session", "planted-by-someone-else")
    assert _login(client).status_code == 200
    issued = client.get_cookie("mt_session")
    assert issued is not None and issued.value != "planted-by-someone-else"
    assert len(issued.value) >= 40  # 32 random bytes
    assert _me(app, "planted-by-someone-else") == 401
    assert _me(app, issued.value) == 200


def test_logging_in_over_a_live_session_ends_it_and_issues_a_new_one(app: Flask, users):
    """Someone's own valid session id, planted in a browser where a supervisor then signs
    in, dies at that login: it never becomes the supervisor's session."""
    attacker = app.test_client()
    assert _login(attacker, "orientador").status_code == 200
    planted = attacker.get_cookie("mt_session").value
    victim = app.test_client()
    victim.set_cookie("mt_session", planted)
    response = _login(victim, "supervisor")
    assert response.status_code == 200
    assert victim.get_cookie("mt_session").value != planted
    assert _me(app, planted) == 401
    assert victim.get("/api/v1/auth/me").get_json()["role"] == "supervisor"


def test_each_login_gets_its_own_session_id_and_csrf_token(app: Flask, users):
    first, second = app.test_client(), app.test_client()
    a, b = _login(first).get_json(), _login(second).get_json()
    assert a["csrf_token"] != b["csrf_token"]
    assert first.get_cookie("mt_session").value != second.get_cookie("mt_session").value
    # one session's token does not open the other's changes
    wrong = first.post("/api/v1/counters/1/open", json={},
                       headers={"X-CSRF-Token": b["csrf_token"]})
    assert (wrong.status_code, _error(wrong)) == (403, "csrf_failed")


def test_sessions_are_kept_only_as_digests_of_their_ids(app: Flask, users, store: Store):
    client = app.test_client()
    _login(client)
    token = client.get_cookie("mt_session").value
    rows = [tuple(r) for r in store.reader().execute("SELECT * FROM sessions")]
    assert len(rows) == 1
    assert hashlib.sha256(token.encode()).hexdigest() in rows[0]
    assert not any(token in str(value) for value in rows[0])


def test_logout_ends_the_session_on_the_server_so_a_copied_cookie_is_dead(
        app: Flask, users, store: Store):
    client = app.test_client()
    csrf = _login(client).get_json()["csrf_token"]
    token = client.get_cookie("mt_session").value
    response = client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 200
    assert "mt_session=;" in response.headers["Set-Cookie"]  # the browser forgets it
    assert store.reader().execute("SELECT COUNT(*) FROM sessions").fetchone()[0] == 0
    copy = app.test_client()  # whoever kept a copy of the cookie
    copy.set_cookie("mt_session", token)
    assert copy.get("/api/v1/auth/me").status_code == 401
    change = copy.post("/api/v1/counters/1/open", json={}, headers={"X-CSRF-Token": csrf})
    assert (change.status_code, _error(change)) == (401, "unauthorized")


def test_a_session_ends_after_session_hours_by_the_boxs_clock(
        app: Flask, users, clock: ManualClock, settings: Settings):
    client = app.test_client()
    _login(client)
    clock.advance(hours=settings.security.session_hours, seconds=-1)
    assert client.get("/api/v1/auth/me").status_code == 200
    clock.advance(seconds=1)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_the_account_locks_at_max_failed_logins_and_unlocks_exactly_after_lockout_minutes(
        app: Flask, users, clock: ManualClock, settings: Settings):
    client = app.test_client()
    limit = settings.security.max_failed_logins
    for attempt in range(limit):
        wrong = _login(client, "orientador", "0000")
        assert (wrong.status_code, _error(wrong)) == (401, "bad_credentials"), attempt
    clock.advance(minutes=settings.security.lockout_minutes, seconds=-1)
    locked = _login(client, "orientador")  # the right PIN waits too, answered as wrong
    assert (locked.status_code, _error(locked)) == (401, "bad_credentials")
    clock.advance(seconds=1)
    assert _login(client, "orientador").status_code == 200


def _answered(client: FlaskClient, clock: ManualClock, username: str,
              pin: str = PIN) -> TestResponse:
    """A login, waiting out the source's refusals (429) on the manual clock."""
    response = _login(client, username, pin)
    while response.status_code == 429:
        clock.advance(seconds=int(response.headers["Retry-After"]))
        response = _login(client, username, pin)
    return response


def test_a_successful_login_resets_the_count_of_failures(
        app: Flask, users, settings: Settings, clock: ManualClock):
    client = app.test_client()
    for _ in range(2):
        for _ in range(settings.security.max_failed_logins - 1):
            assert _answered(client, clock, "orientador", "0000").status_code == 401
        assert _answered(client, clock, "orientador").status_code == 200


def test_an_unknown_user_and_a_wrong_pin_get_the_same_answer(app: Flask, users):
    """Nobody learns which usernames exist from the login's answers."""
    client = app.test_client()
    unknown, wrong = _login(client, "no.existe", "0000"), _login(client, "orientador", "0000")
    assert (unknown.status_code, unknown.get_json()) == (wrong.status_code, wrong.get_json())


def test_a_revoked_kiosk_token_is_refused_at_once_as_header_and_as_cookie(
        app: Flask, login, kiosk_token: str):
    kiosk = app.test_client()
    headers = {"Authorization": f"Bearer {kiosk_token}"}
    assert kiosk.post("/api/v1/tickets", json={"service_id": 76},
                      headers=headers).status_code == 201
    assert kiosk.post("/api/v1/devices/session", headers=headers).status_code == 200
    assert login("supervisor").post("/api/v1/devices/kiosk-1/revoke").status_code == 200
    refused = kiosk.post("/api/v1/tickets", json={"service_id": 76}, headers=headers)
    assert (refused.status_code, _error(refused)) == (401, "unauthorized")
    assert kiosk.get("/api/v1/catalog").status_code == 401  # its device cookie is dead too


class SSE:
    """A live stream read over a real socket by a thread of its own, as a TV's browser
    reads it."""

    def __init__(self, base: str, path: str, headers: dict[str, str]) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.conn.connect()
        self.sock = self.conn.sock
        self.conn.request("GET", path, headers=headers)
        self.response = self.conn.getresponse()
        self.text = ""
        self.ended = threading.Event()  # the server ended the stream
        self._changed = threading.Condition()
        if self.response.status == 200:
            threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            while chunk := self.response.read1(65536):
                with self._changed:
                    self.text += chunk.decode()
                    self._changed.notify_all()
            self.ended.set()
        except (OSError, ValueError, http.client.HTTPException):
            pass  # closed by the test
        with self._changed:
            self._changed.notify_all()

    def until(self, needle: str, timeout: float = 30) -> None:
        with self._changed:
            self._changed.wait_for(lambda: needle in self.text or self.ended.is_set(), timeout)
            assert needle in self.text, self.text

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the reading thread
        except OSError:
            pass
        self.conn.close()


@pytest.fixture
def served(settings: Settings, open_store_day: Store) -> Iterator[tuple[ServedApp, Flask]]:
    """The app on a real socket, with heartbeats far slower than the checks below wait, so
    a stream that ends did so because of the revocation, not a timer."""
    app = create_app(settings, open_store_day, TESTING=True, SSE_HEARTBEAT_SECONDS=30)
    server = ServedApp(app)
    yield server, app
    for stop in parts.of(app).on_stop:
        stop()  # ends the announcement streams still open
    server.stop()
    parts.of(app).printing.stop()


def test_a_revoked_tvs_live_streams_end_at_once_and_cannot_be_reopened(
        served: tuple[ServedApp, Flask], open_store_day: Store, display_token: str):
    server, app = served
    accounts.enrol_device(open_store_day, "tv-2", "display")  # a TV that stays enrolled
    headers = {"Authorization": f"Bearer {display_token}"}
    events = SSE(server.base, "/api/v1/stream", headers)
    announcements = SSE(server.base, "/display/tv-1/announcements", headers)
    try:
        events.until("event: snapshot")
        announcements.until("event: hello")
        accounts.revoke_device(open_store_day, "tv-2")
        assert not events.ended.wait(0.5)  # another TV's revocation is not this one's
        assert not announcements.ended.is_set()
        accounts.revoke_device(open_store_day, "tv-1")
        # Well before the next heartbeat (30 s away), which would also end a dead stream.
        assert events.ended.wait(20) and announcements.ended.wait(20)
    finally:
        events.close()
        announcements.close()
    for path in ("/api/v1/stream", "/display/tv-1/announcements"):
        again = SSE(server.base, path, headers)
        assert again.response.status == 401
        again.close()


def test_a_disabled_users_live_stream_ends_at_once(
        served: tuple[ServedApp, Flask], open_store_day: Store, settings: Settings):
    server, _ = served
    accounts.create_user(open_store_day, "orientador", "receptionist", PIN,
                         security=settings.security)
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    client.request("POST", "/api/v1/auth/login",
                   body=json.dumps({"username": "orientador", "password": PIN}),
                   headers={"Content-Type": "application/json"})
    answer = client.getresponse()
    cookie = answer.getheader("Set-Cookie", "").split(";")[0]
    answer.read()
    client.close()
    stream = SSE(server.base, "/api/v1/stream", {"Cookie": cookie})
    try:
        stream.until("event: snapshot")
        accounts.set_disabled(open_store_day, "orientador", True)
        assert stream.ended.wait(20)
    finally:
        stream.close()


def _login_cookie(server: ServedApp, username: str) -> tuple[str, str]:
    """(session cookie, CSRF token) of a fresh login over the socket."""
    client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    client.request("POST", "/api/v1/auth/login",
                   body=json.dumps({"username": username, "password": PIN}),
                   headers={"Content-Type": "application/json"})
    answer = client.getresponse()
    cookie = answer.getheader("Set-Cookie", "").split(";")[0]
    csrf = json.loads(answer.read())["csrf_token"]
    client.close()
    return cookie, csrf


def test_logout_ends_that_sessions_live_stream_at_once_and_no_other(
        served: tuple[ServedApp, Flask], open_store_day: Store, settings: Settings):
    server, _ = served
    accounts.create_user(open_store_day, "orientador", "receptionist", PIN,
                         security=settings.security)
    (cookie, csrf), (other, _) = (_login_cookie(server, "orientador") for _ in range(2))
    mine = SSE(server.base, "/api/v1/stream", {"Cookie": cookie})
    theirs = SSE(server.base, "/api/v1/stream", {"Cookie": other})  # the same user elsewhere
    try:
        mine.until("event: snapshot")
        theirs.until("event: snapshot")
        client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        client.request("POST", "/api/v1/auth/logout", body="{}",
                       headers={"Content-Type": "application/json", "Cookie": cookie,
                                "X-CSRF-Token": csrf})
        assert client.getresponse().status == 200
        client.close()
        assert mine.ended.wait(20)  # not at a heartbeat, 30 s away
        assert not theirs.ended.wait(0.5)
    finally:
        mine.close()
        theirs.close()
    again = SSE(server.base, "/api/v1/stream", {"Cookie": cookie})
    assert again.response.status == 401
    again.close()


# --- 3. headers and cookies -------------------------------------------------------------------

def _csp(response: TestResponse) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    return {part.split()[0]: " ".join(part.split()[1:])
            for part in policy.split(";") if part.strip()}


STRICT_CSP = {"default-src": "'self'", "script-src": "'self'", "style-src": "'self'",
              "object-src": "'none'", "base-uri": "'none'", "frame-ancestors": "'none'",
              "form-action": "'self'"}


def _header_problems(response: TestResponse, path: str) -> list[str]:
    problems = []
    csp = _csp(response)
    for directive, value in STRICT_CSP.items():
        if csp.get(directive) != value:
            problems.append(f"CSP {directive} is {csp.get(directive)!r}")
    if "unsafe" in response.headers.get("Content-Security-Policy", ""):
        problems.append("CSP allows something unsafe")
    expected = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY",
                "Referrer-Policy": "no-referrer"}
    problems += [f"{name} is {response.headers.get(name)!r}" for name, value in expected.items()
                 if response.headers.get(name) != value]
    if path.startswith("/api/") and "no-store" not in response.headers.get("Cache-Control", ""):
        problems.append("API answer may be cached")
    return problems


def test_every_page_and_api_response_carries_the_security_headers(world: World):
    """Every GET route of the app, as nobody, as staff and as a TV, and the error answers
    (401, 404, 405, 400, 413): a strict CSP without 'unsafe-inline', nosniff, no framing,
    no referrer, and API answers never cached."""
    staff, _ = world.login("supervisor")
    tv = world.app.test_client()
    tv.set_cookie("mt_device", world.display_token)
    seen, problems = 0, {}
    for rule in get_routes(world.app):
        for who, client in (("anonymous", world.app.test_client()), ("staff", staff),
                            ("tv", tv)):
            path = world.url(rule)
            response = client.get(path, buffered=False)
            response.close()  # a live stream ends here
            seen += 1
            if found := _header_problems(response, path):
                problems[f"GET {rule} as {who} ({response.status_code})"] = found
    errors = [("GET", "/no/such/page", None), ("GET", "/api/v1/no-such-route", None),
              ("DELETE", "/api/v1/health", None), ("GET", "/api/v1/floor", None),
              ("POST", "/api/v1/auth/login", b"{not json"),
              ("POST", "/api/v1/auth/login", b"x" * (65 * 1024))]
    for method, path, data in errors:
        response = world.app.test_client().open(path, method=method, data=data)
        assert response.status_code in (400, 401, 404, 405, 413) and _error(response)
        if found := _header_problems(response, path):
            problems[f"{method} {path} ({response.status_code})"] = found
    assert seen > 90
    assert problems == {}


def test_even_an_unexpected_error_is_json_with_the_security_headers(
        settings: Settings, open_store_day: Store):
    app = create_app(settings, open_store_day, TESTING=True)

    def broken() -> str:
        raise RuntimeError("a bug")
    app.add_url_rule("/api/v1/broken", "broken", broken)
    try:
        response = app.test_client().get("/api/v1/broken")
    finally:
        parts.of(app).printing.stop()
    assert response.status_code == 500 and _error(response) == "internal"
    assert "a bug" not in response.get_data(as_text=True)
    assert _header_problems(response, "/api/v1/broken") == []


class _PageScan(HTMLParser):
    """What in a page a strict CSP would block: inline scripts and styles, style
    attributes, event handler attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.scripts = self.stylesheets = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "script":
            self.scripts += 1
            if not found.get("src") and found.get("type") != "application/json":
                self.problems.append("inline <script>")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "link" and found.get("rel") == "stylesheet":
            self.stylesheets += 1
        for name, value in attrs:
            if name == "style":
                self.problems.append(f"style attribute on <{tag}>")
            if name.startswith("on"):
                self.problems.append(f"{name} handler on <{tag}>")
            if value and value.strip().lower().startswith("javascript:"):
                self.problems.append(f"javascript: URL in <{tag} {name}>")
            if name in ("src", "href") and value and re.match(r"(https?:)?//", value):
                self.problems.append(f"<{tag} {name}> from another server: {value}")


def test_every_page_works_under_the_strict_csp_without_inline_code_or_styles(world: World):
    """The pages keep all script and style in files the box serves (the JSON blocks of
    texts are data, which a CSP does not run), so 'unsafe-inline' is never needed."""
    pages = {}
    for rule in get_routes(world.app):
        if rule.startswith("/api/") or "<path:" in rule or rule.endswith((".json", ".svg")):
            continue
        response = world.app.test_client().get(world.url(rule), buffered=False)
        if response.mimetype == "text/html":
            scan = _PageScan()
            scan.feed(response.get_data(as_text=True))
            pages[rule] = (scan.problems, scan.scripts > 0, scan.stylesheets > 0)
        response.close()
    assert {"/kiosk", "/reception", "/counter", "/counter/rating", "/supervision",
            "/display/<name>", "/t/<token>"} <= set(pages)
    assert {rule: found for rule, found in pages.items() if found != ([], True, True)} == {}


def test_the_pages_scripts_never_write_inline_styles_or_handlers_a_strict_csp_blocks():
    """Setting ``element.style.x`` is allowed by the CSP; a ``style`` attribute or an
    ``on…=`` handler written as HTML, ``eval`` or ``new Function`` are not."""
    forbidden = re.compile(r"""setAttribute\(\s*["'](style|on\w+)["']|\.cssText\b|style=|"""
                           r"""\bon[a-z]+=\s*\\?["']|\beval\(|new Function\b|javascript:""")
    scripts = sorted(p for room in ("kiosk", "counter", "display", "supervision", "appliance")
                     for p in (ROOT / room / "static").glob("*.js"))
    assert len(scripts) >= 10
    found = {p.name: m.group(0) for p in scripts
             if (m := forbidden.search(p.read_text(encoding="utf-8")))}
    assert found == {}


def _cookie(response: TestResponse, name: str) -> dict[str, str]:
    for header in response.headers.getlist("Set-Cookie"):
        if header.startswith(name + "="):
            parts = [p.strip() for p in header.split(";")]
            return {p.split("=", 1)[0].lower(): (p.split("=", 1)[1] if "=" in p else "")
                    for p in parts[1:]} | {"value": parts[0].split("=", 1)[1]}
    raise AssertionError(f"no {name} cookie set")


def test_the_session_cookie_is_httponly_samesite_strict_and_lasts_session_hours(
        app: Flask, users, settings: Settings):
    cookie = _cookie(_login(app.test_client()), "mt_session")
    assert "httponly" in cookie and cookie["samesite"] == "Strict" and cookie["path"] == "/"
    assert int(cookie["max-age"]) == settings.security.session_hours * 3600
    assert "secure" not in cookie  # plain http on the LAN: a Secure cookie would be lost
    over_https = app.test_client().post("/api/v1/auth/login", base_url="https://192.0.2.10",
                                        json={"username": "supervisor", "password": PIN})
    assert "secure" in _cookie(over_https, "mt_session")


def test_the_tvs_device_cookie_is_httponly_and_samesite_strict(app: Flask, display_token: str):
    response = app.test_client().post("/api/v1/devices/session",
                                      headers={"Authorization": f"Bearer {display_token}"})
    cookie = _cookie(response, "mt_device")
    assert "httponly" in cookie and cookie["samesite"] == "Strict" and cookie["path"] == "/"


def test_the_central_dashboard_has_a_strict_csp_and_its_styles_in_a_file(tmp_path: Path):
    from harness.sync_support import viewer_client
    from sync.central.app import create_central_app
    from sync.central.db import Database

    db = Database(f"sqlite:///{tmp_path}/central.sqlite")
    db.migrate()
    try:
        client = viewer_client(db)
        page = client.get("/")
        login = create_central_app(db).test_client().get("/login")  # no session
        scan = _PageScan()
        scan.feed(page.get_data(as_text=True))
        scan.feed(login.get_data(as_text=True))
        stylesheet = client.get("/static/dashboard.css")
        health = client.get("/api/v1/health")
    finally:
        db.close()
    assert page.status_code == 200 and login.status_code == 200
    assert scan.problems == [] and scan.stylesheets == 2
    assert stylesheet.status_code == 200 and stylesheet.mimetype == "text/css"
    for response in (page, login, stylesheet, health):
        csp = _csp(response)
        assert "unsafe" not in response.headers["Content-Security-Policy"]
        assert csp["style-src"] == "'self'" and csp["default-src"] == "'none'"
        assert csp["frame-ancestors"] == "'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
