"""National ingest: every centre of the network sending its day at once to one central on
PostgreSQL (events partitioned by month, aggregates kept as they arrive).

Each centre is a thread that sends its day's log (``--events`` per centre: tickets issued,
called, started, finished and rated, as a box records them) in signed batches of 500, as the
uplink does (gzip, ``after``, its own Ed25519 key, its own token), against a real
``mac-turnos central serve`` in its own process. Measured: events stored per second over the
whole run, and each batch's time from sending to the central's answer (p50, p99). Checked
afterwards: every event stored once, and the aggregates count every ticket.

    .venv/bin/python -m bench.national_ingest [--centres 120] [--events 2000] [--runs 1]
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import random
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import Figure, arguments, cli, command, percentile, progress
from harness.pg_cluster import PgCluster
from harness.sync_support import CentralProcess
from sync.central import aggregates
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.identity import BoxIdentity, load_identity

BATCH = 500
DAY = "2026-12-07"
OPENS = datetime(2026, 12, 7, 13, 0, tzinfo=UTC)  # 08:00 in Lima
QUEUES = [{"code": f"Q{n}", "entity": f"E{n}", "name": f"Entidad {n}",
           "max_wait_minutes": 30, "max_attention_minutes": 30} for n in range(6)]


def day_log(events: int, rng: random.Random, after: int = 0) -> list[dict[str, Any]]:
    """About ``events`` events of a centre's day, in log order: five per attended ticket;
    their seq continues ``after`` (a centre whose earlier log the central holds)."""
    log: list[tuple[float, str, str, dict[str, Any]]] = []
    for n in range(max(1, events // 5)):
        ticket, queue = uuid.uuid4().hex, f"Q{rng.randrange(6)}"
        issued = rng.uniform(0, 9 * 3600)
        called = issued + rng.uniform(0, 3600)
        steps = (("ticket.issued", issued), ("ticket.called", called),
                 ("ticket.started", called + 60), ("ticket.finished", called + 1500),
                 ("ticket.rated", called + 1560))
        for kind, at in steps:
            payload: dict[str, Any] = {"queue": queue, "entity": f"E{queue[1:]}", "day": DAY,
                                       "step": 1, "label": f"{queue}-{n + 1:03d}"}
            if kind == "ticket.rated":
                payload["score"] = rng.randint(1, 5)
            log.append((at, kind, ticket, payload))
    log.sort(key=lambda x: x[0])
    return [{"uid": uuid.uuid4().hex, "seq": seq, "kind": kind,
             "at": (OPENS + timedelta(seconds=at)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
             "actor": None, "counter": 1, "ticket": ticket, "payload": payload}
            for seq, (at, kind, ticket, payload) in enumerate(log, start=after + 1)]


class Centre(threading.Thread):
    """One centre's uplink sending its whole day, batch after batch."""

    def __init__(self, code: str, token: str, identity: BoxIdentity, port: int,
                 log: list[dict[str, Any]], start: threading.Event, after: int = 0) -> None:
        super().__init__(name=code, daemon=True)
        self.code, self.token, self.identity, self.port = code, token, identity, port
        self.log, self.start_event, self.after = log, start, after
        self.latencies: list[float] = []
        self.failures: list[str] = []

    def run(self) -> None:
        self.start_event.wait()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        after = self.after
        try:
            for i in range(0, len(self.log), BATCH):
                part = self.log[i:i + BATCH]
                body = gzip.compress(json.dumps({
                    "centre": self.code, "batch_id": uuid.uuid4().hex, "after": after,
                    "backlog": len(self.log) - i, "queues": QUEUES, "events": part},
                    separators=(",", ":")).encode(), compresslevel=5)
                began = time.perf_counter()
                conn.request("POST", "/api/v1/ingest", body=body, headers={
                    "Content-Type": "application/json", "Content-Encoding": "gzip",
                    "Authorization": f"Bearer {self.token}",
                    **self.identity.headers(body)})
                response = conn.getresponse()
                answer = response.read()
                self.latencies.append(time.perf_counter() - began)
                if response.status != 200:
                    self.failures.append(f"{response.status} {answer[:200]!r}")
                    return
                after = part[-1]["seq"]
        except OSError as exc:
            self.failures.append(repr(exc))
        finally:
            conn.close()


def run_once(centres: int, events: int, root: Path, cluster: PgCluster,
             seed: int) -> dict[str, Any]:
    url = cluster.new_database()
    db = Database(url)
    db.migrate()
    rng = random.Random(seed)
    tokens = {f"mac-{n:03d}": add_centre(db, f"mac-{n:03d}") for n in range(centres)}
    try:
        return send_days(db, url, tokens, events, root, rng)
    finally:
        db.close()


def send_days(db: Database, url: str, tokens: dict[str, str], events: int, root: Path,
              rng: random.Random, after: dict[str, int] | None = None) -> dict[str, Any]:
    """Every centre of ``tokens`` sends ``events`` of its day at once to a central process
    on ``url``; the central may hold their earlier logs (``after``: each one's last seq)."""
    stored_before = _count(db)
    issued_before = _issued(db)
    server = CentralProcess(url, root / "central.log")
    server.start()
    try:
        start = threading.Event()
        senders = []
        for code, token in tokens.items():
            folder = root / code
            folder.mkdir()
            held = (after or {}).get(code, 0)
            senders.append(Centre(code, token, load_identity(folder), server.port,
                                  day_log(events, rng, held), start, held))
        for s in senders:
            s.start()
        began = time.perf_counter()
        start.set()
        for s in senders:
            s.join()
        wall = time.perf_counter() - began
    finally:
        server.kill()
    failures = [f for s in senders for f in s.failures]
    sent = sum(len(s.log) for s in senders)
    stored = _count(db) - stored_before
    tickets = sum(1 for s in senders for e in s.log if e["kind"] == "ticket.issued")
    issued = _issued(db) - issued_before
    problems = failures[:5]
    if stored != sent:
        problems.append(f"{stored} events stored of {sent} sent")
    if issued != tickets:
        problems.append(f"the aggregates count {issued} tickets of {tickets}")
    return {"wall": wall, "sent": sent, "latencies": [x for s in senders
                                                        for x in s.latencies],
            "problems": problems}


def _count(db: Database) -> int:
    return int(db.conn().query("SELECT COUNT(*) AS n FROM events")[0]["n"])


def _issued(db: Database) -> int:
    return sum(c.counts["issued"] for (centre, entity), c in
               aggregates.read(db, DAY, DAY).items() if entity == "")


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=1)
    p.add_argument("--centres", type=int, default=120)
    p.add_argument("--events", type=int, default=2000, help="events of each centre's day")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("national_ingest", argv)
    rate = Figure("national.ingest_rate", f"National ingest: {args.centres} centres sending "
                  f"their day at once to a PostgreSQL central, events stored per second",
                  "events/s", None, cmd)
    p50 = Figure("national.batch_p50", "National ingest: a batch of 500 from sending to the "
                 "central's answer, p50", "ms", None, cmd)
    p99 = Figure("national.batch_p99", "National ingest: a batch of 500 from sending to the "
                 "central's answer, p99", "ms", None, cmd)
    bad = Figure("national.problems", "National ingest: events lost, doubled or not "
                 "aggregated, refused batches", "", ("<=", 0), cmd)
    cluster = PgCluster().start()
    try:
        for n in range(args.runs):
            with tempfile.TemporaryDirectory(prefix="bench-national-") as tmp:
                result = run_once(args.centres, args.events, Path(tmp), cluster, n + 1)
            rate.add(result["sent"] / result["wall"])
            p50.add(percentile(result["latencies"], 50) * 1000)
            p99.add(percentile(result["latencies"], 99) * 1000)
            bad.add(float(len(result["problems"])))
            bad.notes += result["problems"]
            progress(f"run {n + 1}: {result['sent']:,} events in {result['wall']:.1f} s "
                     f"({rate.values[-1]:,.0f}/s), batch p99 {p99.values[-1]:.0f} ms, "
                     f"{len(result['problems'])} problems")
    finally:
        cluster.stop()
    return [rate, p50, p99, bad]


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
