"""The supervision API through Flask's test client: the floor and its alerts, the opening check
list, messages for the TVs, staff accounts (with PIN lockout) and enrolled devices."""

from __future__ import annotations

import json

import pytest

from appliance import parts
from turnero import day

RN = 76
CHECKS_OK = {k: {"ok": True} for k in ("internet", "electricity", "security", "printers",
                                       "tvs", "speaker")}


def _login(app, username, pin="482916", source="127.0.0.1"):
    return app.test_client().post("/api/v1/auth/login",
                                  json={"username": username, "password": pin},
                                  environ_base={"REMOTE_ADDR": source})


OTHER = "127.0.0.2"  # failures from here lock the account for this address only


# --- PIN lockout, through HTTP --------------------------------------------------------------

def test_repeated_wrong_pins_lock_the_account_until_the_lockout_passes(app, users, clock):
    for attempt in range(5):
        response = _login(app, "orientador", "0000", OTHER)
        assert response.status_code == 401, attempt
    clock.advance(seconds=1)  # past the address's own short refusal
    locked = _login(app, "orientador", source=OTHER)  # even the right PIN, while locked
    assert locked.status_code == 401 and locked.get_json()["error"] == "bad_credentials"
    clock.advance(minutes=16)
    assert _login(app, "orientador", source=OTHER).status_code == 200


def test_a_supervisor_resetting_the_pin_lifts_the_lockout(app, login, users, clock):
    for _ in range(5):
        _login(app, "orientador", "0000", OTHER)
    supervisor = login("supervisor")
    listed = {u["username"]: u for u in supervisor.get("/api/v1/users").get_json()["users"]}
    assert listed["orientador"]["locked"] is True
    reset = supervisor.post("/api/v1/users/orientador/pin", {"pin": "97531"})
    assert reset.status_code == 200 and reset.get_json()["locked"] is False
    clock.advance(seconds=1)  # past the address's own short refusal
    assert _login(app, "orientador", "97531", OTHER).status_code == 200


def test_a_locked_account_shows_as_locked_in_the_user_list(app, login, users):
    for _ in range(5):
        _login(app, "asesor.bn", "0000", OTHER)
    listed = {u["username"]: u for u in login("admin").get("/api/v1/users").get_json()["users"]}
    assert listed["asesor.bn"]["locked"] is True and listed["orientador"]["locked"] is False


# --- users ----------------------------------------------------------------------------------

def test_a_supervisor_creates_an_asesor_who_can_open_only_their_entitys_modulo(app, login):
    supervisor = login("supervisor")
    created = supervisor.post("/api/v1/users", {"username": "rosa.q", "role": "agent",
                                                "entity": "RENIEC", "pin": "24680",
                                                "full_name": "Rosa Quispe"})
    assert created.status_code == 201
    assert created.get_json() == {"username": "rosa.q", "full_name": "Rosa Quispe",
                                  "role": "agent", "entity": "RENIEC", "disabled": False,
                                  "locked": False}
    client = app.test_client()
    csrf = client.post("/api/v1/auth/login", json={"username": "rosa.q", "password": "24680"}
                       ).get_json()["csrf_token"]
    assert client.post("/api/v1/counters/1/open", json={},
                       headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.post("/api/v1/counters/6/open", json={},
                       headers={"X-CSRF-Token": csrf}).status_code == 403


@pytest.mark.parametrize(("body", "code"), [
    ({"username": "x1", "role": "agent", "pin": "2468"}, "entity_required"),
    ({"username": "x1", "role": "agent", "entity": "NOPE", "pin": "2468"}, "unknown_entity"),
    ({"username": "x/1", "role": "receptionist", "pin": "2468"}, "invalid_name"),
    ({"username": "x1", "role": "receptionist", "pin": "12"}, "secret_too_short"),
    ({"username": "x1", "role": "owner", "pin": "2468"}, "invalid_role"),
])
def test_a_bad_new_user_is_refused_with_a_reason(login, body, code):
    response = login("admin").post("/api/v1/users", body)
    assert response.status_code == 400 and response.get_json()["error"] == code


def test_a_supervisor_cannot_create_or_take_over_supervisor_and_admin_accounts(login):
    supervisor = login("supervisor")
    for role in ("supervisor", "admin"):
        response = supervisor.post("/api/v1/users", {"username": f"new.{role}", "role": role,
                                                     "pin": "24680"})
        assert response.status_code == 403
    assert supervisor.post("/api/v1/users/admin/pin", {"pin": "24680"}).status_code == 403
    assert supervisor.post("/api/v1/users/admin/disable").status_code == 403
    assert supervisor.post("/api/v1/users/orientador/role",
                           {"role": "admin"}).status_code == 403
    admin = login("admin")
    assert admin.post("/api/v1/users", {"username": "sup2", "role": "supervisor",
                                        "pin": "246813"}).status_code == 201


def test_nobody_disables_or_demotes_their_own_account(login):
    admin = login("admin")
    assert admin.post("/api/v1/users/admin/disable").get_json()["error"] == "own_account"
    assert admin.post("/api/v1/users/admin/role",
                      {"role": "agent", "entity": "BN"}).status_code == 409


def test_disabling_a_user_ends_their_session_and_enabling_lets_them_back(app, login):
    orientador = login("orientador")
    supervisor = login("supervisor")
    assert supervisor.post("/api/v1/users/orientador/disable").get_json()["disabled"] is True
    assert orientador.get("/api/v1/auth/me").status_code == 401
    assert _login(app, "orientador").status_code == 401
    assert supervisor.post("/api/v1/users/orientador/enable").get_json()["disabled"] is False
    assert _login(app, "orientador").status_code == 200


def test_a_role_change_applies_at_once_and_is_recorded(app, login, open_store_day):
    orientador = login("orientador")
    assert orientador.post("/api/v1/counters/1/open").status_code == 403
    changed = login("admin").post("/api/v1/users/orientador/role",
                                  {"role": "agent", "entity": "RENIEC"})
    assert changed.get_json()["role"] == "agent" and changed.get_json()["entity"] == "RENIEC"
    assert orientador.post("/api/v1/counters/1/open").status_code == 200
    kinds = [r[0] for r in open_store_day.reader().execute(
        "SELECT kind FROM events WHERE kind LIKE 'user.%' ORDER BY seq")]
    assert kinds[-1] == "user.role_changed"


# --- devices --------------------------------------------------------------------------------

def test_an_enrolled_device_gets_its_token_once_and_a_revoked_one_stops_working(app, login):
    supervisor = login("supervisor")
    enrolled = supervisor.post("/api/v1/devices", {"name": "tv-sala-2", "role": "display"})
    assert enrolled.status_code == 201
    data = enrolled.get_json()
    assert data["link"] == f"/display/tv-sala-2#device={data['token']}"
    listed = supervisor.get("/api/v1/devices").get_json()["devices"]
    assert data["token"] not in json.dumps(listed)
    tv = {"Authorization": f"Bearer {data['token']}"}
    assert app.test_client().get("/api/v1/queues", headers=tv).status_code == 200
    assert supervisor.post("/api/v1/devices/tv-sala-2/revoke").status_code == 200
    assert app.test_client().get("/api/v1/queues", headers=tv).status_code == 401
    assert supervisor.post("/api/v1/devices/tv-sala-2/revoke").status_code == 404


def test_a_kiosk_is_enrolled_with_a_kiosk_link(login):
    data = login("admin").post("/api/v1/devices", {"name": "kiosko-2", "role": "kiosk"})
    assert data.get_json()["link"].startswith("/kiosk#device=")


# --- the floor, the day, messages -----------------------------------------------------------

def test_the_floor_raises_an_ans_alert_once_the_oldest_wait_passes_the_target(
        login, kiosk, clock):
    kiosk(RN)
    supervisor = login("supervisor")
    floor = supervisor.get("/api/v1/floor").get_json()
    assert floor["alerts"] == []
    clock.advance(minutes=31)
    floor = supervisor.get("/api/v1/floor").get_json()
    rn = next(q for q in floor["queues"] if q["code"] == "RN")
    assert rn["ans_breach"] is True
    # and, with no módulo open for RN since the day opened, the alert for that too
    assert [(a["kind"], a["queue"]) for a in floor["alerts"]] == [("ans", "RN"),
                                                                  ("no_counter", "RN")]


def test_the_floor_shows_time_in_state_by_the_boxs_clock(login, clock):
    supervisor = login("supervisor")
    supervisor.post("/api/v1/counters/2/open")
    supervisor.post("/api/v1/counters/2/pause", {"reason": "break"})
    clock.advance(minutes=7)
    c2 = next(c for c in supervisor.get("/api/v1/floor").get_json()["counters"]
              if c["id"] == 2)
    assert c2["status"] == "paused" and c2["reason"] == "break"
    assert c2["seconds_in_state"] == 420 and c2["agent"] == "supervisor"
    assert "RN" in c2["queues"]


def test_opening_the_day_needs_every_check_or_a_reason(app, login, store, clock):
    day.close_day(store, actor="test")
    clock.advance(days=1)
    supervisor = login("supervisor")
    partial = {**CHECKS_OK, "internet": {"ok": False, "note": ""}}
    refused = supervisor.post("/api/v1/day/open", {"checks": partial})
    assert refused.status_code == 400 and refused.get_json()["error"] == "check_reason_missing"
    missing = {k: v for k, v in CHECKS_OK.items() if k != "speaker"}
    assert supervisor.post("/api/v1/day/open", {"checks": missing}).status_code == 400
    checks = {**CHECKS_OK, "internet": {"ok": False, "note": "Sin servicio del proveedor"}}
    assert supervisor.post("/api/v1/day/open", {"checks": checks}).status_code == 200
    recorded = supervisor.get("/api/v1/floor").get_json()["day"]
    assert recorded["open"] and recorded["opened_by"] == "supervisor"
    assert recorded["checks"]["internet"] == {"ok": False, "note": "Sin servicio del proveedor"}
    assert recorded["checks"]["tvs"] == {"ok": True, "note": ""}


def test_a_broadcast_message_reaches_the_tvs_and_the_floor(app, login, display_token):
    supervisor = login("supervisor")
    sent = supervisor.post("/api/v1/messages", {"text": "SUNAT sin sistema", "minutes": 10})
    assert sent.status_code == 200 and sent.get_json()["until"]
    tv = app.test_client().get("/api/v1/messages/current",
                               headers={"Authorization": f"Bearer {display_token}"})
    assert tv.get_json()["message"]["text"] == "SUNAT sin sistema"
    assert supervisor.get("/api/v1/floor").get_json()["message"]["text"] == "SUNAT sin sistema"
    supervisor.post("/api/v1/messages", {"text": ""})
    assert supervisor.get("/api/v1/messages/current").get_json() == {"message": None}


def test_an_orientador_reads_the_floor_but_cannot_broadcast(login):
    orientador = login("orientador")
    assert orientador.get("/api/v1/floor").status_code == 200
    assert orientador.post("/api/v1/messages", {"text": "hola"}).status_code == 403
    assert orientador.get("/api/v1/users").status_code == 403


def test_only_an_asesor_of_an_entity_the_ticket_passed_through_records_its_rating(kiosk, login):
    uid = kiosk(RN).get_json()["uid"]
    agent = login("asesor.reniec")
    agent.post("/api/v1/counters/1/open")
    agent.post("/api/v1/counters/1/call-next")
    agent.post("/api/v1/counters/1/start")
    agent.post("/api/v1/counters/1/finish", {"outcome": "attended"})
    other = login("asesor.bn").post(f"/api/v1/tickets/{uid}/rating", {"score": 5})
    assert other.status_code == 403
    assert agent.post(f"/api/v1/tickets/{uid}/rating", {"score": 5}).status_code == 200


def test_the_uplink_slot_exists_only_with_an_uplink_and_alerts_when_it_lags(app, login):
    supervisor = login("supervisor")
    checks = parts.of(app).health
    checks.pop("uplink", None)
    assert supervisor.get("/api/v1/floor").get_json()["uplink"] is None
    checks["uplink"] = lambda: {"status": "warning", "enabled": True, "backlog": 120,
                                "last_error": "tiempo agotado"}
    floor = supervisor.get("/api/v1/floor").get_json()
    assert floor["uplink"]["backlog"] == 120
    assert [a["message"] for a in floor["alerts"] if a["kind"] == "uplink"] == [
        "Envío a la sede central: 120 registros por enviar (tiempo agotado)."]
