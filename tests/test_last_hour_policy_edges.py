"""Policy edges of a real day: the anti-starvation wait counts from entering the queue, a
cita category needs an appointment, and a manual closing still closes yesterday's jornada
after midnight."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from config.demo import demo_settings
from config.model import Settings
from turnero import day, policy, tickets
from turnero.errors import Conflict
from turnero.policy import Candidate, QueueRules
from turnero.store import Store

NOW = 1_800_000_000.0
LIMIT = QueueRules(max_normal_wait_minutes=30)
RN = 76


def test_a_normal_ticket_that_just_entered_the_queue_does_not_pass_a_preferential_one():
    # Issued two hours ago (its order key), transferred here a minute ago.
    transferred = Candidate(1, "RN", False, NOW - 7200, entered_at=NOW - 60)
    preferential = Candidate(2, "RN", True, NOW - 600, entered_at=NOW - 600)
    choice = policy.choose_in_queue([transferred, preferential], LIMIT, 0, NOW)
    assert choice is not None
    assert (choice.candidate, choice.rule) == (preferential, policy.PREFERENTIAL)


def test_the_normal_ticket_waiting_longest_in_the_queue_goes_first_past_the_limit():
    transferred = Candidate(1, "RN", False, NOW - 7200, entered_at=NOW - 60)
    starved = Candidate(2, "RN", False, NOW - 3000, entered_at=NOW - 3000)
    preferential = Candidate(3, "RN", True, NOW - 600)
    choice = policy.choose_in_queue([transferred, starved, preferential], LIMIT, 0, NOW)
    assert choice is not None
    assert (choice.candidate, choice.rule) == (starved, policy.MAX_NORMAL_WAIT)


def test_without_an_entry_time_the_wait_counts_from_the_order_key():
    old = Candidate(1, "RN", False, NOW - 3000)
    preferential = Candidate(2, "RN", True, NOW - 600)
    choice = policy.choose_in_queue([old, preferential], LIMIT, 0, NOW)
    assert choice is not None and choice.rule == policy.MAX_NORMAL_WAIT


def test_a_ticket_without_an_appointment_cannot_become_a_cita(login):
    staff = login("orientador")
    ticket = staff.post("/api/v1/tickets", {"service_id": RN}).get_json()
    response = staff.post(f"/api/v1/tickets/{ticket['uid']}/priority", {"priority": "cita"})
    assert response.status_code == 409
    assert response.get_json()["error"] == "no_appointment"
    assert staff.get(f"/api/v1/tickets/{ticket['uid']}").get_json()["priority"] == "normal"


def test_a_ticket_issued_with_its_appointment_may_be_moved_to_the_cita_category(login):
    staff = login("orientador")
    ticket = staff.post("/api/v1/tickets", {
        "service_id": RN, "priority": "gestante",
        "appointment": "2026-11-27T10:00:00-05:00"}).get_json()
    response = staff.post(f"/api/v1/tickets/{ticket['uid']}/priority", {"priority": "cita"})
    assert response.status_code == 200 and response.get_json()["priority"] == "cita"


@pytest.fixture
def settings() -> Settings:
    base = demo_settings()
    return dataclasses.replace(base, schedule=dataclasses.replace(base.schedule,
                                                                  close_day="manual"))


def test_with_a_manual_closing_yesterdays_jornada_is_closed_after_midnight(
        open_store_day: Store, clock):
    tickets.issue_ticket(open_store_day, service_id=RN, channel="reception")
    yesterday = open_store_day.service_day(clock.now())
    clock.set(datetime(2026, 11, 28, 5, 30, tzinfo=UTC))  # 00:30 in Lima, the next day
    closed = day.close_day(open_store_day, actor="supervisor")
    assert (closed["date"], closed["open"], closed["expired"]) == (yesterday, False, 1)
    with pytest.raises(Conflict) as refused:
        day.close_day(open_store_day, actor="supervisor")
    assert refused.value.code == "day_not_open"


def test_the_supervisor_closes_yesterdays_jornada_over_the_api_after_midnight(login, clock):
    clock.set(datetime(2026, 11, 27, 23, 0, tzinfo=UTC))  # 18:00, the session outlives 00:30
    staff = login("supervisor")
    clock.set(datetime(2026, 11, 28, 5, 30, tzinfo=UTC))
    response = staff.post("/api/v1/day/close")
    assert response.status_code == 200
    assert response.get_json()["date"] == "2026-11-27"
    assert staff.post("/api/v1/day/close").get_json()["error"] == "day_not_open"


def test_closing_by_hand_while_people_wait_is_refused_with_the_counts_until_confirmed(
        login, open_store_day: Store) -> None:
    staff = login("supervisor")
    for _ in range(2):
        tickets.issue_ticket(open_store_day, service_id=RN, channel="reception")
    refused = staff.post("/api/v1/day/close", json={})
    assert refused.status_code == 409
    data = refused.get_json()
    assert (data["error"], data["waiting"], data["in_attention"]) == ("people_waiting", 2, 0)
    assert "2 turno(s) en espera" in data["message"]
    assert open_store_day.reader().execute(
        "SELECT COUNT(*) FROM days WHERE closed_at IS NULL").fetchone()[0] == 1
    assert staff.post("/api/v1/day/close", json={"expire_waiting": "sí"}).status_code == 400
    closed = staff.post("/api/v1/day/close", json={"expire_waiting": True})
    assert closed.status_code == 200 and closed.get_json()["expired"] == 2


def test_a_jornada_closed_by_mistake_and_opened_again_gets_its_expired_tickets_back(
        open_store_day: Store) -> None:
    waiting, _ = tickets.issue_ticket(open_store_day, service_id=RN, channel="reception")
    day.close_day(open_store_day, actor="supervisor")
    assert tickets.current_ticket(open_store_day, waiting["uid"])["status"] == "expired"
    with pytest.raises(Conflict):  # not while the jornada is closed
        tickets.reactivate(open_store_day, waiting["uid"], actor="orientador")
    day.open_day(open_store_day, actor="supervisor")
    back = tickets.reactivate(open_store_day, waiting["uid"], actor="orientador")
    assert back["status"] == "waiting"


def test_the_floor_says_when_and_by_whom_a_closed_jornada_was_opened_again(
        login, open_store_day: Store, clock) -> None:
    day.close_day(open_store_day, actor="supervisor")
    clock.advance(minutes=5)
    day.open_day(open_store_day, actor="jefa.turno")
    shown = login("supervisor").get("/api/v1/floor").get_json()["day"]
    assert shown["open"] and shown["opened_by"] == "test"
    assert shown["reopened_by"] == "jefa.turno" and shown["reopened_at"] > shown["opened_at"]
