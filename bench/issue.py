"""Issuing tickets at 16 concurrent kiosk clients into 4 queues.

Two modes, each on a fresh server per run (after an unmeasured warm-up of a few tickets per
client, so every waitress thread has opened its SQLite reader):

* closed loop: 16 threads issue as fast as they can (``--tickets`` in all); figures are the
  throughput and the per-request latency. With 16 requests always in flight the latency is
  16 / throughput by Little's law, so it says more about the queue than about one request.
* open loop: 16 clients, each on its own fixed schedule, together offer ``--rate`` tickets/s
  (``--paced-tickets`` in all). Latency runs from the scheduled send time to the end of the
  response, so a client that falls behind its schedule counts the delay (no coordinated
  omission).

    .venv/bin/python -m bench.issue [--runs 3] [--tickets 4000] [--rate 300]
"""

from __future__ import annotations

import argparse
import threading
import time

from bench.common import (
    QUEUES,
    Bench,
    Client,
    Figure,
    command,
    emit,
    issue_many,
    percentile,
    progress,
    running,
)

WARMUP_PER_CLIENT = 20


def closed_loop(bench: Bench, clients: int, total: int,
                deadline: float) -> tuple[float, list[float], int]:
    """(tickets/s, latencies in s, errors) of ``clients`` threads issuing flat out."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def work(i: int) -> None:
        client = Client(bench.port, bench.kiosk)
        try:
            gate.wait()
            for k in range(i, total, clients):
                if time.monotonic() > stop_at[0]:
                    return
                status, _, seconds = client.post("/api/v1/tickets",
                                                 {"service_id": 1 + k % QUEUES})
                if status == 201:
                    latencies[i].append(seconds)
                else:
                    errors[i] += 1
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + deadline
    gate.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    flat = [x for per in latencies for x in per]
    return len(flat) / wall, flat, sum(errors)


def open_loop(bench: Bench, clients: int, total: int, rate: float,
              deadline: float) -> tuple[float, list[float], list[float], int]:
    """(achieved tickets/s, latencies from schedule, latencies from send, errors) of
    ``clients`` clients that together offer ``rate`` requests/s."""
    from_schedule: list[list[float]] = [[] for _ in range(clients)]
    from_send: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    gate = threading.Barrier(clients + 1)
    t0 = [0.0]

    def work(i: int) -> None:
        client = Client(bench.port, bench.kiosk)
        try:
            gate.wait()
            for k in range(i, total, clients):
                due = t0[0] + k / rate
                if due - t0[0] > deadline:
                    return
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                status, _, seconds = client.post("/api/v1/tickets",
                                                 {"service_id": 1 + k % QUEUES})
                if status == 201:
                    from_schedule[i].append(time.perf_counter() - due)
                    from_send[i].append(seconds)
                else:
                    errors[i] += 1
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    t0[0] = time.perf_counter() + 0.05
    gate.wait()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0[0]
    flat = [x for per in from_schedule for x in per]
    sent = [x for per in from_send for x in per]
    return len(flat) / wall, flat, sent, sum(errors)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--clients", type=int, default=16)
    p.add_argument("--tickets", type=int, default=4000, help="closed loop, per run")
    p.add_argument("--rate", type=float, default=300.0, help="open loop offered tickets/s")
    p.add_argument("--paced-tickets", type=int, default=3000, help="open loop, per run")
    p.add_argument("--deadline", type=float, default=60.0, help="seconds per phase at most")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("issue", argv)
    c = args.clients
    throughput = Figure("issue.closed.throughput", f"Issue, closed loop {c} clients: throughput",
                        "tickets/s", (">=", 300), cmd)
    closed_p50 = Figure("issue.closed.p50", f"Issue, closed loop {c} clients: p50 latency",
                        "ms", None, cmd)
    closed_p99 = Figure("issue.closed.p99", f"Issue, closed loop {c} clients: p99 latency",
                        "ms", ("<=", 25), cmd)
    rate = Figure("issue.open.rate", f"Issue, open loop {c} clients at {args.rate:g}/s: "
                  "achieved rate", "tickets/s", None, cmd)
    open_p50 = Figure("issue.open.p50", f"Issue, open loop {c} clients at {args.rate:g}/s: "
                      "p50 latency", "ms", None, cmd)
    open_p99 = Figure("issue.open.p99", f"Issue, open loop {c} clients at {args.rate:g}/s: "
                      "p99 latency", "ms", ("<=", 25), cmd)
    figures = [throughput, closed_p50, closed_p99, rate, open_p50, open_p99]
    for n in range(1, args.runs + 1):
        with running() as bench:
            issue_many(bench, WARMUP_PER_CLIENT * c, clients=c)
            tps, lat, errors = closed_loop(bench, c, args.tickets, args.deadline)
        throughput.add(tps)
        closed_p50.add(percentile(lat, 50) * 1000)
        closed_p99.add(percentile(lat, 99) * 1000)
        if errors or len(lat) < args.tickets:
            throughput.notes.append(f"run {n}: {len(lat)} ok, {errors} errors")
        progress(f"issue closed run {n}: {tps:.0f}/s p50 {percentile(lat, 50) * 1000:.1f} ms "
                 f"p99 {percentile(lat, 99) * 1000:.1f} ms, {errors} errors")
        with running() as bench:
            issue_many(bench, WARMUP_PER_CLIENT * c, clients=c)
            achieved, lat, sent, errors = open_loop(bench, c, args.paced_tickets, args.rate,
                                                    args.deadline)
        rate.add(achieved)
        open_p50.add(percentile(lat, 50) * 1000)
        open_p99.add(percentile(lat, 99) * 1000)
        if errors or len(lat) < args.paced_tickets:
            rate.notes.append(f"run {n}: {len(lat)} ok, {errors} errors")
        progress(f"issue open run {n}: {achieved:.0f}/s p50 {percentile(lat, 50) * 1000:.1f} "
                 f"ms p99 {percentile(lat, 99) * 1000:.1f} ms (from send: p99 "
                 f"{percentile(sent, 99) * 1000:.1f} ms), {errors} errors")
    return figures


def main(argv: list[str] | None = None) -> list[Figure]:
    import sys

    argv = sys.argv[1:] if argv is None else argv
    figures = run(parser().parse_args(argv), argv)
    emit(figures)
    return figures


if __name__ == "__main__":
    main()
