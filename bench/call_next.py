"""call-next with 60 concurrent módulos.

Per run, on a fresh server: issue enough tickets through the API (16 kiosk clients, not
timed), open the 60 módulos, then two phases with one keep-alive connection per módulo:

* paced: each módulo loops call-next, "attends" for a random uniform 0..``--think-ms``
  (a working day compressed: real attentions take minutes), then no-show to free itself.
  Each módulo first waits a random 0..``--think-ms`` so they do not start in lock-step.
  Figures: call-next latency p50/p99 over ``--calls`` calls, and the call rate achieved.
* closed loop (worst case, no target): the same loop without think time.

The server's RSS after the load is recorded too (informative: each waitress thread that
served a request keeps its own SQLite reader connection and page cache).

    .venv/bin/python -m bench.call_next [--runs 3] [--calls 3000] [--think-ms 300]
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time

from bench.common import (
    COUNTERS,
    Bench,
    Client,
    Figure,
    command,
    cpu_seconds,
    emit,
    issue_many,
    percentile,
    progress,
    rss_kib,
    running,
)


def open_counters(bench: Bench, counters: int) -> None:
    client = Client(bench.port, bench.staff)
    try:
        for n in range(1, counters + 1):
            status, raw, _ = client.post(f"/api/v1/counters/{n}/open", {})
            if status != 200:
                raise RuntimeError(f"open counter {n}: {status} {raw[:200]!r}")
    finally:
        client.close()


def counters_loop(bench: Bench, counters: int, calls: int, think: float, deadline: float,
                  seed: int) -> tuple[float, list[float], list[float], dict[str, int]]:
    """(call-next/s, call-next latencies, no-show latencies, outcome counts): ``counters``
    módulos sharing ``calls`` call-next requests, thinking 0..``think`` s between call-next
    and no-show."""
    per = [calls // counters + (1 if i < calls % counters else 0) for i in range(counters)]
    call_lat: list[list[float]] = [[] for _ in range(counters)]
    free_lat: list[list[float]] = [[] for _ in range(counters)]
    outcomes = [{"empty": 0, "errors": 0} for _ in range(counters)]
    gate = threading.Barrier(counters + 1)
    stop_at = [0.0]

    def work(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        client = Client(bench.port, bench.staff)
        base = f"/api/v1/counters/{i + 1}"
        try:
            gate.wait()
            if think:
                time.sleep(rng.uniform(0, think))
            for _ in range(per[i]):
                if time.monotonic() > stop_at[0]:
                    return
                status, _, seconds = client.post(base + "/call-next", {})
                if status == 204:
                    outcomes[i]["empty"] += 1
                    return
                if status != 200:
                    outcomes[i]["errors"] += 1
                    continue
                call_lat[i].append(seconds)
                if think:
                    time.sleep(rng.uniform(0, think))
                status, _, seconds = client.post(base + "/no-show", {})
                if status == 200:
                    free_lat[i].append(seconds)
                else:
                    outcomes[i]["errors"] += 1
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(counters)]
    for t in threads:
        t.start()
    stop_at[0] = time.monotonic() + deadline
    gate.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    lat = [x for per_ in call_lat for x in per_]
    frees = [x for per_ in free_lat for x in per_]
    totals = {k: sum(o[k] for o in outcomes) for k in ("empty", "errors")}
    return len(lat) / wall, lat, frees, totals


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--counters", type=int, default=COUNTERS)
    p.add_argument("--calls", type=int, default=3000, help="call-next requests per phase")
    p.add_argument("--think-ms", type=float, default=300.0)
    p.add_argument("--tickets", type=int, default=6000,
                   help="tickets waiting at the start of each phase (at least calls + módulos)")
    p.add_argument("--single-calls", type=int, default=200,
                   help="call-next requests of the one-módulo baseline")
    p.add_argument("--deadline", type=float, default=90.0, help="seconds per phase at most")
    return p


def single(bench: Bench, calls: int) -> list[float]:
    """call-next latencies of one módulo alone (call-next, no-show, no think)."""
    client = Client(bench.port, bench.staff)
    lat = []
    try:
        for _ in range(calls):
            status, _, seconds = client.post("/api/v1/counters/1/call-next", {})
            if status != 200:
                break
            lat.append(seconds)
            client.post("/api/v1/counters/1/no-show", {})
    finally:
        client.close()
    return lat


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("call_next", argv)
    m, think = args.counters, args.think_ms
    paced = f"call-next, {m} módulos, think 0–{think:g} ms"
    closed = f"call-next, {m} módulos, closed loop (no think)"
    alone = "call-next, 1 módulo alone"
    single_p50 = Figure("call_next.single.p50", f"{alone}: p50 latency", "ms", None, cmd)
    single_p99 = Figure("call_next.single.p99", f"{alone}: p99 latency", "ms", None, cmd)
    paced_p50 = Figure("call_next.paced.p50", f"{paced}: p50 latency", "ms", None, cmd)
    paced_p99 = Figure("call_next.paced.p99", f"{paced}: p99 latency", "ms", ("<=", 25), cmd)
    paced_rate = Figure("call_next.paced.rate", f"{paced}: calls achieved", "calls/s", None,
                        cmd)
    closed_p50 = Figure("call_next.closed.p50", f"{closed}: p50 latency", "ms", None, cmd)
    closed_p99 = Figure("call_next.closed.p99", f"{closed}: p99 latency", "ms", None, cmd)
    closed_rate = Figure("call_next.closed.rate", f"{closed}: calls achieved", "calls/s",
                         None, cmd)
    rss = Figure("call_next.rss", "Server RSS after the call-next load", "MiB", None, cmd)
    figures = [single_p50, single_p99, paced_p50, paced_p99, paced_rate, closed_p50,
               closed_p99, closed_rate, rss]
    waiting = max(args.tickets, args.calls + m)
    for n in range(1, args.runs + 1):
        with running(counters=m) as bench:
            made = issue_many(bench, waiting, clients=16, deadline=args.deadline)
            if made < waiting:
                raise RuntimeError(f"only {made} of {waiting} tickets issued")
            open_counters(bench, m)
            # Every phase starts with ``waiting`` tickets waiting: call-next's cost depends
            # on how many wait, so each phase is topped up to the same queue length.
            lat = single(bench, args.single_calls)
            single_p50.add(percentile(lat, 50) * 1000)
            single_p99.add(percentile(lat, 99) * 1000)
            progress(f"call-next alone run {n}: p50 {percentile(lat, 50) * 1000:.2f} ms "
                     f"p99 {percentile(lat, 99) * 1000:.2f} ms ({waiting} waiting)")
            issue_many(bench, len(lat), clients=16, deadline=args.deadline)
            before = cpu_seconds(bench.pid)
            rate, lat, frees, totals = counters_loop(bench, m, args.calls, think / 1000,
                                                     args.deadline, seed=n)
            cpu = (cpu_seconds(bench.pid) - before) / max(1, len(lat)) * 1000
            paced_p50.add(percentile(lat, 50) * 1000)
            paced_p99.add(percentile(lat, 99) * 1000)
            paced_rate.add(rate)
            if totals["empty"] or totals["errors"] or len(lat) < args.calls:
                paced_p99.notes.append(f"run {n}: {len(lat)} calls, {totals}")
            progress(f"call-next paced run {n}: {rate:.0f} calls/s, p50 "
                     f"{percentile(lat, 50) * 1000:.1f} ms p99 {percentile(lat, 99) * 1000:.1f}"
                     f" ms; no-show p99 {percentile(frees, 99) * 1000:.1f} ms; server CPU "
                     f"{cpu:.2f} ms per call-next + no-show; {totals}")
            issue_many(bench, len(lat), clients=16, deadline=args.deadline)
            before = cpu_seconds(bench.pid)
            rate, lat, frees, totals = counters_loop(bench, m, args.calls, 0.0, args.deadline,
                                                     seed=n)
            cpu = (cpu_seconds(bench.pid) - before) / max(1, len(lat)) * 1000
            closed_p50.add(percentile(lat, 50) * 1000)
            closed_p99.add(percentile(lat, 99) * 1000)
            closed_rate.add(rate)
            if totals["empty"] or totals["errors"] or len(lat) < args.calls:
                closed_p99.notes.append(f"run {n}: {len(lat)} calls, {totals}")
            progress(f"call-next closed run {n}: {rate:.0f} calls/s, p50 "
                     f"{percentile(lat, 50) * 1000:.1f} ms p99 {percentile(lat, 99) * 1000:.1f}"
                     f" ms; no-show p99 {percentile(frees, 99) * 1000:.1f} ms; server CPU "
                     f"{cpu:.2f} ms per call-next + no-show; {totals}")
            rss.add(rss_kib(bench.pid)[0] / 1024)
    return figures


def main(argv: list[str] | None = None) -> list[Figure]:
    argv = sys.argv[1:] if argv is None else argv
    figures = run(parser().parse_args(argv), argv)
    emit(figures)
    return figures


if __name__ == "__main__":
    main()
