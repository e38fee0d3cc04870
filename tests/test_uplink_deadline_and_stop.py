"""The uplink never holds the box: its timeout is a deadline for the whole request (a
central trickling its answer is cut there), a stop cuts a hung send instead of waiting for
it, a running box logs changes of state rather than every round, and ``uplink send`` sends
until nothing is pending or a real error, and says which."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from appliance.runtime import open_store
from config import load_settings
from harness.live_server import LiveServer, add_uplink, write_config
from harness.sync_support import (  # noqa: F401
    FaultProxy,
    add_events,
    central,
    central_db,
    make_sender,
    pg_kind,
    post_in_thread,
    proxy,
    token,
)
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.service import Uplink
from sync.transport import Transport
from tests.waiting import wait_until
from turnero import outbox
from turnero.store import Store

SQLITE_ONLY = pytest.mark.parametrize("pg_kind", ["sqlite"])  # the box's side: one is enough


def _box(tmp_path: Path, central_url: str, token: str, **uplink: object) -> tuple[Path, Path]:
    config = write_config(tmp_path / "centre.toml", queues=2, counters=2)
    add_uplink(config, central_url, token, **uplink)
    state = tmp_path / "state"
    state.mkdir()
    return config, state


@SQLITE_ONLY
def test_a_central_trickling_its_answer_is_cut_at_the_deadline(
        open_store_day: Store, proxy: FaultProxy, token: str) -> None:
    store = open_store_day
    add_events(store, 5)
    proxy.default, proxy.delay = "trickle", 0.25  # 60 bytes at 4 a second: 15 s of answer
    sender = make_sender(store, proxy.url, token, timeout=1.0)
    assert sender.send_batch() == "failed"
    assert outbox.status(store.reader(), "central")["last_error"].startswith("timeout")
    assert proxy.trickle_cut.wait(10), "the sender waited for the trickle to end"
    assert outbox.acked_seq(store.reader(), "central") == 0


@SQLITE_ONLY
def test_a_stop_during_a_hung_send_ends_the_server_at_once_and_cleanly(
        tmp_path: Path, proxy: FaultProxy, central_db: Database) -> None:
    config, state = _box(tmp_path, proxy.url, add_centre(central_db, "bench"),
                         interval_seconds=1, timeout_seconds=60)
    proxy.default, proxy.hold = "timeout", 120  # the central takes the batch and never answers
    server = LiveServer(state, config)
    server.start()
    try:
        wait_until(lambda: proxy.inflight >= 1, timeout=30, what="a send in flight")
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        # Well before the send's own 60 s limit, or the central's 120 s: it must not wait.
        assert server.proc.wait(timeout=20) == 0
    finally:
        proxy.released.set()
        server.stop()
    log = server.log.read_text(encoding="utf-8")
    assert "Traceback" not in log and "closed database" not in log, log[-3000:]


@SQLITE_ONLY
def test_a_running_box_logs_the_uplink_once_not_every_round(
        tmp_path: Path, proxy: FaultProxy, central_db: Database) -> None:
    config, state = _box(tmp_path, proxy.url, add_centre(central_db, "bench"),
                         interval_seconds=1)
    server = LiveServer(state, config)
    server.start()
    try:
        wait_until(lambda: len(proxy.bodies) >= 5, timeout=60, what="five uplink rounds")
    finally:
        server.stop()
    lines = server.log.read_text(encoding="utf-8").splitlines()
    assert [line for line in lines if "apscheduler" in line] == []
    uplink = [line for line in lines if "sync.uplink" in line]
    assert len(uplink) == 1 and "every 1 s" in uplink[0], uplink


def _send(config: Path, state: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance", "--config", str(config),
                           "--state-dir", str(state), "uplink", "send"],
                          capture_output=True, text=True, timeout=120)


@SQLITE_ONLY
def test_uplink_send_sends_everything_however_long_it_takes(
        tmp_path: Path, proxy: FaultProxy, central_db: Database) -> None:
    config, state = _box(tmp_path, proxy.url, add_centre(central_db, "bench"),
                         interval_seconds=1, batch_events=20)
    store = open_store(load_settings(config), state)
    add_events(store, 600)
    store.close()
    proxy.default, proxy.delay = "slow", 0.05  # 30 batches: longer than the interval
    done = _send(config, state)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pendientes 0" in done.stdout and "Todo enviado" in done.stdout


@SQLITE_ONLY
def test_uplink_send_stops_on_a_real_error_and_says_it(
        tmp_path: Path, proxy: FaultProxy, central_db: Database) -> None:
    config, state = _box(tmp_path, proxy.url, add_centre(central_db, "bench"))
    store = open_store(load_settings(config), state)
    add_events(store, 30)
    store.close()
    proxy.default = "500"
    done = _send(config, state)
    assert done.returncode == 1
    assert "http_500" in done.stderr and "pendientes 30" in done.stdout


@SQLITE_ONLY
def test_a_round_due_while_a_send_hangs_is_not_skipped_with_a_warning(
        tmp_path: Path, proxy: FaultProxy, central_db: Database,
        caplog: pytest.LogCaptureFixture) -> None:
    """The uplink's rounds come due while a send hangs on a slow central: each one finds
    the round in flight and returns at once, without APScheduler's warning for a skipped
    run at every interval (other jobs' warnings are not filtered away for this)."""
    config, state = _box(tmp_path, proxy.url, add_centre(central_db, "bench"),
                         interval_seconds=1, timeout_seconds=60)
    store = open_store(load_settings(config), state)
    add_events(store, 5)
    proxy.default, proxy.hold = "timeout", 60
    uplink = Uplink(store, load_settings(config))
    outcomes: list[str] = []
    real_round = uplink.run_round

    def counted_round(**kw: bool) -> str:
        outcome = real_round(**kw)
        outcomes.append(outcome)
        return outcome

    uplink.run_round = counted_round  # type: ignore[method-assign]
    caplog.set_level(logging.INFO, logger="apscheduler")
    uplink.start()
    try:
        wait_until(lambda: outcomes.count("busy") >= 2, timeout=20,
                   what="two rounds due while the first send hangs")
    finally:
        uplink.stop()
        proxy.released.set()
        store.close()
    assert not [r for r in caplog.records if r.name.startswith("apscheduler")
                and r.levelno >= logging.WARNING]


def test_a_stop_ends_a_send_still_trying_to_connect() -> None:
    """A central whose address swallows the connection attempt (its queue full: the SYN
    gets no answer): the stop must not wait for the connect's own timeout."""
    swallower = socket.socket()
    swallower.bind(("127.0.0.1", 0))
    swallower.listen(0)
    port = swallower.getsockname()[1]
    queued = []
    for _ in range(3):  # fill the listen queue: later attempts hang in SYN_SENT
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        queued.append(s)
    transport = Transport(f"http://127.0.0.1:{port}", timeout=120)
    sender, failed = post_in_thread(transport, "/api/v1/ingest")
    try:
        wait_until(lambda: transport._inflight is not None and
                   transport._inflight.conn is not None, timeout=10, what="a connect")
        transport.abort()
        sender.join(20)  # well before the connect's own 120 s
        assert not sender.is_alive()
        assert [e.kind for e in failed] == ["stopped"]
    finally:
        for s in queued:
            s.close()
        swallower.close()


def test_a_stop_during_the_name_lookup_connects_nowhere(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A stop that comes while the central's name is still being looked up (a slow DNS):
    the send ends at once and no connection is made after it."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.setblocking(False)
    looking_up, answer = threading.Event(), threading.Event()
    real_lookup = socket.getaddrinfo

    def slow_lookup(*args: object, **kwargs: object) -> object:
        looking_up.set()
        answer.wait(10)
        return real_lookup(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", slow_lookup)
    transport = Transport(f"http://127.0.0.1:{listener.getsockname()[1]}", timeout=120)
    sender, failed = post_in_thread(transport, "/api/v1/ingest")
    try:
        assert looking_up.wait(10)
        transport.abort()
        answer.set()
        sender.join(20)  # well before the request's own 120 s
        assert not sender.is_alive() and [e.kind for e in failed] == ["stopped"]
        with pytest.raises(BlockingIOError):
            listener.accept()  # nothing connected
    finally:
        answer.set()
        listener.close()
