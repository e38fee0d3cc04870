"""The wait estimate given at issue: a módulo's time per citizen counts from the call (the
walk and the recalls take the módulo too), a módulo shared with another queue that has people
waiting counts for half, and a normal ticket also waits for the preferential tickets that
will arrive meanwhile."""

from __future__ import annotations

import pytest

from turnero import calls, estimate, floor, tickets
from turnero.store import Store

RN, RC = 76, 88  # RENIEC's DNI queue and its certificates queue; módulos 1-5 serve both


def issue(store: Store, service: int = RN, **kw: object) -> dict:
    ticket, _ = tickets.issue_ticket(store, service_id=service, **kw)  # type: ignore[arg-type]
    return ticket


def attend(store: Store, clock, counter: int, walk_minutes: float, minutes: float) -> None:  # type: ignore[no-untyped-def]
    calls.call_next(store, counter, actor="asesor")
    clock.advance(minutes=walk_minutes)
    calls.start(store, counter, actor="asesor")
    clock.advance(minutes=minutes)
    calls.finish(store, counter, actor="asesor")


def test_the_time_per_citizen_runs_from_the_call_so_the_walk_counts(open_store_day, clock):
    store = open_store_day
    floor.change_counter(store, 1, "open", actor="asesor")
    for _ in range(3):
        issue(store)
        attend(store, clock, 1, walk_minutes=2, minutes=7.7)
    queue_pace = estimate.pace(store.reader(), store, "RN")
    assert queue_pace.minutes == pytest.approx(9.7)  # 2 walking + 7.7 attending, not 7.7
    for _ in range(3):
        issue(store)
    assert issue(store)["estimated_wait_minutes"] == 30  # ceil(3 ahead x 9.7 min), 1 módulo


def test_citizens_sent_away_in_seconds_still_count_a_minute_each(open_store_day, clock):
    store = open_store_day
    floor.change_counter(store, 1, "open", actor="asesor")
    for _ in range(5):
        issue(store)
        attend(store, clock, 1, walk_minutes=0.05, minutes=0.1)  # 9 seconds from the call
    assert estimate.pace(store.reader(), store, "RN").minutes == pytest.approx(1.0)
    for _ in range(20):
        issue(store)
    assert issue(store)["estimated_wait_minutes"] == 20  # 20 ahead x a minute, 1 módulo


def test_a_modulo_shared_with_a_queue_that_has_people_waiting_counts_for_half(open_store_day):
    store = open_store_day
    for n in (1, 2):
        floor.change_counter(store, n, "open", actor="asesor")
    for _ in range(4):
        issue(store)
    alone = issue(store)  # RC is empty: both módulos are RN's (15 min default each)
    assert alone["estimated_wait_minutes"] == 30  # 4 x 15 / 2
    issue(store, RC)
    queue_pace = estimate.pace(store.reader(), store, "RN")
    assert queue_pace.counters == 1.0 and queue_pace.open_counters == 2
    assert issue(store)["estimated_wait_minutes"] == 75  # 5 ahead x 15 / (2 halves)


def test_a_normal_ticket_waits_also_for_the_preferential_ones_arriving_meanwhile(
        open_store_day, clock):
    store = open_store_day
    floor.change_counter(store, 1, "open", actor="asesor")
    for priority in (None, None, None, "gestante"):  # one in four served was preferential
        issue(store, priority=priority)
        attend(store, clock, 1, walk_minutes=1, minutes=8.7)
    floor.change_counter(store, 2, "open", actor="asesor")
    for _ in range(3):
        issue(store)
    issue(store, priority="gestante")
    normal = issue(store)
    assert normal["ahead"] == 4  # the 4 ahead count as 4 / 0.75
    assert normal["estimated_wait_minutes"] == 26  # ceil(4 / 0.75 x 9.7 / 2)
    preferential = issue(store, priority="adulto_mayor")
    assert preferential["ahead"] == 1  # only the gestante goes first, later ones go after
    assert preferential["estimated_wait_minutes"] == 5  # ceil(1 x 9.7 / 2)


def test_the_preferential_share_is_capped_so_a_normal_wait_at_most_doubles(
        open_store_day, clock):
    store = open_store_day
    floor.change_counter(store, 1, "open", actor="asesor")
    for _ in range(4):
        issue(store, priority="gestante")
        attend(store, clock, 1, walk_minutes=1, minutes=8.7)
    for _ in range(4):
        issue(store)
    normal = issue(store)
    assert normal["ahead"] == 4
    assert normal["estimated_wait_minutes"] == 78  # ceil(4 x 9.7 x 2): share 1 capped at 0.5
