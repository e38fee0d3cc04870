"""The uplink: a 100,000-event backlog drains to the central receiver, and in steady state a new
event reaches the central within the sync interval + 5 s.

The central runs as ``mac-turnos central serve`` in its own process on 127.0.0.1 (as on its
own machine), on SQLite and on a throwaway PostgreSQL cluster; the box's sender runs in this
process with the default batch caps (500 events, 1 MB) against a fresh centre database whose
backlog is written beforehand (not measured). The steady-state phase runs the real scheduler
job and issues one ticket at a random moment of each interval; its latency runs from the
commit of the ticket to the event being stored at the central.

    .venv/bin/python -m bench.sync_drain [--runs 3] [--events 100000] [--interval 5]
        [--samples 5] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import tempfile
import time
from pathlib import Path

from appliance.runtime import open_store
from bench.common import Figure, arguments, cli, command, progress
from config.demo import demo_settings
from harness.pg_cluster import PgCluster
from harness.sync_support import CentralProcess, add_events
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.sender import Options, Sender
from sync.service import Uplink
from turnero import day, tickets

CHUNK = 5000


def _central(kind: str, root: Path, cluster: PgCluster | None) -> tuple[CentralProcess, str,
                                                                          Database]:
    url = f"sqlite:///{root}/central.sqlite" if kind == "sqlite" else (
        cluster.new_database() if cluster else "")
    db = Database(url)
    db.migrate()
    token = add_centre(db, demo_settings().centre.code)
    server = CentralProcess(url, root / "central.log")
    server.start()
    return server, token, db


def drain_once(kind: str, events: int, cluster: PgCluster | None) -> float:
    """Seconds for ``events`` pending events to be acknowledged by the central."""
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        root = Path(tmp)
        settings = demo_settings()
        store = open_store(settings, root)
        for start in range(0, events, CHUNK):
            add_events(store, min(CHUNK, events - start))
        server, token, db = _central(kind, root, cluster)
        try:
            options = Options(centre=settings.centre.code, url=f"http://127.0.0.1:{server.port}",
                              token=token, secret=b"bench", timeout=60)
            sender = Sender(store, options)
            began = time.perf_counter()
            outcome = sender.round()
            seconds = time.perf_counter() - began
            stored = db.conn().query("SELECT COUNT(*) AS n FROM events")[0]["n"]
            if outcome != "idle" or stored < events:
                raise RuntimeError(f"drain ended {outcome} with {stored} of {events} stored")
            sender.close()
            return seconds
        finally:
            server.kill()
            db.close()
            store.close()


def steady_state(kind: str, interval: int, samples: int, cluster: PgCluster | None,
                 rng: random.Random) -> list[float]:
    """Seconds from a ticket's commit to its event stored at the central, per sample."""
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        root = Path(tmp)
        server, token, db = _central(kind, root, cluster)
        base = demo_settings()
        settings = dataclasses.replace(base, uplink=dataclasses.replace(
            base.uplink, enabled=True, central_url=f"http://127.0.0.1:{server.port}",
            token=token, secret="bench", interval_seconds=interval))
        store = open_store(settings, root)
        day.open_day(store, actor="bench")
        link = Uplink(store, settings)
        link.start()
        out = []
        try:
            for _ in range(samples):
                time.sleep(rng.uniform(0, interval))
                ticket, _ = tickets.issue_ticket(store, service_id=76, actor="bench")
                began = time.perf_counter()
                deadline = began + interval + 30
                while not db.conn().query("SELECT 1 AS ok FROM events WHERE ticket = ?",
                                          (ticket["uid"],)):
                    if time.perf_counter() > deadline:
                        raise RuntimeError("the event never reached the central")
                    time.sleep(0.02)
                out.append(time.perf_counter() - began)
        finally:
            link.stop()
            server.kill()
            db.close()
            store.close()
        return out


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=3)
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--interval", type=int, default=5, help="[uplink] interval_seconds")
    p.add_argument("--samples", type=int, default=5, help="steady-state events per run")
    p.add_argument("--backends", default="sqlite,postgresql")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("sync_drain", argv)
    kinds = [k for k in args.backends.split(",") if k]
    cluster = PgCluster().start() if "postgresql" in kinds else None
    rng = random.Random(20261127)
    figures: list[Figure] = []
    try:
        for kind in kinds:
            name = "PostgreSQL" if kind == "postgresql" else "SQLite"
            drain = Figure(f"sync.drain.{kind}", f"Uplink: {args.events:,}-event backlog "
                           f"drains to the central ({name})", "s", ("<=", 60), cmd)
            rate = Figure(f"sync.drain_rate.{kind}", f"Uplink: drain rate ({name})",
                          "events/s", None, cmd)
            latency = Figure(f"sync.steady.{kind}", f"Uplink: steady state, slowest event "
                             f"to reach the central, interval {args.interval} s ({name})",
                             "s", ("<=", args.interval + 5), cmd)
            for n in range(1, args.runs + 1):
                seconds = drain_once(kind, args.events, cluster)
                drain.add(seconds)
                rate.add(args.events / seconds)
                samples = steady_state(kind, args.interval, args.samples, cluster, rng)
                latency.add(max(samples))
                progress(f"sync {kind} run {n}: drained {args.events} in {seconds:.1f} s "
                         f"({args.events / seconds:.0f}/s); steady state max "
                         f"{max(samples):.1f} s of {len(samples)}")
            figures += [drain, rate, latency]
    finally:
        if cluster is not None:
            cluster.stop()
    return figures


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
