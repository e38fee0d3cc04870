"""The uplink against the real receiver (SQLite and PostgreSQL) through a proxy that fails on
purpose: whatever the failure, every event reaches the central exactly once, the watermark
moves only on the central's per-event answer, the backlog drains after recovery, the log is
not flooded, and issuing a ticket does not wait for the uplink."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import logging
import statistics
import threading
import time

import pytest

from sync.sender import Sender
from tests.sync_support import (  # noqa: F401
    Central,
    FakeTime,
    FaultProxy,
    add_events,
    assert_exactly_once,
    central,
    central_db,
    drain,
    make_sender,
    pg,
    pg_kind,
    proxy,
    token,
)
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


def _issue_latencies(store: Store, n: int) -> list[float]:
    out = []
    for i in range(n):
        t0 = time.perf_counter()
        tickets.issue_ticket(store, service_id=76, document=f"{40000000 + i:08d}",
                             name="Ana Quispe", channel="reception", actor="orientador")
        out.append(time.perf_counter() - t0)
    return out


@pytest.mark.parametrize("failure", ["timeout", "down"])
def test_issuing_a_ticket_is_not_slowed_while_the_uplink_is_down(
        open_store_day: Store, proxy: FaultProxy, central_db, token: str,
        failure: str) -> None:
    store = open_store_day
    add_events(store, 2000)  # a backlog, as after hours without the central
    _issue_latencies(store, 20)  # warm-up
    proxy.default, proxy.hold = failure, 0.5
    sender = make_sender(store, proxy.url, token, clock=time.monotonic, timeout=0.2,
                         backoff_cap=0.05, batch_events=500)
    stop, sending = threading.Event(), threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            if not sending.wait(0.01):
                continue
            if sender.round() == "waiting":
                time.sleep(0.005)

    # Quiet and failing-uplink samples alternate in short rounds, so a change in the
    # machine's other load affects both sides alike.
    baseline: list[float] = []
    down: list[float] = []
    worker = threading.Thread(target=hammer)
    worker.start()
    try:
        for _ in range(10):
            sending.clear()
            time.sleep(0.25)  # lets a round in flight (timeout 0.2 s) end
            baseline += _issue_latencies(store, 15)
            sending.set()
            time.sleep(0.05)
            down += _issue_latencies(store, 15)
    finally:
        stop.set()
        worker.join(5)
    assert sender.failures >= 1
    base, slow = statistics.median(baseline), statistics.median(down)
    assert slow <= 2 * base + 0.002, (base, slow)


def test_a_sender_refuses_plain_http_beyond_loopback(open_store_day: Store) -> None:
    with pytest.raises(ValueError, match="127.0.0.1"):
        make_sender(open_store_day, "http://192.0.2.10:8090", "x")
    secure = make_sender(open_store_day, "https://central.example", "x")
    assert isinstance(secure, Sender) and secure.transport.context is not None
    assert secure.transport.context.verify_mode.name == "CERT_REQUIRED"
