"""Desk ownership and stream slots: an asesor acts only on the módulo they opened and holds
one at a time; ratings only for a ticket served at the asesor's own módulo; one device or
one staff session cannot take every live-stream slot."""

from __future__ import annotations

import pytest

from appliance.api_devices import STREAMS_PER_DEVICE, STREAMS_PER_SESSION
from turnero import accounts
from turnero.store import Store

RN = 76


@pytest.fixture
def colleague(open_store_day: Store, settings, users) -> str:
    """A second asesor of RENIEC."""
    accounts.create_user(open_store_day, "asesor.reniec2", "agent", "2580",
                         security=settings.security, entity="RENIEC")
    return "asesor.reniec2"


def _login(app, username: str, password: str):
    from tests.conftest import Staff
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username,
                                                       "password": password})
    assert response.status_code == 200, response.get_json()
    return Staff(client, response.get_json()["csrf_token"])


def _reniec_modulos(store: Store) -> list[int]:
    return [r["id"] for r in store.reader().execute(
        "SELECT c.id FROM counters c JOIN counter_queues cq ON cq.counter = c.id "
        "WHERE c.entity = 'RENIEC' AND cq.queue = 'RN' AND c.active ORDER BY c.id")]


def _counter(store: Store, counter_id: int) -> dict:
    return dict(store.reader().execute("SELECT status, agent, current FROM counters "
                                       "WHERE id = ?", (counter_id,)).fetchone())


def _serving(agent, counter_id: int, kiosk) -> str:
    uid = kiosk(RN).get_json()["uid"]
    assert agent.post(f"/api/v1/counters/{counter_id}/call-next").get_json()["uid"] == uid
    return uid


@pytest.mark.parametrize("action,payload", [
    ("no-show", None), ("finish", {"outcome": "attended"}), ("transfer", {"queue": "RN"}),
    ("close", None), ("call-next", None), ("recall", None), ("start", None),
    ("pause", {"reason": "break"})])
def test_a_colleague_of_the_same_entity_cannot_act_at_anothers_modulo(
        app, login, colleague, kiosk, open_store_day, action, payload):
    counter = _reniec_modulos(open_store_day)[0]
    owner = login("asesor.reniec")
    assert owner.post(f"/api/v1/counters/{counter}/open").status_code == 200
    if action != "call-next":
        _serving(owner, counter, kiosk)
    if action == "finish":
        assert owner.post(f"/api/v1/counters/{counter}/start").status_code == 200
    if action in ("close", "pause"):
        assert owner.post(f"/api/v1/counters/{counter}/no-show").status_code == 200
    else:
        kiosk(RN)  # somebody waiting for call-next
    before = _counter(open_store_day, counter)
    other = _login(app, colleague, "2580")
    response = other.post(f"/api/v1/counters/{counter}/{action}", payload)
    assert response.status_code == 403 and response.get_json()["error"] == "not_your_modulo"
    assert _counter(open_store_day, counter) == before


def test_a_colleague_cannot_call_a_given_ticket_at_anothers_modulo(
        app, login, colleague, kiosk, open_store_day):
    counter = _reniec_modulos(open_store_day)[0]
    assert login("asesor.reniec").post(f"/api/v1/counters/{counter}/open").status_code == 200
    uid = kiosk(RN).get_json()["uid"]
    response = _login(app, colleague, "2580").post(f"/api/v1/counters/{counter}/call",
                                                   {"uid": uid})
    assert response.status_code == 403 and response.get_json()["error"] == "not_your_modulo"
    assert _counter(open_store_day, counter)["current"] is None


def test_an_asesor_cannot_open_a_second_modulo_while_holding_one(login, open_store_day):
    first, second = _reniec_modulos(open_store_day)[:2]
    agent = login("asesor.reniec")
    assert agent.post(f"/api/v1/counters/{first}/open").status_code == 200
    response = agent.post(f"/api/v1/counters/{second}/open")
    assert response.status_code == 409
    assert response.get_json()["error"] == "already_at_a_modulo"
    assert str(first) in response.get_json()["message"]
    assert _counter(open_store_day, second)["status"] == "closed"
    agent.post(f"/api/v1/counters/{first}/pause", {"reason": "break"})
    assert agent.post(f"/api/v1/counters/{second}/open").status_code == 409  # paused is held
    agent.post(f"/api/v1/counters/{first}/resume")
    assert agent.post(f"/api/v1/counters/{first}/close").status_code == 200
    assert agent.post(f"/api/v1/counters/{second}/open").status_code == 200


def test_a_supervisor_still_acts_at_any_modulo(login, kiosk, open_store_day):
    counter = _reniec_modulos(open_store_day)[0]
    owner = login("asesor.reniec")
    assert owner.post(f"/api/v1/counters/{counter}/open").status_code == 200
    _serving(owner, counter, kiosk)
    supervisor = login("supervisor")
    assert supervisor.post(f"/api/v1/counters/{counter}/no-show").status_code == 200
    assert supervisor.post(f"/api/v1/counters/{counter}/close").status_code == 200
    first, second = _reniec_modulos(open_store_day)[:2]
    assert supervisor.post(f"/api/v1/counters/{first}/open").status_code == 200
    assert supervisor.post(f"/api/v1/counters/{second}/open").status_code == 200


def _served(agent, counter: int, kiosk) -> str:
    uid = _serving(agent, counter, kiosk)
    assert agent.post(f"/api/v1/counters/{counter}/start").status_code == 200
    assert agent.post(f"/api/v1/counters/{counter}/finish").status_code == 200
    return uid


def test_a_rating_for_a_ticket_served_at_another_modulo_is_refused(
        app, login, colleague, kiosk, open_store_day):
    mine, theirs = _reniec_modulos(open_store_day)[:2]
    agent = login("asesor.reniec")
    other = _login(app, colleague, "2580")
    assert agent.post(f"/api/v1/counters/{mine}/open").status_code == 200
    assert other.post(f"/api/v1/counters/{theirs}/open").status_code == 200
    served_there = _served(other, theirs, kiosk)
    response = agent.post(f"/api/v1/tickets/{served_there}/rating", {"score": 5})
    assert response.status_code == 403 and response.get_json()["error"] == "not_served_here"
    response = agent.post(f"/api/v1/tickets/{served_there}/rating",
                          {"score": 5, "counter": theirs})
    assert response.status_code == 403
    assert open_store_day.reader().execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == 0
    served_here = _served(agent, mine, kiosk)
    assert agent.post(f"/api/v1/tickets/{served_here}/rating",
                      {"score": 4, "counter": mine}).status_code == 200


def test_an_asesor_without_a_modulo_cannot_enter_ratings(app, login, colleague, kiosk,
                                                         open_store_day):
    counter = _reniec_modulos(open_store_day)[0]
    other = _login(app, colleague, "2580")
    assert other.post(f"/api/v1/counters/{counter}/open").status_code == 200
    uid = _served(other, counter, kiosk)
    response = login("asesor.reniec").post(f"/api/v1/tickets/{uid}/rating", {"score": 5})
    assert response.status_code == 403 and response.get_json()["error"] == "not_at_a_modulo"


def test_one_device_token_beyond_its_stream_cap_gets_429_and_other_tvs_still_stream(
        app, display_token, open_store_day):
    other_tv = accounts.enrol_device(open_store_day, "tv-2", "display")
    client = app.test_client()
    headers = {"Authorization": f"Bearer {display_token}"}
    held = [client.get("/api/v1/stream", headers=headers, buffered=False)
            for _ in range(STREAMS_PER_DEVICE)]
    try:
        assert [r.status_code for r in held] == [200] * STREAMS_PER_DEVICE
        refused = client.get("/display/tv-1/announcements", headers=headers, buffered=False)
        assert refused.status_code == 429
        assert refused.get_json()["error"] == "too_many_streams"
        other = client.get("/api/v1/stream", headers={"Authorization": f"Bearer {other_tv}"},
                           buffered=False)
        assert other.status_code == 200
        other.close()
        held.pop().close()  # a closed stream gives its slot back
        again = client.get("/api/v1/stream", headers=headers, buffered=False)
        assert again.status_code == 200
        held.append(again)
    finally:
        for response in reversed(held):  # each stream holds a request context: last first
            response.close()


def test_one_staff_session_beyond_its_stream_cap_gets_429(login):
    supervisor = login("supervisor")
    held = [supervisor.get("/api/v1/stream", buffered=False)
            for _ in range(STREAMS_PER_SESSION)]
    try:
        assert [r.status_code for r in held] == [200] * STREAMS_PER_SESSION
        refused = supervisor.get("/api/v1/stream", buffered=False)
        assert refused.status_code == 429
        assert refused.get_json()["error"] == "too_many_streams"
        another = login("supervisor").get("/api/v1/stream", buffered=False)
        assert another.status_code == 200
        another.close()
    finally:
        for response in reversed(held):  # each stream holds a request context: last first
            response.close()
