"""The uplink against the real receiver (SQLite and PostgreSQL) through a proxy that fails on
purpose: whatever the failure, every event reaches the central exactly once, the watermark
moves only on the central's per-event answer, the backlog drains after recovery, the log is
not flooded, and issuing a ticket does not wait for the uplink."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import logging
import threading

import pytest

from harness.sync_support import (  # noqa: F401
    Central,
    FakeTime,
    FaultProxy,
    add_events,
    assert_exactly_once,
    central,
    central_db,
    drain,
    make_sender,
    pg_kind,
    proxy,
    token,
)
from sync.sender import Sender
from tests.waiting import wait_until
from turnero import outbox, tickets
from turnero.store import Store

FAILING = ("down", "500", "409", "captive", "bare_json", "timeout")
DELIVERING = ("slow", "duplicate", "lost_answer", "partial_answer")


def acked(store: Store) -> int:
    return outbox.acked_seq(store.reader(), "central")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def uplink_log():
    handler = Records()
    logger = logging.getLogger("sync.uplink")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(old)


@pytest.mark.parametrize("mode", FAILING)
def test_a_failed_delivery_moves_nothing_and_the_backlog_drains_after_recovery(
        open_store_day: Store, proxy: FaultProxy, central_db, token: str, mode: str) -> None:
    store = open_store_day
    add_events(store, 120)
    proxy.hold = 1.0  # "timeout": longer than the sender waits
    proxy.modes.extend([mode] * 3)
    clock = FakeTime()
    sender = make_sender(store, proxy.url, token, clock=clock, timeout=0.3)
    assert sender.round() == "failed"
    assert acked(store) == 0
    assert outbox.status(store.reader(), "central")["last_error"]
    assert drain(sender, clock) == "idle"
    assert_exactly_once(store, central_db)
    assert outbox.status(store.reader(), "central")["last_error"] is None


@pytest.mark.parametrize("mode", DELIVERING)
def test_slow_duplicated_lost_or_partial_answers_still_store_every_event_once(
        open_store_day: Store, proxy: FaultProxy, central_db, token: str, mode: str) -> None:
    store = open_store_day
    add_events(store, 120)
    proxy.delay = 0.2
    proxy.modes.extend([mode] * 4)
    clock = FakeTime()
    sender = make_sender(store, proxy.url, token, clock=clock, timeout=2.0)
    assert drain(sender, clock) == "idle"
    assert_exactly_once(store, central_db)


def test_a_long_outage_backs_off_to_the_cap_logs_one_line_and_drains_when_it_ends(
        open_store_day: Store, proxy: FaultProxy, central_db, token: str, uplink_log) -> None:
    store = open_store_day
    proxy.default = "down"
    clock = FakeTime()
    sender = make_sender(store, proxy.url, token, clock=clock, backoff_cap=300.0)
    waits = []
    for hour in range(72):  # three days without the central, tickets issued all along
        add_events(store, 5)
        while True:
            if sender.round() == "waiting":
                break
            waits.append(sender.next_attempt - clock())
        clock.advance(3600 if hour % 10 == 0 else sender.next_attempt - clock())
    assert len(waits) > 60
    assert max(waits) <= 300.0 and waits[-1] >= 150.0  # capped, with jitter
    assert waits[:4] == [0.75, 1.5, 3.0, 6.0]  # exponential from 1 s (jitter fixed at 0.5)
    assert [r.levelname for r in uplink_log] == ["WARNING"]
    assert acked(store) == 0 and outbox.status(store.reader(), "central")["backlog"] == 361
    proxy.default = "pass"
    clock.advance(301)
    assert sender.round() == "idle"
    assert_exactly_once(store, central_db)
    assert [r.levelname for r in uplink_log] == ["WARNING", "INFO"]


def test_a_flapping_link_delivers_everything_once(
        open_store_day: Store, proxy: FaultProxy, central_db, token: str) -> None:
    store = open_store_day
    add_events(store, 200)
    proxy.hold = 0.5
    proxy.modes.extend(["pass", "down", "500", "pass", "timeout", "duplicate", "captive",
                        "lost_answer", "pass", "409", "partial_answer", "down"] * 3)
    clock = FakeTime()
    sender = make_sender(store, proxy.url, token, clock=clock, batch_events=10, timeout=0.2)
    assert drain(sender, clock, rounds=400) == "idle"
    assert_exactly_once(store, central_db)


def test_the_central_down_refuses_and_the_backlog_drains_once_it_is_back(
        open_store_day: Store, central: Central, central_db, token: str) -> None:
    store = open_store_day
    add_events(store, 80)
    central.stop()
    clock = FakeTime()
    sender = make_sender(store, central.url, token, clock=clock)
    assert sender.round() == "failed"
    assert "rechazada" in outbox.status(store.reader(), "central")["last_error"]
    central.start()
    assert drain(sender, clock) == "idle"
    assert_exactly_once(store, central_db)


def test_refused_events_are_kept_with_the_reason_and_do_not_stall_the_rest(
        open_store_day: Store, proxy: FaultProxy, central_db, token: str) -> None:
    store = open_store_day
    add_events(store, 30)
    add_events(store, 2, kind="Not.A.Kind")  # the real receiver refuses these
    add_events(store, 30)
    clock = FakeTime()
    sender = make_sender(store, proxy.url, token, clock=clock, batch_events=20)
    assert drain(sender, clock) == "idle"
    refused = outbox.rejects(store.reader(), "central")
    assert [(r["kind"], r["reason"]) for r in refused] == [("Not.A.Kind", "kind inválido")] * 2
    assert_exactly_once(store, central_db, rejected={r["uid"] for r in refused})
    assert outbox.status(store.reader(), "central")["rejected"] == 2


def test_refused_events_get_one_log_line_per_batch_not_one_each(
        open_store_day: Store, proxy: FaultProxy, central_db, token: str, uplink_log) -> None:
    store = open_store_day
    add_events(store, 100, kind="Not.A.Kind")  # the real receiver refuses every one
    clock = FakeTime()
    sender = make_sender(store, proxy.url, token, clock=clock, batch_events=50)
    assert drain(sender, clock) == "idle"
    assert outbox.status(store.reader(), "central")["rejected"] == 100
    refusals = [r.getMessage() for r in uplink_log if "refused" in r.getMessage()]
    # The log holds the day's opening too: 101 events, three batches of at most 50.
    assert len(refusals) == 3 and all("× kind inválido" in m for m in refusals), refusals


def test_the_watermark_survives_a_restart_and_nothing_is_sent_twice(
        open_store_day: Store, proxy: FaultProxy, central_db, token: str) -> None:
    store = open_store_day
    add_events(store, 100)
    first = make_sender(store, proxy.url, token, batch_events=40)
    assert first.send_batch() == "sent"
    first.close()
    mark = acked(store)
    assert mark == store.reader().execute("SELECT MIN(seq) + 39 FROM events").fetchone()[0]
    second = make_sender(store, proxy.url, token, batch_events=40)
    assert second.round() == "idle"
    import json
    seqs = [e["seq"] for body in proxy.bodies for e in json.loads(body)["events"]]
    assert len(seqs) == len(set(seqs)) == 101  # 100 + day.opened: the second began after the mark
    assert_exactly_once(store, central_db)


def test_a_batch_respects_the_count_and_byte_caps(
        open_store_day: Store, proxy: FaultProxy, central_db, token: str) -> None:
    import json
    store = open_store_day
    add_events(store, 300)
    sender = make_sender(store, proxy.url, token, batch_events=100, batch_bytes=10_000)
    assert sender.round() == "idle"
    sizes = [len(json.loads(b)["events"]) for b in proxy.bodies]
    assert max(sizes) < 100 and sum(sizes) == 301  # and day.opened
    assert all(len(b) < 10_000 + 2_000 for b in proxy.bodies)  # the cap, plus the header
    assert_exactly_once(store, central_db)


def test_issuing_a_ticket_does_not_wait_for_a_send_in_flight(
        open_store_day: Store, proxy: FaultProxy, central_db, token: str) -> None:
    store = open_store_day
    add_events(store, 2000)  # a backlog, as after hours without the central
    proxy.default, proxy.hold = "timeout", 120.0  # the central never answers until released
    clock = FakeTime()
    sender = make_sender(store, proxy.url, token, clock=clock, timeout=240, batch_events=500)
    outcome: list[str] = []
    sending = threading.Thread(target=lambda: outcome.append(sender.round()))
    sending.start()
    try:
        wait_until(lambda: proxy.inflight == 1, what="a send in flight")
        issued = [tickets.issue_ticket(store, service_id=76, document=f"{40000000 + i:08d}",
                                       name="Ana Quispe", channel="reception",
                                       actor="orientador")[0]["uid"] for i in range(20)]
        assert proxy.inflight == 1 and not outcome  # all issued while the send still hangs
    finally:
        proxy.released.set()
        sending.join(30)
    assert outcome == ["failed"] and sender.failures == 1
    assert len(set(issued)) == 20
    proxy.default = "pass"
    assert drain(sender, clock) == "idle"
    assert_exactly_once(store, central_db)


def test_a_sender_refuses_plain_http_beyond_loopback(open_store_day: Store) -> None:
    with pytest.raises(ValueError, match="127.0.0.1"):
        make_sender(open_store_day, "http://192.0.2.10:8090", "x")
    secure = make_sender(open_store_day, "https://central.example", "x")
    assert isinstance(secure, Sender) and secure.transport.context is not None
    assert secure.transport.context.verify_mode.name == "CERT_REQUIRED"
