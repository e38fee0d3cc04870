"""The opening check list after an automatic opening, and finding a ticket by its label as
the orientador hears it ("rn 5", "RN005", "5")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from appliance import parts
from appliance.app import create_app
from config.model import Settings
from tests.conftest import PIN, Staff
from turnero import accounts, checklist, day, schedule, tickets
from turnero.store import Store

RN = 76
ALL_OK = {item: {"ok": True, "note": ""} for item in checklist.ITEMS}


def auto_open(store: Store, settings: Settings) -> None:
    """Open today the way the scheduler does at opening time."""
    calendar = schedule.Calendar(settings.hours, settings.schedule, settings.centre.timezone)
    done = schedule.open_if_due(store, calendar, {"automatic": True,
                                                  "components": {"db": "ok"}})
    assert done["action"] == "opened", done


@pytest.fixture
def auto_app(settings: Settings, store: Store) -> Iterator[Flask]:
    auto_open(store, settings)
    for name, role in (("supervisor", "supervisor"), ("orientador", "receptionist"),
                       ("asesor", "agent")):
        accounts.create_user(store, name, role, PIN, security=settings.security,
                             entity="RENIEC" if role == "agent" else None)
    app = create_app(settings, store, TESTING=True)
    yield app
    parts.of(app).printing.stop()


def sign_in(app: Flask, username: str) -> Staff:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PIN})
    assert response.status_code == 200
    return Staff(client, response.get_json()["csrf_token"])


def floor_alerts(staff: Staff) -> list[str]:
    return [a["kind"] for a in staff.get("/api/v1/floor").get_json()["alerts"]]


def test_an_automatic_opening_leaves_the_list_pending_until_a_person_confirms_it(
        auto_app: Flask, store: Store):
    orientador = sign_in(auto_app, "orientador")
    status = orientador.get("/api/v1/day/checklist").get_json()
    assert status["pending"] and status["open"]
    assert [i["code"] for i in status["items"]] == list(checklist.ITEMS)
    assert "checklist" in floor_alerts(sign_in(auto_app, "supervisor"))
    answer = orientador.post("/api/v1/day/checklist", {"checks": ALL_OK})
    assert answer.status_code == 200 and not answer.get_json()["pending"]
    recorded = answer.get_json()["checks"]
    assert recorded["automatic"] and recorded["components"] == {"db": "ok"}
    assert recorded["internet"] == {"ok": True, "note": ""}
    assert "checklist" not in floor_alerts(sign_in(auto_app, "supervisor"))
    kinds = [r[0] for r in store.reader().execute("SELECT kind FROM events")]
    assert "day.checklist_confirmed" in kinds


def test_the_first_confirmation_stands_and_a_second_is_a_409(auto_app: Flask):
    orientador = sign_in(auto_app, "orientador")
    assert orientador.post("/api/v1/day/checklist", {"checks": ALL_OK}).status_code == 200
    again = sign_in(auto_app, "supervisor").post("/api/v1/day/checklist", {"checks": ALL_OK})
    assert again.status_code == 409 and again.get_json()["error"] == "checklist_done"


def test_an_item_left_unchecked_without_a_reason_is_a_400_and_records_nothing(auto_app: Flask):
    orientador = sign_in(auto_app, "orientador")
    checks: dict[str, Any] = {**ALL_OK, "internet": {"ok": False, "note": " "}}
    answer = orientador.post("/api/v1/day/checklist", {"checks": checks})
    assert answer.status_code == 400
    assert answer.get_json()["error"] == "check_reason_missing"
    assert orientador.post("/api/v1/day/checklist", {}).status_code == 400
    assert orientador.get("/api/v1/day/checklist").get_json()["pending"]


def test_an_asesor_is_not_asked_for_the_list(auto_app: Flask):
    assert sign_in(auto_app, "asesor").get("/api/v1/day/checklist").status_code == 403


def test_a_day_a_person_opened_owes_no_list(login):
    assert not login("orientador").get("/api/v1/day/checklist").get_json()["pending"]
    assert "checklist" not in floor_alerts(login("supervisor"))


def test_a_reopen_keeps_the_list_already_filled(auto_app: Flask, store: Store):
    sign_in(auto_app, "orientador").post("/api/v1/day/checklist", {"checks": ALL_OK})
    day.close_day(store, actor="supervisor")
    other = {**ALL_OK, "printers": {"ok": False, "note": "sin papel"}}
    day.open_day(store, actor="supervisor", checks=other)
    status = checklist.status(store)
    assert status["open"] and not status["pending"]
    assert status["checks"]["printers"] == {"ok": True, "note": ""}


def test_a_reopen_with_a_list_fills_one_still_owed(auto_app: Flask, store: Store):
    day.close_day(store, actor="supervisor")
    day.open_day(store, actor="supervisor", checks=ALL_OK)
    status = checklist.status(store)
    assert not status["pending"] and status["checks"]["automatic"]


@pytest.mark.parametrize("typed", ["RN-005", "rn 5", "RN005", "rn-5", " Rn 005 ", "5"])
def test_a_label_is_found_however_the_orientador_types_it(login, open_store_day: Store,
                                                           typed: str):
    for _ in range(5):
        tickets.issue_ticket(open_store_day, service_id=RN, channel="reception")
    found = login("orientador").get("/api/v1/tickets", query_string={"label": typed})
    assert [t["label"] for t in found.get_json()["tickets"]] == ["RN-005"]


def test_a_bare_number_finds_that_number_in_every_queue(login, open_store_day: Store,
                                                        settings: Settings):
    other = next(s.id for s in settings.services if s.queue != "RN")
    tickets.issue_ticket(open_store_day, service_id=RN, channel="reception")
    tickets.issue_ticket(open_store_day, service_id=other, channel="reception")
    found = login("orientador").get("/api/v1/tickets?label=1").get_json()["tickets"]
    assert len(found) == 2 and all(t["number"] == 1 for t in found)
    nothing = login("orientador").get("/api/v1/tickets?label=XYZ-1").get_json()["tickets"]
    assert nothing == []
