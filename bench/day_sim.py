"""A simulated busy day at a Centro MAC, played against a real server at accelerated time.

A Lima-size day by default: 5,000 visitors on a realistic arrival curve (a crowd at the door
taking tickets in the quarter hour before the módulos open, a morning rush, a lunch dip, a
quiet last hour) at a centre of 15
entities and 40 módulos built from the real catalogue (the demo centre of ``config.demo``
plus the Poder Judicial). 20% of the tickets are preferential, 5% are visits of several
trámites, 3% of the citizens are not there when called (the asesor recalls once, then marks
the no-show), 2% of the attentions are derived to another entity, every asesor takes a break
and some an IT-support pause, and 40% of the citizens rate their attention. Attention times
are lognormal per service, scaled so that the módulos are busy ``--utilisation`` of the
opening hours; a citizen needs about 40 s to walk to the módulo.

The server is ``mac-turnos serve`` in a subprocess on a fresh state dir with the simulated
clock (``--clock-start``, ``--clock-speed``). Kiosks, the orientador (who issues what a kiosk
refuses near closing time), one asesor per módulo with their own session, and TVs on the
live stream act over HTTP on 127.0.0.1 at the simulated instants. After the jornada is
closed the simulator checks the invariants (``POST_DAY_CHECKS``) on the server's database
and on what the clients saw, and measures the waits, the throughput, the error of the wait
estimate given at issue (also apart for the first hour, crowd included, and the rest of the
day), the server's RSS after the first hour and after the day, and its
idle CPU after the day.

    .venv/bin/python -m bench.day_sim        # the full day: about 11 minutes
    .venv/bin/python -m bench.day_sim --visitors 300 --counters 8 --entities 4 --hours 3 \\
        --speed 400                          # the suite's size (tests/test_day_sim.py)
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.http import SESSION_COOKIE
from appliance.runtime import DB_NAME, open_store
from bench.common import (
    Figure,
    arguments,
    cli,
    command,
    cpu_seconds,
    percentile,
    progress,
    rss_kib,
)
from bench.day_checks import DayEvidence, run_checks
from bench.day_people import Asesor, Day, Floor, SimTime, kiosk, tv
from bench.day_plan import MB, TZ, Options, Plan, plan_day, toml_text
from config import load_settings
from harness.live_server import PIN, LiveServer
from turnero import accounts
from turnero.clock import ManualClock, from_iso

# ----------------------------------------------------------------------------- running a day


@dataclass
class DayResult:
    """One simulated day: its figures, the checks' findings and what happened."""

    day: str
    opens_at: float  # epoch seconds of the simulated opening and closing times
    closes_at: float
    figures: dict[str, float]
    checks: dict[str, list[str]]
    counts: dict[str, int]
    unexpected: dict[str, int]
    waits: list[float]  # minutes from issue to first call, per called ticket
    estimate_errors: list[float]  # minutes, estimate at issue minus real wait
    wall_seconds: float
    clock_uncertainty: float = 0.0  # simulated seconds between the clients' and the server's

    @property
    def violations(self) -> int:
        return sum(len(v) for v in self.checks.values())

CLOSE_TIMEOUT_S = 600.0  # the end-of-day close, expiring what still waits


def enrol(config: Path, state: Path, plan: Plan, at: datetime) -> dict[str, Any]:
    """The centre's people with their sessions, and its devices, written before the server
    starts, at the simulated instant ``at`` (just before the server's clock starts): the
    PIN hashes cost about as long as the morning's first hour would at full speed, and
    sessions last 12 hours from their login."""
    settings = load_settings(config)
    store = open_store(settings, state, ManualClock(at))
    security = settings.security

    def person(name: str, role: str, entity: str | None = None) -> dict[str, str]:
        accounts.create_user(store, name, role, PIN, security=security, entity=entity)
        token, who = accounts.login(store, name, PIN, security=security)
        return {"Cookie": f"{SESSION_COOKIE}={token}", "X-CSRF-Token": who.csrf or ""}

    try:
        staff = {"supervisor": person("supervisor", "supervisor"),
                 "orientador": person("orientador", "receptionist")}
        for c in plan.counters:
            staff[f"asesor.{c['number']}"] = person(f"asesor.{c['number']}", "agent",
                                                    c["entity"])
        kiosks = {f"kiosk-{k}": accounts.enrol_device(store, f"kiosk-{k}", "kiosk")
                  for k in range(1, plan.options.kiosks + 1)}
        tvs = [accounts.enrol_device(store, f"tv-{k}", "display")
               for k in range(1, plan.options.tvs + 1)]
    finally:
        store.close()
    return {"staff": staff, "kiosks": kiosks, "tvs": tvs}


def _threads(target: Callable[..., None], args: list[tuple]) -> list[threading.Thread]:
    threads = [threading.Thread(target=target, args=a, daemon=True) for a in args]
    for t in threads:
        t.start()
    return threads


def _join(threads: list[threading.Thread], deadline: float) -> bool:
    for t in threads:
        t.join(max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in threads)


def _floor_is_empty(day: Day, staff: dict[str, str]) -> bool:
    """Nobody waits and no módulo holds a ticket."""
    status, queues = day.server.request("GET", "/api/v1/queues", headers=staff)
    status2, counters = day.server.request("GET", "/api/v1/counters", headers=staff)
    if status != 200 or status2 != 200:
        return False
    assert isinstance(queues, dict) and isinstance(counters, dict)
    return (sum(q["waiting"] for q in queues["queues"]) == 0
            and all(c["current"] is None for c in counters["counters"]))


def _announcer_settled(server: LiveServer, deadline: float) -> int:
    """Wait until the TVs' announcer stops announcing (its queue drained); its count."""
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        _, health = server.request("GET", "/api/v1/health")
        assert isinstance(health, dict)
        now = int(health["components"].get("speaker", {}).get("announced", 0))
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 2.0:
            break
        time.sleep(0.25)
    return last


def simulate(options: Options, say: Callable[[str], None] = progress) -> DayResult:
    """Play one day against a fresh server; see the module's docstring."""
    plan = plan_day(options)
    o = options
    with tempfile.TemporaryDirectory(prefix="mt-day-") as tmp:
        root = Path(o.state_dir or tmp)
        root.mkdir(parents=True, exist_ok=True)
        config = root / "centre.toml"
        config.write_text(toml_text(plan.centre), encoding="utf-8")
        state = root / "state"
        state.mkdir()
        start = datetime.fromtimestamp(plan.opens_at - 1800, TZ)
        began = time.monotonic()
        creds = enrol(config, state, plan, start - timedelta(minutes=10))
        say(f"setup: {len(creds['staff'])} staff sessions, {o.kiosks} kiosks and {o.tvs} "
            f"TVs in {time.monotonic() - began:.1f} s")
        server = LiveServer(state, config, serve_args=(
            "--clock-start", start.isoformat(), "--clock-speed", f"{o.speed:g}"))
        return _run_day(plan, server, creds, say)


def _memory_line(server: LiveServer, when: datetime) -> str:
    """The server's memory at a simulated instant: RSS, SQLite's share, readers open."""
    rss = rss_kib(server.proc.pid)[0] / 1024 if server.proc else 0.0
    _, health = server.request("GET", "/api/v1/health")
    mem = health.get("components", {}).get("memory", {}) if isinstance(health, dict) else {}
    return (f"{when:%H:%M} RSS {rss:.1f} MiB, SQLite {mem.get('sqlite_mib', '?')} MiB, "
            f"{mem.get('readers', '?')} readers")


def _sample_memory(server: LiveServer, t: SimTime, plan: Plan, stop: threading.Event,
                   say: Callable[[str], None]) -> threading.Thread:
    """Say the server's memory at every simulated hour from the first on, until ``stop``."""
    def run() -> None:
        at = plan.opens_at + 3600
        while t.sleep_until(at, stop):
            say("memory at " + _memory_line(server, plan.local(at)))
            at += 3600
    thread = threading.Thread(target=run, name="memory-sampler", daemon=True)
    thread.start()
    return thread


def end_of_day(day: Day, staff: dict[str, str], desks: list[threading.Thread],
               kiosks: list[threading.Thread], deadline: float) -> None:
    """The kiosks end with the last visitor; after closing time the day is closed as soon
    as nobody waits (at the latest the grace later), then the desks stop."""
    plan, t, floor, server = day.plan, day.time, day.floor, day.server
    _join(kiosks, deadline)
    end = max(plan.closes_at, t.now()) + plan.options.close_grace_minutes * 60
    while t.now() < end and not day.over():
        if t.now() >= plan.closes_at and _floor_is_empty(day, staff):
            break
        t.sleep_until(t.now() + 120, floor.stop_all)
    floor.stop_calls.set()
    for event in floor.wake.values():
        event.set()
    if not _join(desks, deadline):
        floor.violation("asesores still busy at the deadline")
        floor.stop_all.set()
    # Closing expires whatever still waits, each with its event for every live stream: after
    # an overwhelming day that is thousands, so the close gets minutes, and takes what it takes
    # (kept in ``day.close_seconds``); a close that does not answer is a violation, not a
    # crash that loses the day's figures.
    began = time.monotonic()
    try:
        status, closed = server.request("POST", "/api/v1/day/close", {"expire_waiting": True},
                                        staff, timeout=CLOSE_TIMEOUT_S)
    except OSError as exc:
        status, closed = 0, repr(exc)
    day.close_seconds = time.monotonic() - began
    if status != 200:
        floor.violation(f"day/close answered {status}: {closed}")


def _run_day(plan: Plan, server: LiveServer, creds: dict[str, Any],
             say: Callable[[str], None]) -> DayResult:
    o = plan.options
    began = time.monotonic()
    simulated = plan.closes_at - plan.opens_at + 3600 + o.close_grace_minutes * 60
    deadline = began + simulated / o.speed * 1.5 + 180
    serves: dict[str, list[int]] = defaultdict(list)
    for c in plan.counters:
        for q in c["queues"]:
            serves[q].append(c["number"])
    floor = Floor(dict(serves))
    server.start(timeout=30)
    threads: list[threading.Thread] = []
    try:
        t = SimTime.of_server(server, o.speed)
        staff = creds["staff"]["supervisor"]
        day = Day(plan, server, t, floor, creds["kiosks"], deadline,
                  reception=creds["staff"]["orientador"])
        day.tv_calls, day.tv_connections = [0] * o.tvs, [0] * o.tvs
        status, opened = server.request("POST", "/api/v1/day/open", {}, staff)
        if status != 200:
            raise RuntimeError(f"day/open answered {status}: {opened}")
        say(f"day {plan.day}: {o.visitors} visitors, {len(plan.counters)} módulos of "
            f"{o.entities} entities, {o.hours:g} h at {o.speed:g}x "
            f"(about {simulated / o.speed / 60:.1f} min)")
        tvs = _threads(tv, [(day, token, i) for i, token in enumerate(creds["tvs"])])
        rng = random.Random(o.seed + 2)
        asesores = [Asesor(day, c["number"], creds["staff"][f"asesor.{c['number']}"],
                           random.Random(rng.random())) for c in plan.counters]
        desks = _threads(Asesor.run, [(a,) for a in asesores])
        kiosks = _threads(kiosk, [(day, k) for k in range(1, o.kiosks + 1)])
        threads = tvs + desks + kiosks + [_sample_memory(server, t, plan, floor.stop_all, say)]
        t.sleep_until(plan.opens_at + 3600, floor.stop_all)
        rss_first_hour = rss_kib(server.proc.pid)[0] if server.proc else 0
        say(f"first hour: {len(floor.issued)} tickets, RSS {rss_first_hour / 1024:.1f} MiB")
        end_of_day(day, staff, desks, kiosks, deadline)
        closed_at = t.now()
        announced = _announcer_settled(server, time.monotonic() + 60)
        rss_end = rss_kib(server.proc.pid)[0] if server.proc else 0
        say("memory after the day: " + _memory_line(server, plan.local(t.now())))
        cpu_before = cpu_seconds(server.proc.pid) if server.proc else 0.0
        time.sleep(o.idle_seconds)
        idle = (cpu_seconds(server.proc.pid) - cpu_before) / o.idle_seconds * 100 \
            if server.proc else float("nan")
    finally:
        floor.stop_all.set()
        _join(threads, time.monotonic() + 15)
        server.stop()
    wall = time.monotonic() - began
    evidence = DayEvidence(server.state / DB_NAME, plan.day.isoformat(),
                           {u: i.label for u, i in floor.issued.items()},
                           list(floor.violations)
                           + [f"unexpected answers: {k} ×{n}" for k, n in
                              floor.unexpected.items()],
                           list(day.tv_calls), list(day.tv_connections))
    checks = run_checks(evidence)
    result = _measure(plan, evidence, floor, checks, wall)
    result.clock_uncertainty = t.uncertainty
    result.figures.update(rss_first_hour_mib=rss_first_hour / 1024,
                          rss_end_mib=rss_end / 1024,
                          rss_growth_mb=(rss_end - rss_first_hour) * 1024 / MB,
                          idle_cpu_percent=idle, announced=announced,
                          closed_at_hour=plan.local(closed_at).hour
                          + plan.local(closed_at).minute / 60)
    return result


def _measure(plan: Plan, ev: DayEvidence, floor: Floor, checks: dict[str, list[str]],
             wall: float) -> DayResult:
    """The day's figures from the database and the 201s."""
    with ev.connect() as conn:
        first_call = {r[0]: (from_iso(r[1]), from_iso(r[2]) if r[2] else None) for r in
                      conn.execute("SELECT t.uid, t.issued_at, MIN(a.called_at) FROM tickets t "
                                   "JOIN attentions a ON a.ticket = t.id WHERE t.day = ? "
                                   "GROUP BY t.id", (ev.day,))}
        final = Counter(r[0] for r in conn.execute(
            "SELECT a.status FROM attentions a JOIN tickets t ON t.id = a.ticket "
            "WHERE t.day = ? AND a.step = (SELECT MAX(step) FROM attentions "
            "WHERE ticket = a.ticket)", (ev.day,)))
        done = [(from_iso(r[0]), from_iso(r[1])) for r in conn.execute(
            "SELECT started_at, ended_at FROM attentions WHERE day = ? AND status = 'done' "
            "AND outcome = 'attended' AND started_at IS NOT NULL", (ev.day,))]
        attentions = Counter(r[0] for r in conn.execute(
            "SELECT status FROM attentions WHERE day = ?", (ev.day,)))
    waits, errors, first_hour, rest = [], [], [], []
    for uid, (issued, called) in first_call.items():
        if called is None:
            continue
        wait = (called - issued).total_seconds() / 60
        waits.append(wait)
        mine = floor.issued.get(uid)
        if mine is not None and mine.estimate is not None:
            errors.append(mine.estimate - wait)
            # the crowd before opening and the first hour, apart from the rest of the day
            (first_hour if mine.at < plan.opens_at + 3600 else rest).append(errors[-1])
    per_hour = Counter(datetime.fromtimestamp(end.timestamp(), TZ).hour for _, end in done)
    o = plan.options
    figures = {
        "tickets": float(len(first_call)),
        "served": float(final["done"]),
        "no_show": float(final["no_show"]),
        "expired": float(final["expired"]),
        "preferential_share": sum(i.preferential for i in floor.issued.values())
        / max(1, len(floor.issued)),
        "wait_mean": statistics.fmean(waits) if waits else math.nan,
        "wait_median": percentile(waits, 50),
        "wait_p90": percentile(waits, 90),
        "throughput_per_hour": len(done) / o.hours,
        "throughput_peak_hour": float(max(per_hour.values(), default=0)),
        "attention_mean": statistics.fmean((e - s).total_seconds() / 60 for s, e in done)
        if done else math.nan,
        "estimate_mae": statistics.fmean(abs(e) for e in errors) if errors else math.nan,
        "estimate_bias": statistics.fmean(errors) if errors else math.nan,
        **_errors("first_hour", first_hour), **_errors("rest", rest),
        "issued_before_opening": float(sum(i.at < plan.opens_at
                                           for i in floor.issued.values())),
    }
    counts = {**floor.counts, "attentions": sum(attentions.values()),
              "attentions_transferred": attentions["transferred"],
              "multi_step_tickets": sum(i.steps > 1 for i in floor.issued.values()),
              "issued_by_reception": sum(i.channel == "reception"
                                         for i in floor.issued.values())}
    return DayResult(ev.day, plan.opens_at, plan.closes_at, figures, checks, dict(counts),
                     dict(floor.unexpected), waits, errors, wall)


def _errors(name: str, errors: list[float]) -> dict[str, float]:
    """Mean absolute error and bias of the estimates at issue of part of the day."""
    return {f"estimate_mae_{name}": statistics.fmean(abs(e) for e in errors)
            if errors else math.nan,
            f"estimate_bias_{name}": statistics.fmean(errors) if errors else math.nan}


# ----------------------------------------------------------------------------- the script


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=1)
    d = Options()
    p.add_argument("--visitors", type=int, default=d.visitors)
    p.add_argument("--counters", type=int, default=d.counters, help="módulos")
    p.add_argument("--entities", type=int, default=d.entities, help="1 to 15")
    p.add_argument("--kiosks", type=int, default=d.kiosks)
    p.add_argument("--tvs", type=int, default=d.tvs, help="TVs on the live stream")
    p.add_argument("--opens", default=d.opens, help="opening time, HH:MM")
    p.add_argument("--hours", type=float, default=d.hours, help="opening hours")
    p.add_argument("--speed", type=float, default=d.speed,
                   help="simulated seconds per real second")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--day", default=None, help="YYYY-MM-DD (default: tomorrow in Lima)")
    p.add_argument("--utilisation", type=float, default=d.utilisation,
                   help="share of the módulos' opening hours the attentions take")
    p.add_argument("--idle", type=float, default=d.idle_seconds,
                   help="real seconds of idle CPU measured after the day")
    p.add_argument("--state-dir", type=Path, default=None,
                   help="keep the centre and the server's state here (a new folder)")
    return p


def options_of(args: argparse.Namespace) -> Options:
    return Options(visitors=args.visitors, counters=args.counters, entities=args.entities,
                   kiosks=args.kiosks, tvs=args.tvs, opens=args.opens, hours=args.hours,
                   speed=args.speed, seed=args.seed, day=args.day,
                   utilisation=args.utilisation, idle_seconds=args.idle,
                   state_dir=args.state_dir)


def summary(result: DayResult, options: Options) -> list[str]:
    """The human summary of a day."""
    f, c = result.figures, result.counts
    lines = [
        f"{f['tickets']:.0f} tickets ({f['preferential_share']:.0%} preferential, "
        f"{c.get('multi_step_tickets', 0)} visits of several trámites, "
        f"{c.get('issued_by_reception', 0)} by the orientador after a kiosk refused): "
        f"{f['served']:.0f} served, {f['no_show']:.0f} no-show, {f['expired']:.0f} expired",
        f"waits (issue to first call): mean {f['wait_mean']:.1f} min, median "
        f"{f['wait_median']:.1f}, p90 {f['wait_p90']:.1f}; attention mean "
        f"{f['attention_mean']:.1f} min",
        f"throughput: {f['throughput_per_hour']:.0f} attentions per opening hour, peak hour "
        f"{f['throughput_peak_hour']:.0f}; {c.get('transferred', 0)} derivations, "
        f"{c.get('pauses_break', 0) + c.get('pauses_it_support', 0)} pauses, "
        f"{c.get('ratings', 0)} ratings",
        f"wait estimate at issue: mean absolute error {f['estimate_mae']:.1f} min, "
        f"bias {f['estimate_bias']:+.1f} min; first hour ({f['issued_before_opening']:.0f} "
        f"tickets before opening) {f['estimate_mae_first_hour']:.1f} min, bias "
        f"{f['estimate_bias_first_hour']:+.1f}; rest of the day "
        f"{f['estimate_mae_rest']:.1f} min, bias {f['estimate_bias_rest']:+.1f}",
        f"server RSS {f['rss_first_hour_mib']:.1f} MiB after the first hour, "
        f"{f['rss_end_mib']:.1f} MiB after the day ({f['rss_growth_mb']:+.1f} MB); idle CPU "
        f"{f['idle_cpu_percent']:.2f}% of a core over {options.idle_seconds:g} s",
        f"day closed at {int(f['closed_at_hour']):02d}:{round(f['closed_at_hour'] % 1 * 60):02d}"
        f" after {result.wall_seconds:.0f} s of real time",
    ]
    for name, found in result.checks.items():
        lines.append(f"check {name}: " + ("ok" if not found else
                                          f"{len(found)} violations: {found[:3]}"))
    return lines


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("day_sim", argv)

    def fig(key: str, label: str, unit: str, target: tuple[str, float] | None = None) -> Figure:
        return Figure(f"day_sim.{key}", label, unit, target, cmd)

    figures = {
        "violations": fig("violations", "Simulated day: invariant violations", "",
                          ("<=", 0)),
        "wait_mean": fig("wait_mean", "Simulated day: mean wait, issue to first call", "min"),
        "wait_median": fig("wait_median", "Simulated day: median wait", "min"),
        "wait_p90": fig("wait_p90", "Simulated day: p90 wait", "min"),
        "throughput_per_hour": fig("throughput", "Simulated day: attentions per opening hour",
                                   "/h"),
        "throughput_peak_hour": fig("throughput_peak", "Simulated day: attentions in the "
                                                       "busiest hour", "/h"),
        "estimate_mae": fig("estimate_mae", "Simulated day: wait estimate at issue, mean "
                                            "absolute error", "min"),
        "estimate_bias": fig("estimate_bias", "Simulated day: wait estimate at issue, mean "
                                              "error (estimate - real)", "min"),
        "estimate_mae_first_hour": fig(
            "estimate_mae_first_hour", "Simulated day: wait estimate at issue in the first "
                                       "hour (crowd before opening included), mean absolute "
                                       "error", "min"),
        "estimate_bias_first_hour": fig(
            "estimate_bias_first_hour", "Simulated day: wait estimate at issue in the first "
                                        "hour, mean error (estimate - real)", "min"),
        "estimate_mae_rest": fig("estimate_mae_rest", "Simulated day: wait estimate at issue "
                                                      "after the first hour, mean absolute "
                                                      "error", "min"),
        "estimate_bias_rest": fig("estimate_bias_rest", "Simulated day: wait estimate at issue "
                                                        "after the first hour, mean error "
                                                        "(estimate - real)", "min"),
        "issued_before_opening": fig("issued_before_opening", "Simulated day: tickets issued "
                                                              "before opening time", ""),
        "rss_growth_mb": fig("rss_growth", "Simulated day: server RSS growth from the first "
                                           "hour to the end of the day", "MB", ("<=", 10)),
        "rss_end_mib": fig("rss_end", "Simulated day: server RSS after the day", "MiB"),
        "idle_cpu_percent": fig("idle_cpu", "Simulated day: server CPU idle after the day",
                                "% of a core", ("<=", 2)),
        "wall": fig("wall", "Simulated day: real duration", "s"),
    }
    options = options_of(args)
    for n in range(args.runs):
        result = simulate(replace(options, seed=options.seed + n))
        for line in summary(result, options):
            progress(line)
        values = {**result.figures, "violations": float(result.violations),
                  "wall": result.wall_seconds}
        for key, figure in figures.items():
            figure.add(values[key])
        if result.violations:
            figures["violations"].notes.append("; ".join(
                f"{k}: {v[:3]}" for k, v in result.checks.items() if v))
    return list(figures.values())


def main(argv: list[str] | None = None) -> list[Figure]:
    figures = cli(run, parser(), argv)
    if any(f.key == "day_sim.violations" and f.met is False for f in figures):
        sys.exit(1)
    return figures


if __name__ == "__main__":
    main()
