"""The anti-starvation wait (``max_normal_wait_minutes``) counts a normal ticket's wait in the
queue, in the real engine: a ticket that re-enters at the front (a reactivated no-show, a
transfer with ``position=front``) neither passes a preferential citizen as a "long wait" nor
hides the normal ticket that really waited longest."""

from __future__ import annotations

import pytest

from turnero import calls, floor, policy, tickets
from turnero.store import Store

RN = 76


def _issue(store: Store, priority: str = "normal") -> dict:
    return tickets.issue_ticket(store, service_id=RN, priority=priority,
                                channel="reception")[0]


@pytest.fixture
def modulo(open_store_day: Store) -> int:
    """An open RENIEC módulo, with the anti-starvation wait at 30 minutes on RN."""
    store = open_store_day
    store.write(lambda tx: tx.execute(
        "UPDATE queues SET max_normal_wait_minutes = 30 WHERE code = 'RN'"))
    counter = store.reader().execute(
        "SELECT MIN(c.id) FROM counters c JOIN counter_queues cq ON cq.counter = c.id "
        "WHERE cq.queue = 'RN' AND c.active").fetchone()[0]
    floor.change_counter(store, counter, "open", actor="test")
    return counter


def test_a_reactivated_no_show_at_the_front_does_not_pass_a_preferential_as_a_long_wait(
        open_store_day: Store, modulo: int, clock) -> None:
    store = open_store_day
    absent = _issue(store)
    assert calls.call_next(store, modulo)["uid"] == absent["uid"]
    calls.no_show(store, modulo)
    clock.advance(minutes=45)  # it entered the queue 45 minutes ago, then left it
    elder = _issue(store, "adulto_mayor")
    tickets.reactivate(store, absent["uid"], position="front")
    called = calls.call_next(store, modulo)
    assert (called["uid"], called["rule"]) == (elder["uid"], policy.PREFERENTIAL)


def test_the_normal_ticket_longest_in_the_queue_is_found_behind_one_put_at_the_front(
        open_store_day: Store, modulo: int, clock) -> None:
    store = open_store_day
    absent = _issue(store)
    assert calls.call_next(store, modulo)["uid"] == absent["uid"]
    calls.no_show(store, modulo)
    starved = _issue(store)
    clock.advance(minutes=40)
    tickets.reactivate(store, absent["uid"], position="front")
    elder = _issue(store, "adulto_mayor")
    called = calls.call_next(store, modulo)
    assert (called["uid"], called["rule"]) == (starved["uid"], policy.MAX_NORMAL_WAIT)
    calls.start(store, modulo)
    calls.finish(store, modulo)
    assert calls.call_next(store, modulo)["uid"] == elder["uid"]
