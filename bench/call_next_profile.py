"""Where a call-next + no-show spends its CPU, in one process, without the HTTP server.

The app (``create_app``) on a fresh state of 60 módulos and 4 queues with ``--tickets``
waiting, driven through Flask's test client by one thread: call-next then no-show at each
módulo in turn. Prints the CPU per pair, then the SQL statements by time (each connection
wrapped: W the writer, R a reader), then, with ``--profile``, cProfile's top functions. The
voice is off (``SPEECH=off``): its synthesis runs on a thread and a child of its own and is
measured apart by ``bench.call_next``. Flask's test client costs some of the time that
waitress costs in the real server; the profile is for finding hot spots, not a figure.

    .venv/bin/python -m bench.call_next_profile [--pairs 600] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from config import load_settings
from harness.live_server import write_config
from turnero import accounts, day, tickets
from turnero.store import Store

PIN = "58204713"
MODULOS = 60


class Timed:
    """A connection whose statements are timed by their first 90 characters."""

    def __init__(self, conn: sqlite3.Connection, tag: str,
                 stats: dict[str, list[float]]) -> None:
        self._conn, self._tag, self._stats = conn, tag, stats

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        wall, cpu = time.perf_counter(), time.process_time()
        cursor = self._conn.execute(sql, params)
        entry = self._stats[f"{self._tag} {' '.join(sql.split())[:90]}"]
        entry[0] += 1
        entry[1] += time.perf_counter() - wall
        entry[2] += time.process_time() - cpu
        return cursor

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def time_sql(store: Store) -> dict[str, list[float]]:
    """Wrap the store's writer and readers; returns the table they fill."""
    stats: dict[str, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    store._writer = Timed(store._writer, "W", stats)  # type: ignore[assignment]
    reader = store.reader
    store.reader = lambda: Timed(reader(), "R", stats)  # type: ignore[method-assign,assignment,return-value]
    return stats


def centre(folder: Path, waiting: int) -> tuple[Any, Store, Callable[[int], None]]:
    """(app, store, loop): ``loop(n)`` makes n call-next + no-show pairs."""
    settings = load_settings(write_config(folder / "centre.toml", queues=4, counters=MODULOS))
    store = open_store(settings, folder)
    day.open_day(store, actor="bench")
    for i in range(waiting):
        tickets.issue_ticket(store, service_id=1 + i % 4)
    accounts.create_user(store, "sup", "supervisor", PIN, security=settings.security)
    app = create_app(settings, store, SPEECH="off")
    client = app.test_client()
    answer = client.post("/api/v1/auth/login", json={"username": "sup", "password": PIN})
    headers = {"X-CSRF-Token": answer.get_json()["csrf_token"]}
    for n in range(1, MODULOS + 1):
        client.post(f"/api/v1/counters/{n}/open", json={}, headers=headers)

    def loop(pairs: int) -> None:
        for i in range(pairs):
            base = f"/api/v1/counters/{1 + i % MODULOS}"
            for action in ("call-next", "no-show"):
                answer = client.post(f"{base}/{action}", json={}, headers=headers)
                if answer.status_code != 200:
                    raise RuntimeError(f"{action} answered {answer.status_code}")
    return app, store, loop


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", type=int, default=600)
    p.add_argument("--tickets", type=int, default=3000)
    p.add_argument("--profile", action="store_true", help="also cProfile's top functions")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mt-profile-") as tmp:
        app, store, loop = centre(Path(tmp), max(args.tickets, args.pairs * 2 + 100))
        try:
            loop(50)  # warm-up
            stats = time_sql(store)
            cpu = time.process_time()
            loop(args.pairs)
            per = 1000 / args.pairs
            print(f"CPU {(time.process_time() - cpu) * per:.2f} ms per call-next + no-show "
                  f"({args.pairs} pairs, one thread, Flask's test client)")
            print("SQL by wall time (ms per pair: wall, CPU; count; statement):")
            for sql, (count, wall, cpu_s) in sorted(stats.items(), key=lambda kv: -kv[1][1])[:15]:
                print(f"  {wall * per:6.3f} {cpu_s * per:6.3f} {int(count):6d}  {sql}")
            if args.profile:
                profile = cProfile.Profile()
                profile.enable()
                loop(args.pairs)
                profile.disable()
                pstats.Stats(profile).sort_stats("tottime").print_stats(25)
        finally:
            parts.of(app).printing.stop()
            store.close()


if __name__ == "__main__":
    main()
