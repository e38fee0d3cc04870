"""Resident memory of an idle server.

Per run, on a fresh server: a warm-up of a few hundred requests from 16 concurrent clients
(tickets issued, health and queue views read, módulos calling and releasing tickets), then
``--idle`` seconds without traffic, then the RSS and PSS of the server's processes
(the server and any child) from /proc/<pid>/smaps_rollup.

    .venv/bin/python -m bench.idle_rss [--runs 5] [--idle 2]
"""

from __future__ import annotations

import argparse
import time

from bench.common import (
    Bench,
    Client,
    Figure,
    arguments,
    cli,
    command,
    crowd,
    issue_many,
    open_counters,
    progress,
    rss_kib,
    running,
)

MIB = 1024  # /proc reports KiB


def warm_up(bench: Bench, clients: int, tickets: int, counters: int) -> int:
    """A mixed few hundred requests; returns how many were sent."""
    issue_many(bench, tickets, clients=clients)
    open_counters(bench, counters)
    sent = [0] * clients

    def work(i: int, staff: Client) -> None:
        with Client(bench.port, bench.kiosk) as kiosk:
            for _ in range(5):
                kiosk.get("/api/v1/health")
                staff.get("/api/v1/queues")
                staff.get("/api/v1/counters")
                sent[i] += 3
            if i < counters:
                for _ in range(3):
                    staff.post(f"/api/v1/counters/{i + 1}/call-next", {})
                    staff.post(f"/api/v1/counters/{i + 1}/no-show", {})
                    sent[i] += 2

    crowd(bench.port, bench.staff, clients, work)
    return tickets + counters + sum(sent)


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=5)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--tickets", type=int, default=200, help="tickets issued in the warm-up")
    p.add_argument("--counters", type=int, default=8, help="módulos calling in the warm-up")
    p.add_argument("--idle", type=float, default=2.0, help="seconds idle before reading")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("idle_rss", argv)
    rss = Figure("idle_rss", "Idle server RSS after warm-up (all its processes)", "MiB",
                 ("<=", 120), cmd)
    pss = Figure("idle_pss", "Idle server PSS after warm-up (all its processes)", "MiB", None,
                 cmd)
    for n in range(1, args.runs + 1):
        with running() as bench:
            requests = warm_up(bench, args.clients, args.tickets, args.counters)
            time.sleep(args.idle)
            now, proportional = rss_kib(bench.pid)
        rss.add(now / MIB)
        pss.add(proportional / MIB)
        progress(f"idle rss run {n}: RSS {now / MIB:.1f} MiB, PSS {proportional / MIB:.1f} MiB "
                 f"after {requests} requests")
    return [rss, pss]


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
