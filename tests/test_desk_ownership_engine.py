"""Desk ownership is checked by the engine, in the write transaction of each desk action: the
engine itself refuses an asesor at a colleague's módulo, a colleague who takes the módulo
between the asesor's page and their action wins, and an asesor at a módulo a supervisor
opened for them holds it (their ratings count there, colleagues are kept out)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.conftest import Staff
from turnero import accounts, calls, floor, tickets
from turnero.accounts import Principal
from turnero.errors import Conflict, Forbidden
from turnero.store import Store

RN_SERVICE = 76
ASESOR = Principal(kind="user", name="asesor.reniec", role="agent", entity="RENIEC")
COLLEAGUE = Principal(kind="user", name="asesor.reniec2", role="agent", entity="RENIEC")
OTHER_ENTITY = Principal(kind="user", name="asesor.bn", role="agent", entity="BN")
SUPERVISOR = Principal(kind="user", name="supervisor", role="supervisor")


@pytest.fixture
def colleague(open_store_day: Store, settings: Any, users: dict[str, str]) -> str:
    """A second asesor of RENIEC (the conftest users are the others)."""
    accounts.create_user(open_store_day, COLLEAGUE.name, "agent", "2580",
                         security=settings.security, entity="RENIEC")
    return COLLEAGUE.name


def _modulos(store: Store) -> list[int]:
    return [r["id"] for r in store.reader().execute(
        "SELECT c.id FROM counters c JOIN counter_queues cq ON cq.counter = c.id "
        "WHERE c.entity = 'RENIEC' AND cq.queue = 'RN' AND c.active ORDER BY c.id")]


def _state(store: Store, counter: int) -> dict[str, Any]:
    row = store.reader().execute("SELECT status, agent, current FROM counters WHERE id = ?",
                                 (counter,)).fetchone()
    return dict(row)


def _issue(store: Store) -> str:
    ticket, _ = tickets.issue_ticket(store, service_id=RN_SERVICE)
    return str(ticket["uid"])


def _login(app: Flask, username: str, pin: str) -> Staff:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": pin})
    assert response.status_code == 200, response.get_json()
    return Staff(client, response.get_json()["csrf_token"])


DeskAction = Callable[[Store, int, Any], Any]
ACTIONS: dict[str, DeskAction] = {
    "call_next": lambda s, c, who: calls.call_next(s, c, actor=who),
    "call_ticket": lambda s, c, who: calls.call_ticket(s, c, _issue(s), actor=who),
    "recall": lambda s, c, who: calls.recall(s, c, actor=who),
    "start": lambda s, c, who: calls.start(s, c, actor=who),
    "finish": lambda s, c, who: calls.finish(s, c, actor=who),
    "no_show": lambda s, c, who: calls.no_show(s, c, actor=who),
    "transfer": lambda s, c, who: calls.transfer_current(s, c, queue="RN", actor=who),
    "pause": lambda s, c, who: floor.change_counter(s, c, "pause", reason="break", actor=who),
    "close": lambda s, c, who: floor.change_counter(s, c, "close", actor=who),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_the_engine_itself_refuses_a_colleague_at_an_asesors_modulo_without_any_api_check(
        open_store_day: Store, colleague: str, action: str) -> None:
    store = open_store_day
    counter = _modulos(store)[0]
    floor.change_counter(store, counter, "open", actor=ASESOR)
    _issue(store)
    if action not in ("call_next", "call_ticket", "pause", "close"):
        calls.call_next(store, counter, actor=ASESOR)
    if action == "finish":
        calls.start(store, counter, actor=ASESOR)
    before = _state(store, counter)
    with pytest.raises(Forbidden) as refused:
        ACTIONS[action](store, counter, COLLEAGUE)
    assert (refused.value.status, refused.value.code) == (403, "not_your_modulo")
    assert "solo quien lo abrió" in refused.value.message
    assert _state(store, counter) == before


def test_the_engine_refuses_an_asesor_at_a_modulo_of_another_entity(
        open_store_day: Store, users: dict[str, str]) -> None:
    counter = _modulos(open_store_day)[0]
    with pytest.raises(Forbidden) as refused:
        floor.change_counter(open_store_day, counter, "open", actor=OTHER_ENTITY)
    assert refused.value.code == "forbidden"
    assert _state(open_store_day, counter)["status"] == "closed"


def test_the_engine_lets_supervisors_and_the_box_act_at_an_asesors_modulo(
        open_store_day: Store, users: dict[str, str]) -> None:
    store = open_store_day
    counter = _modulos(store)[0]
    floor.change_counter(store, counter, "open", actor=ASESOR)
    _issue(store)
    _issue(store)
    assert calls.call_next(store, counter, actor="button:1") is not None
    assert calls.no_show(store, counter, actor=SUPERVISOR)["status"] == "no_show"
    assert calls.call_next(store, counter, actor=SUPERVISOR) is not None
    assert calls.no_show(store, counter, actor=None)["status"] == "no_show"
    assert _state(store, counter)["agent"] == ASESOR.name  # they still hold it
    assert floor.change_counter(store, counter, "close", actor=SUPERVISOR)["status"] == "closed"


def test_a_colleague_who_takes_the_modulo_between_the_asesors_page_and_their_action_wins(
        app: Flask, login: Callable[[str], Staff], colleague: str, open_store_day: Store,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The asesor's desk shows their open módulo; before their call reaches the write lock,
    the módulo is closed and a colleague opens it. The action is judged against the holder
    its own transaction reads, so the asesor is refused and the colleague's módulo is left
    as it was."""
    store = open_store_day
    counter = _modulos(store)[0]
    asesor = login(ASESOR.name)
    assert asesor.post(f"/api/v1/counters/{counter}/open").status_code == 200
    assert asesor.get(f"/api/v1/counters/{counter}/waiting").status_code == 200  # page load
    _issue(store)
    write = store.write

    def colleague_first(fn: Callable[..., Any]) -> Any:
        if not fn.__qualname__.startswith("call_next."):  # any other write of the request
            return write(fn)
        monkeypatch.setattr(store, "write", write)  # only the asesor's action is preceded
        floor.change_counter(store, counter, "close", actor=SUPERVISOR)
        floor.change_counter(store, counter, "open", actor=COLLEAGUE)
        return write(fn)

    monkeypatch.setattr(store, "write", colleague_first)
    response = asesor.post(f"/api/v1/counters/{counter}/call-next")
    assert response.status_code == 403, response.get_json()
    assert response.get_json()["error"] == "not_your_modulo"
    assert _state(store, counter) == {"status": "open", "agent": colleague, "current": None}


def test_an_asesor_at_a_modulo_a_supervisor_opened_for_them_holds_it_and_can_rate_there(
        app: Flask, login: Callable[[str], Staff], colleague: str, kiosk: Any,
        open_store_day: Store) -> None:
    counter = _modulos(open_store_day)[0]
    assert login("supervisor").post(f"/api/v1/counters/{counter}/open").status_code == 200
    asesor = login(ASESOR.name)
    uid = kiosk(RN_SERVICE).get_json()["uid"]
    assert asesor.post(f"/api/v1/counters/{counter}/call-next").get_json()["uid"] == uid
    assert _state(open_store_day, counter)["agent"] == ASESOR.name
    assert asesor.post(f"/api/v1/counters/{counter}/start").status_code == 200
    assert asesor.post(f"/api/v1/counters/{counter}/finish").status_code == 200
    rated = asesor.post(f"/api/v1/tickets/{uid}/rating", {"score": 5})
    assert rated.status_code == 200, rated.get_json()
    other = _login(app, colleague, "2580").post(f"/api/v1/counters/{counter}/call-next")
    assert other.status_code == 403 and other.get_json()["error"] == "not_your_modulo"


def test_the_first_asesor_to_act_at_a_supervisor_opened_modulo_keeps_colleagues_out(
        open_store_day: Store, colleague: str) -> None:
    store = open_store_day
    counter = _modulos(store)[0]
    floor.change_counter(store, counter, "open", actor=SUPERVISOR)
    floor.change_counter(store, counter, "pause", reason="break", actor=ASESOR)
    assert _state(store, counter) == {"status": "paused", "agent": ASESOR.name,
                                      "current": None}
    with pytest.raises(Forbidden):
        floor.change_counter(store, counter, "resume", actor=COLLEAGUE)
    assert floor.change_counter(store, counter, "resume", actor=ASESOR)["agent"] == ASESOR.name


def test_an_asesor_holding_a_modulo_cannot_take_a_second_one_a_supervisor_opened(
        login: Callable[[str], Staff], kiosk: Any, open_store_day: Store) -> None:
    mine, second = _modulos(open_store_day)[:2]
    asesor = login(ASESOR.name)
    assert asesor.post(f"/api/v1/counters/{mine}/open").status_code == 200
    assert login("supervisor").post(f"/api/v1/counters/{second}/open").status_code == 200
    kiosk(RN_SERVICE)
    response = asesor.post(f"/api/v1/counters/{second}/call-next")
    assert response.status_code == 409
    assert response.get_json()["error"] == "already_at_a_modulo"
    assert _state(open_store_day, second) == {"status": "open", "agent": "supervisor",
                                              "current": None}
    with pytest.raises(Conflict) as refused:  # the same rule, asked of the engine directly
        calls.call_next(open_store_day, second, actor=ASESOR)
    assert refused.value.code == "already_at_a_modulo"
