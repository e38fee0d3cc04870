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
import time
from collections.abc import Iterator
from dataclasses import dataclass

from bench.common import (
    COUNTERS,
    Bench,
    Client,
    Figure,
    Latency,
    arguments,
    cli,
    command,
    cpu_split,
    crowd,
    flat,
    issue_many,
    ms,
    open_counters,
    p50_p99,
    progress,
    rss_kib,
    running,
)


def counters_loop(bench: Bench, counters: int, calls: int, think: float, deadline: float,
                  seed: int) -> tuple[float, list[float], list[float], dict[str, int]]:
    """(call-next/s, call-next latencies, no-show latencies, outcome counts): ``counters``
    módulos sharing ``calls`` call-next requests, thinking 0..``think`` s between call-next
    and no-show."""
    per = [calls // counters + (1 if i < calls % counters else 0) for i in range(counters)]
    rngs = [random.Random(seed * 1000 + i) for i in range(counters)]
    call_lat: list[list[float]] = [[] for _ in range(counters)]
    free_lat: list[list[float]] = [[] for _ in range(counters)]
    outcomes = [{"empty": 0, "errors": 0} for _ in range(counters)]
    stop_at = [0.0]

    def work(i: int, client: Client) -> None:
        rng, base = rngs[i], f"/api/v1/counters/{i + 1}"
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

    def release() -> None:
        stop_at[0] = time.monotonic() + deadline

    wall = crowd(bench.port, bench.staff, counters, work, release)
    lat = flat(call_lat)
    totals = {k: sum(o[k] for o in outcomes) for k in ("empty", "errors")}
    return len(lat) / wall, lat, flat(free_lat), totals


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=3)
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
    lat = []
    with Client(bench.port, bench.staff) as client:
        for _ in range(calls):
            status, _, seconds = client.post("/api/v1/counters/1/call-next", {})
            if status != 200:
                break
            lat.append(seconds)
            client.post("/api/v1/counters/1/no-show", {})
    return lat


@dataclass
class PhaseFigures:
    """A phase's figures: latency, rate, and the service's CPU per call-next + no-show
    (all of it, and the voice's child process alone)."""

    latency: Latency
    rate: Figure
    cpu: Figure
    voice_cpu: Figure

    @classmethod
    def of(cls, key: str, label: str, cmd: str) -> PhaseFigures:
        return cls(Latency.of(f"call_next.{key}", label, cmd),
                   Figure(f"call_next.{key}.rate", f"{label}: calls achieved", "calls/s",
                          None, cmd),
                   Figure(f"call_next.{key}.cpu", f"{label}: server CPU per call-next + "
                          "no-show", "ms", ("<=", 3), cmd),
                   Figure(f"call_next.{key}.voice_cpu", f"{label}: of which the voice's "
                          "synthesis (espeak-ng child)", "ms", None, cmd))

    def __iter__(self) -> Iterator[Figure]:
        return iter((*self.latency, self.rate, self.cpu, self.voice_cpu))


def phase(bench: Bench, args: argparse.Namespace, n: int, name: str, think: float,
          figures: PhaseFigures, refill: int) -> int:
    """One many-módulo phase of run ``n``, after topping the queue up by ``refill`` tickets
    (call-next's cost depends on how many wait); returns how many calls it made. The CPU is
    the server's and its children's over the phase, per call-next + no-show."""
    issue_many(bench, refill, clients=16, deadline=args.deadline)
    own_before, children_before = cpu_split(bench.pid)
    rate, lat, frees, totals = counters_loop(bench, args.counters, args.calls, think,
                                             args.deadline, seed=n)
    own_after, children_after = cpu_split(bench.pid)
    per = 1000 / max(1, len(lat))
    voice = max(0.0, children_after - children_before) * per
    cpu = (own_after - own_before) * per + voice
    figures.latency.add(lat)
    figures.rate.add(rate)
    figures.cpu.add(cpu)
    figures.voice_cpu.add(voice)
    if totals["empty"] or totals["errors"] or len(lat) < args.calls:
        figures.latency.p99.notes.append(f"run {n}: {len(lat)} calls, {totals}")
    progress(f"call-next {name} run {n}: {rate:.0f} calls/s, {p50_p99(lat)}; no-show p99 "
             f"{ms(frees, 99):.1f} ms; server CPU {cpu:.2f} ms per call-next + no-show "
             f"({voice:.2f} ms of it the voice); {totals}")
    return len(lat)


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("call_next", argv)
    m, think = args.counters, args.think_ms
    paced = f"call-next, {m} módulos, think 0–{think:g} ms"
    closed = f"call-next, {m} módulos, closed loop (no think)"
    single_lat = Latency.of("call_next.single", "call-next, 1 módulo alone", cmd)
    # Capacity, not a target of latency: a centre's peak is a few calls a second, where
    # these phases offer hundreds (issue 20 withdrew the p99 target of the paced phase).
    paced_figures = PhaseFigures.of("paced", paced, cmd)
    closed_figures = PhaseFigures.of("closed", closed, cmd)
    rss = Figure("call_next.rss", "Server RSS after the call-next load", "MiB", None, cmd)
    waiting = max(args.tickets, args.calls + m)
    for n in range(1, args.runs + 1):
        with running(counters=m) as bench:
            made = issue_many(bench, waiting, clients=16, deadline=args.deadline)
            if made < waiting:
                raise RuntimeError(f"only {made} of {waiting} tickets issued")
            open_counters(bench, m)
            # Every phase starts with ``waiting`` tickets waiting: each tops the queue up by
            # what the phase before it called.
            lat = single(bench, args.single_calls)
            single_lat.add(lat)
            progress(f"call-next alone run {n}: {p50_p99(lat, digits=2)} ({waiting} waiting)")
            called = phase(bench, args, n, "paced", think / 1000, paced_figures,
                           refill=len(lat))
            phase(bench, args, n, "closed", 0.0, closed_figures, refill=called)
            rss.add(rss_kib(bench.pid)[0] / 1024)
    return [*single_lat, *paced_figures, *closed_figures, rss]


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
