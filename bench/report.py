"""Indicator reports over a generated year of the demo centre.

The fixture is written straight into a fresh database through the engine's own schema (no
HTTP): ``--days`` closed service days of ``--tickets`` tickets each (default 365 x 4110,
about 1.5M tickets), with the demo centre's services and módulos, 20% preferential, 5%
transferred after starting, 3% no-shows, 2% cancelled, 1% expired, a third rated, waits
and attention times drawn per hour of a busy day, and the events the módulo time is read
from (módulos opened, paused at lunch, resumed and closed; every call, start and end at a
módulo). Then, per figure: the report of the last 30 days (about 123k tickets) and of the
whole year, grouped by entity, timed with ``turnero.reports.build_report`` in-process:

* cold: the first report, which packs each closed day once into ``report_days``;
  informative (it happens once per day, the first time a report needs it);
* warm: the same report again, as every later report of those days; the target. Each run
  groups by a different key (entity, agent, hour, service...), so the figure covers the
  heavier groupings too.

    .venv/bin/python -m bench.report [--runs 5] [--days 365] [--tickets 4110]
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench.common import Figure, arguments, cli, command, progress
from config.demo import demo_settings
from turnero import reports
from turnero.clock import ManualClock, to_iso
from turnero.store import Store, Tx

GROUPS = ("entity", "agent", "hour", "service", "counter", "queue", "priority", "channel")
OPEN_UTC = 13  # 08:00 in Lima
LAST_DAY = date(2026, 11, 25)
PREFERENTIAL = ("gestante", "nino", "adulto_mayor", "discapacidad")


def _day_rows(tx: Tx, day: date, tickets: int, rng: random.Random, services: list,
              counters: dict[str, list[int]]) -> None:
    """One closed service day: tickets, attentions, ratings, events."""
    text = day.isoformat()
    opens = datetime(day.year, day.month, day.day, OPEN_UTC, tzinfo=UTC)
    tx.execute("INSERT INTO days(day, opened_at, opened_by, closed_at, closed_by) "
               "VALUES (?,?,?,?,?)", (text, to_iso(opens), "bench",
                                      to_iso(opens + timedelta(hours=10)), "bench"))
    events: list[tuple] = []

    def event(kind: str, at: datetime, actor: str | None, counter: int | None,
              ticket: str | None, **payload: object) -> None:
        events.append((uuid.uuid4().hex, kind, to_iso(at), actor, counter, ticket,
                       json.dumps(payload)))
    for ids in counters.values():
        for c in ids:
            event("counter.opened", opens, f"asesor{c}", c, None)
            event("counter.paused", opens + timedelta(hours=5), f"asesor{c}", c, None,
                  reason="break")
            event("counter.resumed", opens + timedelta(hours=6), f"asesor{c}", c, None)
    numbers: dict[str, int] = {}
    for _ in range(tickets):
        svc = services[rng.randrange(len(services))]
        queue, entity = svc["queue"], svc["entity"]
        numbers[queue] = numbers.get(queue, 0) + 1
        issued = opens + timedelta(seconds=int(rng.betavariate(1.6, 2.6) * 9.5 * 3600))
        uid = uuid.uuid4().hex
        pref = rng.random() < 0.2
        cur = tx.execute(
            "INSERT INTO tickets(uid, token, day, number_queue, number, label, priority, "
            "channel, issued_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (uid, uuid.uuid4().hex, text, queue, numbers[queue],
             f"{queue}-{numbers[queue]:03d}", rng.choice(PREFERENTIAL) if pref else "normal",
             "reception" if rng.random() < 0.25 else "kiosk", to_iso(issued)))
        ticket_id = cur.lastrowid
        roll = rng.random()
        counter = rng.choice(counters[entity])
        called = issued + timedelta(seconds=int(rng.expovariate(1 / (600 if pref else 1500))))
        started = called + timedelta(seconds=rng.randrange(20, 120))
        ended = started + timedelta(seconds=int(rng.lognormvariate(6.3, 0.6)))
        status = ("expired" if roll < 0.01 else "cancelled" if roll < 0.03 else
                  "no_show" if roll < 0.06 else "transferred" if roll < 0.11 else "done")
        if status in ("expired", "cancelled"):
            called_at = started_at = None
            end_at = opens + timedelta(hours=10) if status == "expired" else called
            counter_id = None
        else:
            called_at = called
            started_at = None if status == "no_show" else started
            end_at = called + timedelta(seconds=90) if status == "no_show" else ended
            counter_id = counter
        tx.execute(
            "INSERT INTO attentions(ticket, step, day, queue, service, status, preferential, "
            "order_key, entered_at, called_at, last_called_at, counter, agent, started_at, "
            "ended_at) VALUES (?,1,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (ticket_id, text, queue, svc["id"], status, int(pref), issued.timestamp(),
             to_iso(issued), called_at and to_iso(called_at), called_at and to_iso(called_at),
             counter_id, counter_id and f"asesor{counter_id}",
             started_at and to_iso(started_at), to_iso(end_at)))
        if counter_id is not None:
            event("ticket.called", called, f"asesor{counter_id}", counter_id, uid)
            if started_at is not None:
                event("ticket.started", started, f"asesor{counter_id}", counter_id, uid)
            event({"done": "ticket.finished", "no_show": "ticket.no_show",
                   "transferred": "ticket.transferred"}[status], end_at,
                  f"asesor{counter_id}", counter_id, uid)
        if status == "done" and rng.random() < 0.33:
            tx.execute("INSERT INTO ratings(ticket, score, at) VALUES (?,?,?)",
                       (ticket_id, rng.choices((1, 2, 3, 4, 5), (2, 3, 10, 35, 50))[0],
                        to_iso(ended)))
    for ids in counters.values():
        for c in ids:
            event("counter.closed", opens + timedelta(hours=10), "bench", c, None)
    events.sort(key=lambda e: e[2])
    tx.conn.executemany("INSERT INTO events(uid, kind, at, actor, counter, ticket, payload) "
                        "VALUES (?,?,?,?,?,?,?)", events)


def generate(directory: Path, days: int, tickets: int, seed: int = 7) -> Store:
    from appliance.runtime import open_store
    clock = ManualClock(datetime(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day, 14, tzinfo=UTC)
                        - timedelta(days=days))
    store = open_store(demo_settings(), directory, clock=clock)
    conn = store.reader()
    services = [dict(r) for r in conn.execute(
        "SELECT s.id, s.queue, q.entity FROM services s JOIN queues q ON q.code = s.queue "
        "WHERE s.active")]
    counters: dict[str, list[int]] = {}
    for r in conn.execute("SELECT id, entity FROM counters WHERE active"):
        counters.setdefault(r["entity"], []).append(r["id"])
    services = [s for s in services if s["entity"] in counters]
    rng = random.Random(seed)
    began = time.monotonic()
    for i in range(days):
        day = LAST_DAY - timedelta(days=days - 1 - i)
        store.write(lambda tx, d=day: _day_rows(tx, d, tickets, rng, services, counters))
        if i % 30 == 29:
            progress(f"generated {i + 1} days in {time.monotonic() - began:.0f} s")
    clock.set(datetime(LAST_DAY.year, LAST_DAY.month, LAST_DAY.day, 14, tzinfo=UTC)
              + timedelta(days=1))
    return store


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=5)
    p.add_argument("--days", type=int, default=365, help="service days generated")
    p.add_argument("--tickets", type=int, default=4110, help="tickets per day")
    return p


def _timed(store: Store, start: date, group: str) -> tuple[float, dict]:
    began = time.perf_counter()
    report = reports.build_report(store, start, LAST_DAY, group)
    return time.perf_counter() - began, report


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("report", argv)
    month_days = min(30, args.days)
    figures = {
        "month.cold": Figure("report.month.cold", f"Report of {month_days} days, first time "
                             "(packs each day)", "s", None, cmd),
        "month.warm": Figure("report.month.warm", f"Report of {month_days} days "
                             f"(~{month_days * args.tickets // 1000}k tickets)", "ms",
                             ("<=", 500), cmd),
        "year.cold": Figure("report.year.cold", f"Report of {args.days} days, first time "
                            "(packs each day)", "s", None, cmd),
        "year.warm": Figure("report.year.warm", f"Report of {args.days} days "
                            f"(~{args.days * args.tickets / 1e6:.1f}M tickets)", "s",
                            ("<=", 3), cmd),
    }
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        progress(f"generating {args.days} days x {args.tickets} tickets")
        store = generate(Path(tmp), args.days, args.tickets)
        try:
            month_start = LAST_DAY - timedelta(days=month_days - 1)
            year_start = LAST_DAY - timedelta(days=args.days - 1)
            seconds, report = _timed(store, month_start, "entity")
            figures["month.cold"].add(seconds)
            progress(f"month cold {seconds:.2f} s, {report['total']['issued']} tickets")
            seconds, report = _timed(store, year_start, "entity")
            figures["year.cold"].add(seconds)
            progress(f"year cold {seconds:.2f} s, {report['total']['issued']} tickets")
            for n in range(args.runs):
                group = GROUPS[n % len(GROUPS)]
                seconds, _ = _timed(store, month_start, group)
                figures["month.warm"].add(seconds * 1000)
                year, report = _timed(store, year_start, group)
                figures["year.warm"].add(year)
                progress(f"run {n + 1} by {group}: month {seconds * 1000:.0f} ms, "
                         f"year {year:.2f} s ({report['total']['issued']} tickets)")
        finally:
            store.close()
    return list(figures.values())


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
