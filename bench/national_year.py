"""The national dashboard over a year of the whole network: how long its pages take when the
central holds a year of 120 centres' aggregates on PostgreSQL.

The aggregates are made directly in the database (``generate_series``), as a year of about
40 million events leaves them: per centre, day and entity its counts and sums, and its waits'
distribution (``--waits`` distinct tenths of a minute a day, about the tickets of a busy
entity's day at an average centre), then the monthly rollups from them as the migration
fills them. The events themselves are not stored: no page reads them. Measured through the
central's own app (a viewer's session, Flask's test client, the pages rendered): the
dashboard over the whole year, a month's report per entity, the year's CSV; and, for
comparison, the same year read from the daily rows alone (as before the rollups).

    .venv/bin/python -m bench.national_year [--centres 120] [--entities 15] [--requests 20]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.common import Figure, Latency, arguments, cli, command, progress
from harness.pg_cluster import PgCluster
from harness.sync_support import viewer_client
from sync.central import aggregates, rollups
from sync.central.db import Database
from sync.central.ingest import add_centre

YEAR = 2026
TARGET_MS = 1000.0


def fill(db: Database, centres: int, entities: int, waits: int) -> dict[str, int]:
    """A year of daily aggregates for ``centres`` × ``entities``, then the monthly rollups."""
    for n in range(centres):
        add_centre(db, f"mac-{n:03d}", f"Centro MAC {n:03d}")
    return fill_aggregates(db, entities, waits)


def fill_aggregates(db: Database, entities: int, waits: int) -> dict[str, int]:
    """A year of daily aggregates for every centre of ``db`` × ``entities``, then the
    monthly rollups; returns each table's rows."""
    sums = ", ".join(rollups.FIGURES)
    with db.transaction() as tx:
        tx.execute(
            f"INSERT INTO daily_figures(centre, day, entity, {sums}) "
            f"SELECT c.code, to_char(d, 'YYYY-MM-DD'), 'E' || e, "
            f"t, t - 2, 1, 1, 0, t, t * 900000, t, t - 1, t - 2, (t - 2) * 1500000, t - 2, "
            f"t - 3, t / 2, t * 2, t / 3 "
            f"FROM centres c, generate_series(DATE '{YEAR}-01-01', DATE '{YEAR}-12-31', "
            f"INTERVAL '1 day') d, generate_series(1, {entities}) e, "
            f"LATERAL (SELECT (8 + floor(random() * 8))::bigint AS t) r")
        tx.execute(
            f"INSERT INTO wait_tenths(centre, day, entity, tenth, n) "
            f"SELECT centre, day, entity, tenth, COUNT(*) FROM ("
            f"SELECT f.centre, f.day, f.entity, floor(random() * 600)::int AS tenth "
            f"FROM daily_figures f, generate_series(1, {waits}) w) x "
            f"GROUP BY centre, day, entity, tenth")
        rollups.refill_months(tx)
        tx.execute("ANALYZE")
    counted = {}
    for table in ("daily_figures", "wait_tenths", "monthly_figures", "monthly_minutes"):
        counted[table] = int(db.conn().query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"])
    return counted


def timed(fn: Any, requests: int) -> list[float]:
    fn()  # once to warm the caches, as a page that people open often is
    seconds = []
    for _ in range(requests):
        began = time.perf_counter()
        fn()
        seconds.append(time.perf_counter() - began)
    return seconds


def get_ok(client: Any, path: str) -> None:
    response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"{path} answered {response.status_code}")
    response.get_data()


def measure_once(cluster: PgCluster, args: argparse.Namespace, run_number: int,
                 pages: dict[str, tuple[str, Latency]], daily: Latency) -> None:
    db = Database(cluster.new_database())
    try:
        db.migrate()
        began = time.perf_counter()
        rows = fill(db, args.centres, args.entities, args.waits)
        progress(f"run {run_number}: filled in {time.perf_counter() - began:.0f} s: "
                 + ", ".join(f"{k} {v:,}" for k, v in rows.items()))
        client = viewer_client(db)
        for name, (path, latency) in pages.items():
            latency.add(timed(lambda p=path: get_ok(client, p), args.requests))
            progress(f"  {name}: p50 {latency.p50.values[-1]:.0f} ms, "
                     f"p99 {latency.p99.values[-1]:.0f} ms")
        daily.add(timed(lambda: aggregates._read_days(db, f"{YEAR}-01-01", f"{YEAR}-12-31"),
                        max(3, args.requests // 4)))
        progress(f"  daily rows alone: p50 {daily.p50.values[-1]:.0f} ms")
    finally:
        db.close()


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=1)
    p.add_argument("--centres", type=int, default=120)
    p.add_argument("--entities", type=int, default=15, help="entities at each centre")
    p.add_argument("--waits", type=int, default=10,
                   help="distinct waits (tenths of a minute) per centre, entity and day")
    p.add_argument("--requests", type=int, default=20, help="timed requests per page")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("national_year", argv)
    scope = f"{args.centres} centres × {args.entities} entities, a year on PostgreSQL"
    year = f"from={YEAR}-01-01&to={YEAR}-12-31"
    pages = {
        "dashboard": (f"/?{year}", Latency.of("national_year.dashboard",
                                              f"Dashboard over a year ({scope})", cmd,
                                              ("<=", TARGET_MS))),
        "entities": (f"/entities?month={YEAR}-11", Latency.of(
            "national_year.entities", f"Monthly report per entity ({scope})", cmd,
            ("<=", TARGET_MS))),
        "csv": (f"/export.csv?{year}", Latency.of("national_year.csv",
                                                  f"The year's CSV ({scope})", cmd,
                                                  ("<=", TARGET_MS))),
    }
    daily = Latency.of("national_year.daily_read", f"The year read from the daily rows "
                       f"alone, as before the monthly rollups ({scope})", cmd)
    cluster = PgCluster().start()
    try:
        for n in range(args.runs):
            measure_once(cluster, args, n + 1, pages, daily)
    finally:
        cluster.stop()
    return [f for _, latency in pages.values() for f in latency] + list(daily)


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
