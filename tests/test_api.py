"""The HTTP API through Flask's test client: the happy path, roles, CSRF, sessions, devices,
and bad input that must always get a 4xx JSON error, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.helpers import sse_frames
from turnero import accounts

RN = 76


def test_kiosk_issues_a_ticket_and_gets_label_ahead_wait_and_status_url(kiosk):
    response = kiosk(RN)
    assert response.status_code == 201
    t = response.get_json()
    assert t["label"] == "RN-001" and t["ahead"] == 0 and t["estimated_wait_minutes"] == 0
    assert t["status_url"].startswith("/t/") and "document" not in t


def test_the_public_status_page_data_shows_no_personal_data(app, login):
    staff = login("orientador")
    t = staff.post("/api/v1/tickets", {"service_id": RN, "document": "12345678",
                                       "name": "Rosa Quispe"}).get_json()
    assert t["document"] == "12345678"
    public = app.test_client().get(f"/api/v1/public/tickets/{t['token']}").get_json()
    assert public["label"] == t["label"]
    assert "12345678" not in json.dumps(public) and "Quispe" not in json.dumps(public)


def test_asesor_calls_starts_and_finishes_through_the_api(kiosk, login):
    uid = kiosk(RN).get_json()["uid"]
    agent = login("asesor.reniec")
    assert agent.post("/api/v1/counters/1/open").status_code == 200
    called = agent.post("/api/v1/counters/1/call-next")
    assert called.status_code == 200 and called.get_json()["uid"] == uid
    assert agent.post("/api/v1/counters/1/start").get_json()["status"] == "serving"
    done = agent.post("/api/v1/counters/1/finish", {"outcome": "attended"}).get_json()
    assert done["status"] == "done"
    assert agent.post("/api/v1/counters/1/call-next").status_code == 204


def test_an_asesor_cannot_act_on_another_entitys_modulo(login):
    agent = login("asesor.bn")
    response = agent.post("/api/v1/counters/1/open")
    assert response.status_code == 403 and response.get_json()["error"] == "forbidden"


@pytest.mark.parametrize("who,method,path,expected", [
    ("display", "POST", "/api/v1/tickets", 403),
    ("kiosk", "POST", "/api/v1/counters/1/call-next", 403),
    ("kiosk", "POST", "/api/v1/day/close", 403),
    ("display", "GET", "/api/v1/queues", 200),
    ("kiosk", "GET", "/api/v1/catalog", 200),
    ("nobody", "GET", "/api/v1/queues", 401),
    ("nobody", "POST", "/api/v1/tickets", 401),
])
def test_devices_can_do_only_what_their_role_allows(app, kiosk_token, display_token, who,
                                                    method, path, expected):
    token = {"kiosk": kiosk_token, "display": display_token}.get(who)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = app.test_client().open(path, method=method, json={"service_id": RN},
                                      headers=headers)
    assert response.status_code == expected
    if expected >= 400:
        assert response.get_json()["error"] in ("forbidden", "unauthorized")


@pytest.mark.parametrize("user,path,expected", [
    ("orientador", "/api/v1/day/close", 403),
    ("orientador", "/api/v1/counters/1/open", 403),
    ("asesor.reniec", "/api/v1/queues/RN/close", 403),
    ("supervisor", "/api/v1/counters/1/open", 200),
])
def test_staff_roles_are_enforced(login, user, path, expected):
    assert login(user).post(path, {"reason": "x"}).status_code == expected


def test_a_state_change_without_the_csrf_token_is_refused_and_changes_nothing(login):
    staff = login("supervisor")
    response = staff.client.post("/api/v1/counters/1/open", json={})
    assert response.status_code == 403 and response.get_json()["error"] == "csrf_failed"
    response = staff.client.post("/api/v1/counters/1/open", json={},
                                 headers={"X-CSRF-Token": "wrong"})
    assert response.status_code == 403
    counters = staff.get("/api/v1/counters").get_json()["counters"]
    assert counters[0]["status"] == "closed"


def test_login_gives_a_new_session_and_logout_ends_it(app, users):
    client = app.test_client()
    first = client.post("/api/v1/auth/login", json={"username": "supervisor",
                                                    "password": "482916"})
    old = client.get_cookie("mt_session").value
    cookie = first.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    client.post("/api/v1/auth/login", json={"username": "supervisor", "password": "482916"})
    new = client.get_cookie("mt_session").value
    assert new != old
    stale = app.test_client()
    stale.set_cookie("mt_session", old)
    assert stale.get("/api/v1/auth/me").status_code == 401  # the old id died
    csrf = client.get("/api/v1/auth/me").get_json()["csrf_token"]
    assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    again = app.test_client()
    again.set_cookie("mt_session", new)
    assert again.get("/api/v1/auth/me").status_code == 401


def test_repeated_wrong_pins_lock_the_account_for_that_source(app, users, settings, clock):
    client = app.test_client()
    for _ in range(settings.security.max_failed_logins):
        r = client.post("/api/v1/auth/login", json={"username": "orientador",
                                                   "password": "0000"})
        assert r.status_code == 401 and r.get_json()["error"] == "bad_credentials"
    clock.advance(seconds=60)  # past the source's own short refusal
    r = client.post("/api/v1/auth/login", json={"username": "orientador", "password": "482916"})
    assert r.status_code == 401  # even the right PIN waits for the lockout to end


def test_a_revoked_device_token_stops_working(app, open_store_day, kiosk_token):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {kiosk_token}"}
    assert client.get("/api/v1/catalog", headers=headers).status_code == 200
    accounts.revoke_device(open_store_day, "kiosk-1")
    assert client.get("/api/v1/catalog", headers=headers).status_code == 401


BAD_BODIES = [
    (b"{not json", "invalid_json"),
    (b"[1, 2]", "invalid_json"),
    (b'{"service_id": "76"}', "invalid_field"),
    (b'{"service_id": true}', "invalid_field"),
    (b'{"service_id": 999999}', "unknown_service"),
    (b'{"service_id": 76, "priority": "vip"}', "unknown_priority"),
    (b'{"service_id": 76, "visit": [1, 2, 3, 4, 5]}', "visit_too_long"),
    (b'{"service_id": 76, "visit": "3"}', "invalid_field"),
    (b'{"service_id": 76, "appointment": "tomorrow"}', "invalid_field"),
    (b'{}', "missing_field"),
]


@pytest.mark.parametrize("raw,code", BAD_BODIES)
def test_bad_input_gets_a_400_json_error_and_no_ticket(app, kiosk_token, raw, code):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {kiosk_token}", "Content-Type": "application/json"}
    response = client.post("/api/v1/tickets", data=raw, headers=headers)
    assert response.status_code == 400 and response.get_json()["error"] == code
    queues = client.get("/api/v1/queues", headers=headers).get_json()["queues"]
    assert sum(q["waiting"] for q in queues) == 0


@pytest.mark.parametrize("method,path,expected", [
    ("GET", "/api/v1/tickets/does-not-exist", 404),
    ("POST", "/api/v1/tickets/does-not-exist/cancel", 404),
    ("POST", "/api/v1/counters/999/open", 404),
    ("POST", "/api/v1/queues/ZZ/close", 404),
    ("GET", "/api/v1/no-such-thing", 404),
    ("DELETE", "/api/v1/tickets", 405),
])
def test_unknown_ids_and_routes_get_json_errors(login, method, path, expected):
    staff = login("supervisor")
    response = staff.client.open(path, method=method, json={"reason": "x"},
                                 headers={"X-CSRF-Token": staff.csrf})
    assert response.status_code == expected
    assert response.get_json()["error"]


def test_an_illegal_transition_over_http_is_409_and_changes_nothing(kiosk, login):
    uid = kiosk(RN).get_json()["uid"]
    staff = login("supervisor")
    staff.post("/api/v1/counters/1/open")
    before = staff.get(f"/api/v1/tickets/{uid}").get_json()
    response = staff.post("/api/v1/counters/1/start")
    assert response.status_code == 409 and response.get_json()["error"] == "no_current_ticket"
    response = staff.post(f"/api/v1/tickets/{uid}/reactivate")
    assert response.status_code == 409 and response.get_json()["error"] == "illegal_transition"
    assert staff.get(f"/api/v1/tickets/{uid}").get_json() == before


def test_double_click_on_issue_with_the_same_idempotency_key_gives_one_ticket(app, kiosk_token):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {kiosk_token}", "Idempotency-Key": "click-123456"}
    first = client.post("/api/v1/tickets", json={"service_id": RN}, headers=headers)
    second = client.post("/api/v1/tickets", json={"service_id": RN}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.get_json()["uid"] == second.get_json()["uid"]


def test_double_click_on_call_next_calls_once(kiosk, login):
    kiosk(RN), kiosk(RN)
    agent = login("asesor.reniec")
    agent.post("/api/v1/counters/1/open")
    assert agent.post("/api/v1/counters/1/call-next").status_code == 200
    second = agent.post("/api/v1/counters/1/call-next")
    assert second.status_code == 409 and second.get_json()["error"] == "counter_busy"


def test_health_reports_db_clock_and_day(app):
    health = app.test_client().get("/api/v1/health").get_json()
    assert health["status"] == "ok" and health["components"]["db"]["journal_mode"] == "wal"
    assert health["day"]["open"] is True


def test_security_headers_are_set_on_every_response(app):
    response = app.test_client().get("/api/v1/health")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def read_sse(response, count):
    """The first ``count`` SSE frames of a streaming response, as (event, data) pairs."""
    frames = []
    for frame in sse_frames(response):
        frames.append(frame)
        if len(frames) == count:
            break
    return frames


def test_stream_sends_a_snapshot_then_each_event(app, display_token, kiosk):
    kiosk(RN)
    client = app.test_client()
    response = client.get("/api/v1/stream", headers={"Authorization": f"Bearer {display_token}"},
                          buffered=False)
    assert response.mimetype == "text/event-stream"
    frames = iter(response.response)
    first = next(frames)
    assert b"retry:" in first
    snapshot = next(frames).decode()
    assert "event: snapshot" in snapshot and '"waiting":1' in snapshot
    kiosk(RN)
    event = next(frames).decode()
    while event.startswith(": heartbeat"):
        event = next(frames).decode()
    assert "event: ticket.issued" in event and '"label":"RN-002"' in event
    assert '"actor"' not in event  # a TV is not told who did what
    response.close()


def test_tvs_are_not_told_which_asesor_staffs_a_modulo(app, login, display_token):
    login("asesor.reniec").post("/api/v1/counters/1/open")
    tv = app.test_client()
    headers = {"Authorization": f"Bearer {display_token}"}
    counters = tv.get("/api/v1/counters", headers=headers).get_json()["counters"]
    assert counters[0]["status"] == "open" and counters[0]["agent"] is None
    staff = login("supervisor").get("/api/v1/counters").get_json()["counters"]
    assert staff[0]["agent"] == "asesor.reniec"
    stream = tv.get("/api/v1/stream", headers=headers, buffered=False)
    frames = iter(stream.response)
    next(frames)
    assert "asesor.reniec" not in next(frames).decode()
    stream.close()
