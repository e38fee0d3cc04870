"""Start to healthy: from spawning ``python -m appliance ... serve`` to the first 200 from
/api/v1/health, on a state dir that already holds a day of data.

The state is made once (``--tickets`` issued, a share of them called and released, then a
clean stop). Each run starts the server after a clean stop (the target figure), then kills
it with SIGKILL and starts it again (informative: SQLite recovers the WAL). Health is polled
every 20 ms (the harness's interval), so figures carry up to 20 ms of polling slack. The
database file is in the OS page cache; a cold boot of the appliance adds the disk reads.

    .venv/bin/python -m bench.startup [--runs 5] [--tickets 2000]
"""

from __future__ import annotations

import argparse

from bench.common import (
    Bench,
    Client,
    Figure,
    arguments,
    cli,
    command,
    issue_many,
    open_counters,
    progress,
    running,
)


def make_data(bench: Bench, tickets: int, calls: int, counters: int) -> None:
    issue_many(bench, tickets, clients=16)
    open_counters(bench, counters)
    with Client(bench.port, bench.staff) as client:
        for k in range(calls):
            base = f"/api/v1/counters/{1 + k % counters}"
            client.post(base + "/call-next", {})
            client.post(base + "/no-show", {})


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=5)
    p.add_argument("--tickets", type=int, default=2000, help="tickets in the state dir")
    p.add_argument("--calls", type=int, default=500, help="of which called and released")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("startup", argv)
    clean = Figure("startup.clean", "Start to healthy (existing data, after clean stop)", "s",
                   ("<=", 3), cmd)
    crash = Figure("startup.crash", "Start to healthy (existing data, after SIGKILL)", "s",
                   None, cmd)
    with running() as bench:
        make_data(bench, args.tickets, args.calls, counters=10)
        server = bench.server
        server.stop()
        for n in range(1, args.runs + 1):
            seconds = server.start()
            clean.add(seconds)
            server.kill()
            recovered = server.start()
            crash.add(recovered)
            server.stop()
            progress(f"startup run {n}: {seconds:.3f} s after clean stop, "
                     f"{recovered:.3f} s after SIGKILL")
    return [clean, crash]


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
