"""Crashes on either side: the box's sender killed with SIGKILL in the middle of a batch
(before and after the central stored it), and the central killed while it handles a batch
(SQLite and PostgreSQL). Afterwards every event is at the central exactly once."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from appliance.runtime import open_store
from config import load_settings
from harness.live_server import add_uplink, write_config
from harness.sync_support import (  # noqa: F401
    CentralProcess,
    FakeTime,
    FaultProxy,
    add_events,
    assert_exactly_once,
    central,
    central_db,
    database_url,
    drain,
    make_sender,
    pg_kind,
    proxy,
    token,
)
from sync.central.db import Database
from sync.central.ingest import add_centre
from tests.waiting import wait_until
from turnero.store import Store


def _wait(condition, timeout: float = 20.0) -> None:
    wait_until(condition, timeout=timeout)


def _box(tmp_path: Path, central_url: str, token: str) -> tuple[Path, Path]:
    config = write_config(tmp_path / "centre.toml", queues=2, counters=2)
    add_uplink(config, central_url, token, batch_events=100, timeout_seconds=60)
    state = tmp_path / "state"
    state.mkdir()
    return config, state


def _sender(config: Path, state: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "appliance", "--config", str(config),
                             "--state-dir", str(state), "uplink", "send"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _count(db: Database, centre: str) -> int:
    return db.conn().query("SELECT COUNT(*) AS n FROM events WHERE centre = ?",
                           (centre,))[0]["n"]


@pytest.mark.parametrize("pg_kind", ["sqlite"])  # the box's side: one receiver is enough
def test_a_box_killed_mid_batch_sends_every_event_once_after_it_restarts(
        tmp_path: Path, proxy: FaultProxy, central_db: Database) -> None:
    tok = add_centre(central_db, "bench")
    config, state = _box(tmp_path, proxy.url, tok)
    store = open_store(load_settings(config), state)
    add_events(store, 350)
    store.close()
    proxy.hold = 60
    # Killed while its first batch waits to reach the central: nothing was stored.
    proxy.modes.append("hold_before")
    box = _sender(config, state)
    _wait(lambda: proxy.inflight == 1)
    box.kill()
    box.wait(10)
    assert _count(central_db, "bench") == 0
    # Killed after the central stored its batch, before the answer came back.
    proxy.modes.append("hold_after")
    box = _sender(config, state)
    _wait(lambda: _count(central_db, "bench") == 100)
    box.kill()
    box.wait(10)
    done = subprocess.run(_sender(config, state).args, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "pendientes 0" in done.stdout
    store = open_store(load_settings(config), state)
    try:
        assert_exactly_once(store, central_db, centre="bench")
    finally:
        store.close()


def test_a_central_killed_while_storing_a_batch_loses_and_doubles_nothing(
        open_store_day: Store, tmp_path: Path, request, pg_kind: str) -> None:
    url = database_url(pg_kind, tmp_path, request)
    db = Database(url)
    db.migrate()
    tok = add_centre(db, "demo-lima-norte")
    server = CentralProcess(url, tmp_path / "central.log")
    proxy = FaultProxy(server.port).start()
    store = open_store_day
    add_events(store, 3000)
    clock = FakeTime()
    sender = make_sender(store, proxy.url, tok, clock=clock, batch_events=500, timeout=30)
    rng = random.Random(7)
    try:
        for _ in range(3):
            server.start()
            worker = threading.Thread(target=sender.round)
            worker.start()
            _wait(lambda: proxy.inflight > 0)
            time.sleep(rng.uniform(0.0, 0.03))
            server.kill()  # while the proxy still waits for its answer
            worker.join(30)
            clock.advance(3600)
        server.start()
        assert drain(sender, clock) == "idle"
        assert_exactly_once(store, db)
    finally:
        server.kill()
        proxy.stop()
        db.close()
