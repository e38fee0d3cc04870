"""How long a call waits for its voice: from `Announcer.submit` to `on_ready`, es + qu.

Per run, a fresh cache directory and a fresh speech worker: the first call pays for starting
the worker process (informative), then ``--calls`` new calls (never heard before, so
synthesized) and the same calls again (served from the cache), one at a time, as módulos
call them. Figures are the median latency per kind of call over the run.

    .venv/bin/python -m bench.speak [--runs 3] [--calls 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time

from bench.common import Figure, arguments, cli, command, progress
from hardware.speaker import Announcement, Announcer, Call, Synthesizer


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=3)
    p.add_argument("--calls", type=int, default=20)
    return p


def timed(announcer: Announcer, ready: threading.Event, call: Call) -> float:
    ready.clear()
    started = time.perf_counter()
    announcer.submit(call)
    if not ready.wait(60):
        raise RuntimeError(f"no announcement for {call.label} within 60 s")
    return time.perf_counter() - started


def one_run(calls: list[Call]) -> tuple[float, list[float], list[float]]:
    """Seconds for the first call, for each new call and for each repeated one."""
    ready = threading.Event()
    failures: list[Announcement] = []

    def on_ready(announcement: Announcement) -> None:
        if not announcement.ok:
            failures.append(announcement)
        ready.set()

    with tempfile.TemporaryDirectory() as cache, Synthesizer(cache) as synthesizer:
        announcer = Announcer(synthesizer, ["es", "qu"], on_ready)
        announcer.start()
        try:
            first = timed(announcer, ready, Call("RN-001", "1"))
            fresh = [timed(announcer, ready, call) for call in calls]
            again = [timed(announcer, ready, call) for call in calls]
        finally:
            announcer.stop()
    if failures:
        raise RuntimeError(f"failed announcements: {failures}")
    return first, fresh, again


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("speak", argv)
    first = Figure("speak.first", "First call after start (worker process start-up)", "ms",
                   None, cmd)
    new = Figure("speak.new", "New call to announcement ready, es + qu (median)", "ms",
                 ("<=", 1000), cmd)
    cached = Figure("speak.cached", "Repeated call to announcement ready (median)", "ms",
                    ("<=", 100), cmd)
    calls = [Call(f"RN-{100 + i:03d}", str(1 + i % 40)) for i in range(args.calls)]
    for n in range(1, args.runs + 1):
        start, fresh, again = one_run(calls)
        first.add(start * 1000)
        new.add(statistics.median(fresh) * 1000)
        cached.add(statistics.median(again) * 1000)
        progress(f"speak run {n}: first {first.values[-1]:.1f} ms, new {new.values[-1]:.1f} "
                 f"ms, cached {cached.values[-1]:.2f} ms")
    return [first, new, cached]


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
