"""The estimate at the opening rush: before the módulos open it counts the módulos expected
to serve the queue and starts counting at the opening time (attention_starts_at), the same
figure on the kiosk's answer, GET /tickets/<uid>, the phone page's JSON and GET /queues."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from turnero import calls, day, estimate, floor, tickets
from turnero.clock import ManualClock
from turnero.store import Store

RN = 76  # a RENIEC service of queue RN; módulos 1-5 serve RN and RC
EARLY = datetime(2026, 11, 27, 13, 16, tzinfo=UTC)  # Friday 08:16 in Lima; opens at 08:30
OPENS = "2026-11-27T08:30-05:00"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(EARLY)


def crowd(store: Store, n: int) -> None:
    for _ in range(n):
        tickets.issue_ticket(store, service_id=RN)


def test_before_opening_the_estimate_starts_at_opening_with_the_assigned_modulos(
        open_store_day: Store, kiosk, login) -> None:
    crowd(open_store_day, 14)
    answer = kiosk(RN)
    assert answer.status_code == 201, answer.get_json()
    t = answer.get_json()
    # 14 minutes until 08:30, then 14 ahead x 15 min among the 5 RENIEC módulos: not 210
    assert t["ahead"] == 14 and t["estimated_wait_minutes"] == 14 + 42
    assert t["attention_starts_at"] == OPENS
    staff = login("orientador")
    detail = staff.get(f"/api/v1/tickets/{t['uid']}").get_json()
    assert (detail["estimated_wait_minutes"], detail["attention_starts_at"]) == (56, OPENS)
    public = staff.client.get(f"/api/v1/public/tickets/{t['token']}").get_json()
    assert (public["estimated_wait_minutes"], public["attention_starts_at"]) == (56, OPENS)
    queues = {q["code"]: q for q in staff.get("/api/v1/queues").get_json()["queues"]}
    assert queues["RN"]["attention_starts_at"] == OPENS
    assert queues["RN"]["expected_wait_minutes"] == 14 + 45  # 15 ahead now


def test_once_modulos_open_the_estimate_divides_by_them_and_has_no_start_time(
        open_store_day: Store, clock: ManualClock) -> None:
    crowd(open_store_day, 14)
    clock.set(EARLY + timedelta(minutes=14))  # 08:30
    floor.change_counter(open_store_day, 1, "open", actor="asesor")
    floor.change_counter(open_store_day, 2, "open", actor="asesor")
    t, _ = tickets.issue_ticket(open_store_day, service_id=RN)
    assert t["ahead"] == 14 and t["estimated_wait_minutes"] == 105  # 14 x 15 / 2
    assert t["attention_starts_at"] is None


def test_a_preferential_ticket_before_opening_is_told_the_opening_time(
        open_store_day: Store) -> None:
    crowd(open_store_day, 5)
    t, _ = tickets.issue_ticket(open_store_day, service_id=RN, priority="gestante")
    assert t["ahead"] == 0 and t["estimated_wait_minutes"] == 14
    assert t["attention_starts_at"] == OPENS
    conn = open_store_day.reader()
    assert estimate.for_new_ticket(conn, open_store_day, "2026-11-27", "RN", True) == (1, 17)


def test_the_modulos_that_opened_the_queue_yesterday_are_the_ones_expected(
        tmp_path, settings) -> None:
    from appliance.runtime import open_store
    clock = ManualClock(EARLY - timedelta(days=1) + timedelta(minutes=14))  # Thursday 08:30
    store = open_store(settings, tmp_path, clock=clock)
    try:
        day.open_day(store, actor="test")
        for counter in (1, 2, 3):  # three módulos opened RENIEC yesterday
            floor.change_counter(store, counter, "open", actor="asesor")
            crowd(store, 1)
            calls.call_next(store, counter, actor="asesor")
            calls.start(store, counter, actor="asesor")
            clock.advance(minutes=12)
            calls.finish(store, counter, actor="asesor")
        day.close_day(store, actor="test")
        clock.set(EARLY)
        day.open_day(store, actor="test")
        crowd(store, 9)
        t, _ = tickets.issue_ticket(store, service_id=RN)
        # 14 minutes to opening, then 9 ahead x 12 min among the 3 expected módulos
        assert t["estimated_wait_minutes"] == 14 + 36
        assert t["attention_starts_at"] == OPENS
    finally:
        store.close()


def test_after_opening_time_with_nobody_open_the_wait_counts_the_expected_modulos(
        open_store_day: Store, clock: ManualClock) -> None:
    clock.set(EARLY + timedelta(minutes=30))  # 08:46, no módulo opened yet
    crowd(open_store_day, 10)
    t, _ = tickets.issue_ticket(open_store_day, service_id=RN)
    assert t["estimated_wait_minutes"] == 30 and t["attention_starts_at"] is None
