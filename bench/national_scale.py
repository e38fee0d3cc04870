"""National scale: a central on PostgreSQL holding a year of the whole network as events
(``--events``, 40 million by default, partitioned by month) with the aggregates they leave,
then every centre sending its day at once on top of it, then the national pages over the
year.

The year's events are written straight into the partitioned table (``generate_series``: five
kinds of a ticket's life, the payload a box sends, every centre's seq growing), and its
aggregates as ``bench.national_year`` makes them, because sending 40 million events through
the ingest would take this machine hours; what a full table costs the ingest is then
measured by real senders (``bench.national_ingest``: signed gzip batches of 500 from each
centre's thread to a ``mac-turnos central serve`` process). Checked afterwards: every event
sent stored once and every ticket counted by the aggregates.

    .venv/bin/python -m bench.national_scale [--events 40000000] [--centres 120]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from bench import national_ingest, national_year
from bench.common import Figure, Latency, arguments, cli, command, percentile, progress
from harness.pg_cluster import PgCluster
from harness.sync_support import viewer_client
from sync.central import partitions
from sync.central.db import Database
from sync.central.ingest import add_centre

YEAR = national_year.YEAR
KINDS = ("ticket.issued", "ticket.called", "ticket.started", "ticket.finished",
         "ticket.rated")


def fill_events(db: Database, total: int) -> dict[str, int]:
    """About ``total`` events of ``YEAR`` for every centre of ``db``, month by month (one
    transaction each); returns each centre's last seq."""
    codes = [r["code"] for r in db.conn().query("SELECT code FROM centres ORDER BY code")]
    per = max(5, total // (len(codes) * 12) // 5 * 5)  # per centre and month
    partitions.ensure(db, [f"{YEAR}-{m:02d}-01" for m in range(1, 13)])
    kinds = "ARRAY[" + ", ".join(f"'{k}'" for k in KINDS) + "]"
    for month in range(1, 13):
        began = time.perf_counter()
        with db.transaction() as tx:
            tx.execute(
                f"INSERT INTO events(centre, uid, seq, kind, at, day, queue, ticket, step, "
                f"actor, counter, payload, received_at) "
                f"SELECT c.code, md5(c.code || ':' || s), s, ({kinds})[1 + mod(g, 5)], "
                f"to_char(d + interval '13 hours' + mod(g, 32400) * interval '1 second', "
                f"'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), to_char(d, 'YYYY-MM-DD'), "
                f"'Q' || mod(g / 5, 6), md5(c.code || ':t' || (s / 5)), 1, NULL, 1 + mod(g, 60), "
                f"'{{\"queue\":\"Q' || mod(g / 5, 6) || '\",\"entity\":\"E' || mod(g / 5, 6) || "
                f"'\",\"day\":\"' || to_char(d, 'YYYY-MM-DD') || '\",\"step\":1}}', "
                f"to_char(d + interval '14 hours', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
                f"FROM centres c, generate_series(0, {per - 1}) g, "
                f"LATERAL (SELECT {(month - 1) * per} + g + 1 AS s, "
                f"date_trunc('month', DATE '{YEAR}-{month:02d}-01') + "
                f"mod(g / 5 * 5, extract(day FROM (date_trunc('month', "
                f"DATE '{YEAR}-{month:02d}-01') + interval '1 month - 1 day'))::int) "
                f"* interval '1 day' AS d) x")
        progress(f"  {YEAR}-{month:02d}: {per * len(codes):,} events in "
                 f"{time.perf_counter() - began:.0f} s")
    with db.transaction() as tx:
        tx.execute("UPDATE centres SET events_received = ?", (per * 12,))
        tx.execute("ANALYZE events")
    return dict.fromkeys(codes, per * 12)


def bulk_settings(cluster: PgCluster) -> None:
    """WAL room for writing a year at once, as a central's PostgreSQL is set for a bulk
    load (the default 1 GB makes a checkpoint every few seconds of it)."""
    import psycopg

    with psycopg.connect(cluster.url(), autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET max_wal_size = '16GB'")
        conn.execute("ALTER SYSTEM SET checkpoint_timeout = '30min'")
        conn.execute("SELECT pg_reload_conf()")


def run_once(cluster: PgCluster, args: argparse.Namespace, root: Path,
             figures: dict[str, Any], pages: dict[str, tuple[str, Latency]]) -> None:
    url = cluster.new_database()
    db = Database(url)
    try:
        db.migrate()
        tokens = {f"mac-{n:03d}": add_centre(db, f"mac-{n:03d}", f"Centro MAC {n:03d}")
                  for n in range(args.centres)}
        began = time.perf_counter()
        national_year.fill_aggregates(db, args.entities, args.waits)
        held = fill_events(db, args.events)
        stored = int(db.conn().query("SELECT COUNT(*) AS n FROM events")[0]["n"])
        figures["stored"].add(stored / 1e6)
        figures["fill"].add((time.perf_counter() - began) / 60)
        progress(f"a year of {stored:,} events and its aggregates in "
                 f"{figures['fill'].values[-1]:.0f} min")
        sent = national_ingest.send_days(db, url, tokens, args.day_events, root,
                                         random.Random(1), held)
        figures["rate"].add(sent["sent"] / sent["wall"])
        figures["p50"].add(percentile(sent["latencies"], 50) * 1000)
        figures["p99"].add(percentile(sent["latencies"], 99) * 1000)
        figures["problems"].add(float(len(sent["problems"])))
        figures["problems"].notes += sent["problems"]
        progress(f"ingest on top: {sent['sent']:,} events at "
                 f"{figures['rate'].values[-1]:,.0f}/s, batch p99 "
                 f"{figures['p99'].values[-1]:.0f} ms, {len(sent['problems'])} problems")
        client = viewer_client(db)
        for name, (path, latency) in pages.items():
            latency.add(national_year.timed(
                lambda p=path: national_year.get_ok(client, p), args.requests))
            progress(f"  {name}: p50 {latency.p50.values[-1]:.0f} ms, "
                     f"p99 {latency.p99.values[-1]:.0f} ms")
    finally:
        db.close()


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=1)
    p.add_argument("--events", type=int, default=40_000_000, help="the year's events")
    p.add_argument("--centres", type=int, default=120)
    p.add_argument("--entities", type=int, default=15, help="entities at each centre")
    p.add_argument("--waits", type=int, default=10,
                   help="distinct waits (tenths of a minute) per centre, entity and day")
    p.add_argument("--day-events", type=int, default=2000,
                   help="events of each centre's day sent on top of the year")
    p.add_argument("--requests", type=int, default=20, help="timed requests per page")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("national_scale", argv)
    scope = f"{args.centres} centres, {args.events / 1e6:.0f} M events of a year on PostgreSQL"
    figures = {
        "stored": Figure("national_scale.events", f"National scale: events stored ({scope})",
                         "M events", None, cmd),
        "fill": Figure("national_scale.fill", "National scale: writing the year's events "
                       "and aggregates", "min", None, cmd),
        "rate": Figure("national_scale.ingest_rate", f"National scale: every centre sending "
                       f"its day at once on top of the year ({scope}), events stored per "
                       f"second", "events/s", None, cmd),
        "p50": Figure("national_scale.batch_p50", "National scale: a batch of 500 from "
                      "sending to the central's answer, p50", "ms", None, cmd),
        "p99": Figure("national_scale.batch_p99", "National scale: a batch of 500 from "
                      "sending to the central's answer, p99", "ms", None, cmd),
        "problems": Figure("national_scale.problems", "National scale: events lost, doubled "
                           "or not aggregated, refused batches", "", ("<=", 0), cmd),
    }
    year = f"from={YEAR}-01-01&to={YEAR}-12-31"
    target = ("<=", national_year.TARGET_MS)
    pages = {
        "dashboard": (f"/?{year}", Latency.of("national_scale.dashboard",
                                              f"Dashboard over a year ({scope})", cmd,
                                              target)),
        "entities": (f"/entities?month={YEAR}-11", Latency.of(
            "national_scale.entities", f"Monthly report per entity ({scope})", cmd, target)),
        "csv": (f"/export.csv?{year}", Latency.of("national_scale.csv",
                                                  f"The year's CSV ({scope})", cmd, target)),
        # a year that is not a calendar year: eleven whole months and a week of days
        "rolling": (f"/?from={YEAR - 1}-12-08&to={YEAR}-12-07", Latency.of(
            "national_scale.rolling", f"Dashboard over the last twelve months, "
            f"{YEAR - 1}-12-08 to {YEAR}-12-07 ({scope})", cmd, target)),
    }
    cluster = PgCluster().start()
    try:
        bulk_settings(cluster)
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="bench-national-scale-") as tmp:
                run_once(cluster, args, Path(tmp), figures, pages)
    finally:
        cluster.stop()
    return [*figures.values(), *(f for _, latency in pages.values() for f in latency)]


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
