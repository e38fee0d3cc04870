"""The last hour at a kiosk: preferential citizens are never turned away for lack of time
while a preferential ticket would still be served, normal ones are when the queue is full
for today, and the queue list tells the kiosk so before the citizen takes any step."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from config.demo import demo_settings
from config.model import Settings
from turnero import day, floor, tickets
from turnero.store import Store

RN = 76  # a RENIEC service of the demo catalogue (queue RN)
LAST_HOUR = datetime(2026, 11, 27, 22, 40, tzinfo=UTC)  # Friday 17:40 in Lima, closing 18:30
AFTER_CLOSING = datetime(2026, 11, 27, 23, 35, tzinfo=UTC)  # 18:35 in Lima


@pytest.fixture
def settings(request: pytest.FixtureRequest) -> Settings:
    """The demo centre; a test may ask for a kiosk closing margin (minutes)."""
    base = demo_settings()
    margin = getattr(request, "param", 0)
    return dataclasses.replace(base, kiosk=dataclasses.replace(
        base.kiosk, closing_margin_minutes=margin))


def preferential_categories(store: Store) -> list[str]:
    rows = store.reader().execute("SELECT code FROM priorities WHERE active AND preferential "
                                  "ORDER BY ord").fetchall()
    return [r["code"] for r in rows]


def fill(store: Store, n: int = 25, priority: str | None = None) -> None:
    for _ in range(n):
        tickets.issue_ticket(store, service_id=RN, priority=priority, channel="reception")


def queue_item(app, kiosk_token: str, code: str) -> dict:
    response = app.test_client().get("/api/v1/queues",
                                     headers={"Authorization": f"Bearer {kiosk_token}"})
    assert response.status_code == 200
    return next(q for q in response.get_json()["queues"] if q["code"] == code)


def test_at_1740_with_25_normal_waiting_every_preferential_category_gets_a_kiosk_ticket(
        kiosk, open_store_day: Store, clock):
    clock.set(LAST_HOUR)
    fill(open_store_day)
    categories = preferential_categories(open_store_day)
    assert len(categories) >= 4
    for code in categories:
        response = kiosk(priority=code)
        assert response.status_code == 201, (code, response.get_json())
        ticket = response.get_json()
        assert ticket["priority"] == code and ticket["preferential"] is True


def test_at_1740_with_25_normal_waiting_a_normal_kiosk_ticket_is_refused(
        kiosk, open_store_day: Store, clock):
    clock.set(LAST_HOUR)
    fill(open_store_day)
    response = kiosk()
    assert response.status_code == 409
    assert response.get_json()["error"] == "after_closing"


def test_the_queue_list_tells_the_kiosk_who_may_still_get_a_ticket(
        app, kiosk, kiosk_token, open_store_day: Store, clock):
    clock.set(LAST_HOUR)
    fill(open_store_day)
    rn = queue_item(app, kiosk_token, "RN")["issuing"]
    assert (rn["normal"], rn["preferential"], rn["reason"]) == (False, True, "after_closing")
    assert "preferente" in rn["message"]
    assert queue_item(app, kiosk_token, "BN")["issuing"] == {
        "normal": True, "preferential": True, "reason": None, "message": None}
    # The flags say what the kiosk then does.
    assert kiosk().status_code == 409
    assert kiosk(priority="gestante").status_code == 201


def test_when_preferential_citizens_would_not_be_served_either_both_are_refused(
        app, kiosk, kiosk_token, open_store_day: Store, clock):
    clock.set(LAST_HOUR)
    fill(open_store_day, 25, priority="adulto_mayor")
    rn = queue_item(app, kiosk_token, "RN")["issuing"]
    assert (rn["normal"], rn["preferential"], rn["reason"]) == (False, False, "after_closing")
    assert "orientador" in rn["message"]
    response = kiosk(priority="gestante")
    assert response.status_code == 409 and response.get_json()["error"] == "after_closing"


def test_from_closing_time_the_queue_list_says_issuing_ended(app, kiosk, kiosk_token, clock):
    clock.set(AFTER_CLOSING)
    rn = queue_item(app, kiosk_token, "RN")["issuing"]
    assert (rn["normal"], rn["preferential"], rn["reason"]) == (False, False, "issuing_ended")
    assert "18:30" in rn["message"]
    assert kiosk(priority="gestante").status_code == 409


def test_after_closing_time_the_kiosk_says_issuing_ended_not_the_estimate(
        kiosk, clock, open_store_day: Store):
    clock.set(AFTER_CLOSING)
    for priority in (None, "gestante"):
        refused = kiosk(priority=priority) if priority else kiosk()
        body = refused.get_json()
        assert (refused.status_code, body["error"]) == (409, "after_hours")
        assert "terminó a las 18:30" in body["message"] and body["closes_at"].endswith("-05:00")
    day.close_day(open_store_day, actor="test")  # and once the jornada is closed too
    assert kiosk().get_json()["error"] == "after_hours"


def test_a_closed_jornada_and_a_closed_queue_issue_nothing(app, kiosk, kiosk_token,
                                                           open_store_day: Store):
    floor.change_queue(open_store_day, "BN", False, actor="test", reason="Sin sistema")
    bn = queue_item(app, kiosk_token, "BN")
    assert bn["issuing"] == {"normal": False, "preferential": False, "reason": None,
                             "message": None}
    assert bn["is_open"] is False and bn["closed_reason"] == "Sin sistema"
    day.close_day(open_store_day, actor="test")
    rn = queue_item(app, kiosk_token, "RN")["issuing"]
    assert (rn["normal"], rn["preferential"], rn["reason"]) == (False, False, "closed_today")
    assert rn["message"]
    assert kiosk().get_json()["error"] == "day_not_open"


@pytest.mark.parametrize("settings, expected", [(0, True), (60, False)],
                         indirect=["settings"])
def test_the_closing_margin_applies_to_the_flags_as_to_the_kiosk(app, kiosk, kiosk_token,
                                                                  clock, expected):
    clock.set(datetime(2026, 11, 27, 23, 0, tzinfo=UTC))  # 18:00, nobody waiting
    rn = queue_item(app, kiosk_token, "RN")["issuing"]
    assert rn["normal"] is expected and rn["preferential"] is expected
    assert (kiosk().status_code == 201) is expected
