"""The uplink never holds the box: how long a box takes to stop (SIGTERM) while its send
hangs on a central that took the batch and never answers, and how long a send to a central
trickling its answer (a byte every 0.5 s) lasts with a 5 s timeout.

The box is a real ``mac-turnos serve`` on 127.0.0.1 with its uplink every second; the
central is the real receiver (SQLite) behind the tests' fault proxy, in this process.

    .venv/bin/python -m bench.uplink_stop [--runs 5]
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import time
from pathlib import Path

from appliance.runtime import open_store
from bench.common import Figure, arguments, cli, command, progress
from config import load_settings
from harness.live_server import LiveServer, add_uplink, write_config
from harness.sync_support import Central, FaultProxy, add_events, make_sender
from sync.central.db import Database
from sync.central.ingest import add_centre
from tests.waiting import wait_until
from turnero import day

TIMEOUT_S = 5.0


def _central(root: Path) -> tuple[Central, FaultProxy, str]:
    db = Database(f"sqlite:///{root}/central.sqlite")
    db.migrate()
    token = add_centre(db, "bench")
    central = Central(db).start()
    return central, FaultProxy(central.port).start(), token


def stop_once(root: Path) -> float:
    """Seconds from SIGTERM to the box's exit while its send hangs."""
    central, proxy, token = _central(root)
    config = add_uplink(write_config(root / "centre.toml", queues=2, counters=2),
                        proxy.url, token, interval_seconds=1, timeout_seconds=60)
    state = root / "state"
    state.mkdir()
    proxy.default, proxy.hold = "timeout", 120
    # Not advertised: zeroconf's start-up (about 2 s) would still be under way when the
    # first send hangs, and its end, not the uplink's, would be timed.
    server = LiveServer(state, config, serve_args=("--no-advertise",))
    server.start()
    try:
        wait_until(lambda: proxy.inflight >= 1, timeout=30, what="a send in flight")
        assert server.proc is not None
        began = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        server.proc.wait(timeout=120)
        return time.monotonic() - began
    finally:
        proxy.released.set()
        server.stop()
        proxy.stop()
        central.stop()


def trickle_once(root: Path) -> float:
    """Seconds a send lasts against a central trickling its answer, timeout 5 s."""
    central, proxy, token = _central(root)
    config = write_config(root / "centre.toml", queues=2, counters=2)
    store = open_store(load_settings(config), root)
    try:
        day.open_day(store, actor="bench")
        add_events(store, 20)
        proxy.default, proxy.delay, proxy.trickle_bytes = "trickle", 0.5, 600
        sender = make_sender(store, proxy.url, token, timeout=TIMEOUT_S)
        began = time.monotonic()
        outcome = sender.send_batch()
        seconds = time.monotonic() - began
        if outcome != "failed":
            raise RuntimeError(f"the trickled send ended {outcome}")
        sender.close()
        return seconds
    finally:
        store.close()
        proxy.stop()
        central.stop()


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("uplink_stop", argv)
    stop = Figure("uplink.stop_hung_send", "Uplink: SIGTERM to exit while a send hangs on a "
                  "central that never answers", "s", ("<=", 3.0), cmd)
    trickle = Figure("uplink.trickle_cut", f"Uplink: a send to a central trickling its answer "
                     f"(a byte every 0.5 s), timeout {TIMEOUT_S:g} s", "s",
                     ("<=", TIMEOUT_S + 1.0), cmd)
    for n in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="bench-uplink-") as tmp:
            stop.add(stop_once(Path(tmp)))
        with tempfile.TemporaryDirectory(prefix="bench-uplink-") as tmp:
            trickle.add(trickle_once(Path(tmp)))
        progress(f"run {n}: stop {stop.values[-1]:.2f} s, trickle cut after "
                 f"{trickle.values[-1]:.2f} s")
    return [stop, trickle]


def parser() -> argparse.ArgumentParser:
    return arguments(__doc__, runs=5)


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
