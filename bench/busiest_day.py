"""The busiest day: a simulated day at the size of the busiest Centro MAC, its opening rush
in real time, on a server that may be held to a Raspberry Pi's budget.

7,000 visitors at 60 módulos of the 15 entities (``bench.day_plan``'s centre and arrival
curve, ``bench.day_people``'s kiosks, orientador and asesores), with everything a real day
has connected at once: 6 kiosks printing on virtual printers; 20 TVs in 2 zones, each
following the live stream (the calls it shows) and its zone's announcement stream (the
voice, espeak-ng); the asesores, orientadores and supervisor logging in over HTTP between
08:15 and 08:30 (a PIN hash each), each desk then on the live stream; 600 phones reading
their ticket's status every 5 s while it waits; the supervisor on the live stream, reading
the dashboard every 10 to 30 s; the uplink sending every 5 s to a central receiver on a real
PostgreSQL. The server's clock runs at ``--rush-speed`` (1: real time) from
``--rush-start`` to ``--rush-end``, then at ``--speed-after`` (``serve --clock-speed-after``).

Measured: kiosk tap → ticket, desk click → answer and call → on the TVs, in the rush (with
the targets: a full run's rush is real time) and over the day; call → voice at the TVs (and
when the TV's voice planner would start it), logins, phone polls, unexpected 4xx,
5xx and 503 answers, refused live streams, the server's CPU (cores) and peak RSS (and the
cgroup's peak memory under a budget); then every post-day check of ``bench.day_checks``
plus the print jobs, the TVs' voice per zone and the central's copy of the event log.

    sudo .venv/bin/python -m bench.busiest_day --budget pi4   # about 105 min
    sudo .venv/bin/python -m bench.busiest_day --budget pi4 --rush-speed 10 --speed-after 60
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from appliance.runtime import DB_NAME
from bench.budget import Held, NoBudget
from bench.busiest_clients import PhoneBank, Stream, StreamHub, dashboard, login
from bench.busiest_figures import figures_of, measure
from bench.busiest_setup import (
    BusyOptions,
    Central,
    CentralUnavailable,
    Run,
    enrol,
    hold,
    launcher,
    place_in_zones,
    surge,
    tv_zone,
    uplink_table,
)
from bench.common import (
    Figure,
    arguments,
    cli,
    command,
    cpu_seconds,
    progress,
    rss_kib,
)
from bench.crash_drill import print_jobs_written
from bench.day_checks import POST_DAY_CHECKS, Check, DayEvidence, run_checks
from bench.day_people import Asesor, Day, Floor, SimTime, kiosk
from bench.day_plan import TZ, Options, Plan, plan_day, toml_text
from bench.day_sim import _announcer_settled, _join, _threads, end_of_day
from bench.pi_budget import calibrate
from bench.run_all import busy_seconds
from harness.live_server import PIN, LiveServer

LEAD = 6.0  # real seconds between the server's clock start and the rush


def _local(plan: Plan, text: str) -> float:
    hour, minute = (int(x) for x in text.split(":"))
    d = plan.day
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=TZ).timestamp()


class ShiftAsesor(Asesor):
    """An asesor who logs in over HTTP when the shift starts, opens the desk's live stream,
    then works the day as ``Asesor`` does."""

    def __init__(self, day: Day, number: int, rng: random.Random, username: str,
                 login_at: float, hub: StreamHub) -> None:
        super().__init__(day, number, {}, rng)
        self.username, self.login_at, self.hub = username, login_at, hub

    def run(self) -> None:
        if not self.day.time.sleep_until(self.login_at, self.floor.stop_all):
            return
        headers = staff_login(self.day.port, self.username, self.floor)
        if headers is None:
            return
        self.headers = headers
        self.hub.add(Stream("desk", "/api/v1/stream", f"Cookie: {headers['Cookie']}\r\n"))
        super().run()


def staff_login(port: int, username: str, floor: Floor) -> dict[str, str] | None:
    status, headers, seconds = login(port, username, PIN)
    floor.timed("login", seconds)
    if headers is None:
        floor.answer(f"login ({username})", status, b"", (200,))
        floor.violation(f"{username} could not log in ({status})")
    return headers


class Sampler(threading.Thread):
    """The server's RSS every 2 real seconds (its peak); at the end of the rush the server's
    CPU so far and how many of each timing the rush had; a progress line every simulated
    half hour."""

    def __init__(self, pid: int, t: SimTime, rush_end: float, floor: Floor, bank: PhoneBank,
                 say: Callable[[str], None]) -> None:
        super().__init__(name="sampler", daemon=True)
        self.pid, self.t, self.rush_end, self.floor = pid, t, rush_end, floor
        self.bank, self.say = bank, say
        self.peak_kib = 0
        self.rush: dict[str, Any] | None = None

    def run(self) -> None:
        began, cpu = time.monotonic(), cpu_seconds(self.pid)
        half_hour = (self.t.now() // 1800 + 1) * 1800
        while not self.floor.stop_all.wait(
                2.0 if self.rush is not None
                else min(2.0, max(0.0, self.t.real_at(self.rush_end) - time.monotonic()))):
            try:
                rss = rss_kib(self.pid)[0]
                self.peak_kib = max(self.peak_kib, rss)
                now = self.t.now()
                if self.rush is None and now >= self.rush_end:
                    self.rush = {"cpu": cpu_seconds(self.pid), "at": time.monotonic(),
                                 "marks": {k: len(v) for k, v in self.floor.timings.items()}}
                if now >= half_hour:
                    half_hour += 1800
                    used = cpu_seconds(self.pid)
                    cores = (used - cpu) / max(1e-9, time.monotonic() - began)
                    began, cpu = time.monotonic(), used
                    self.say(f"{datetime.fromtimestamp(now, TZ):%H:%M} "
                             f"{len(self.floor.issued)} tickets, {self.bank.active} phones "
                             f"polling, server {cores:.2f} cores, RSS {rss / 1024:.0f} MiB, "
                             f"{len(self.floor.violations)} violations")
            except OSError:
                return


class SpeedWatch(threading.Thread):
    """This machine's speed every ``every`` real seconds while a budget is held (n-body CPU
    time, as the budget was calibrated): a shared machine's cores run faster or slower
    over an hour, and the budget's quota stays as it was set, so the run reports the
    spread."""

    def __init__(self, first: float, stop: threading.Event, every: float = 600.0,
                 steps: int = 50_000) -> None:
        super().__init__(name="speed-watch", daemon=True)
        self.readings, self.stop_event, self.every, self.steps = [first], stop, every, steps

    def run(self) -> None:
        while not self.stop_event.wait(self.every):
            self.readings.append(calibrate(self.steps)[1])


def simulate(o: BusyOptions, say: Callable[[str], None] = progress) -> Run:
    """Play the busiest day; see the module's docstring. Raises ``CentralUnavailable`` or
    ``NoBudget`` when the central or the budget cannot be had."""
    if o.budget not in ("none", "pi4", "pi5"):
        raise ValueError("--budget is none, pi4 or pi5")
    plan = plan_day(Options(visitors=o.visitors, counters=o.modulos,
                            entities=min(15, o.modulos), kiosks=o.kiosks, tvs=o.tvs,
                            opens=o.opens, hours=o.hours, speed=o.speed_after, seed=o.seed,
                            day=o.day))
    rush_start, rush_end = _local(plan, o.rush_start), _local(plan, o.rush_end)
    if not rush_start <= plan.opens_at - 15 * 60 or not rush_start < rush_end:
        raise ValueError("the rush starts at least 15 minutes before opening (the crowd at "
                         "the door) and ends after it starts")
    if o.rate_factor != 1:
        added = surge(plan, rush_start, rush_end, o.rate_factor, random.Random(o.seed + 7))
        say(f"rush at {o.rate_factor:g}x its rate: {added} more visitors")
    zones = place_in_zones(plan, o.zones)
    with tempfile.TemporaryDirectory(prefix="mt-busiest-") as tmp:
        root = Path(o.state_dir or tmp)
        root.mkdir(parents=True, exist_ok=True)
        central = Central(root, plan.centre["centre"]["code"])
        held: Held | None = None
        try:
            central.start()
            held = hold(o.budget, say)
            plan.centre["uplink"] = uplink_table(central.address, central.token,
                                                 o.uplink_seconds)
            config = root / "centre.toml"
            config.write_text(toml_text(plan.centre), encoding="utf-8")
            state = root / "state"
            state.mkdir()
            # the clock starts LEAD real seconds before the rush: the server's start fits in
            start = datetime.fromtimestamp(rush_start - LEAD * o.rush_speed, TZ)
            began = time.monotonic()
            people = enrol(config, state, plan, start - timedelta(minutes=10),
                           o.orientadores, o.tvs)
            say(f"setup: {1 + o.orientadores + len(plan.counters)} staff accounts, "
                f"{o.kiosks} kiosks, {o.tvs} TVs in {time.monotonic() - began:.1f} s")
            server = LiveServer(state, config, serve_args=(
                "--clock-start", start.isoformat(), "--clock-speed", f"{o.rush_speed:g}",
                "--clock-speed-after", f"{o.speed_after:g}", "--clock-speed-change",
                datetime.fromtimestamp(rush_end, TZ).isoformat(), "--no-advertise"),
                launcher=launcher(held))
            run = _run_day(o, plan, server, people, zones, (rush_start, rush_end), central,
                           held, say)
        finally:
            if held is not None:
                held.close()
            central.stop()
    return run


def _run_day(o: BusyOptions, plan: Plan, server: LiveServer, people: dict[str, Any],
             zones: dict[int, str], rush: tuple[float, float], central: Central,
             held: Held | None, say: Callable[[str], None]) -> Run:
    rush_start, rush_end = rush
    simulated_rush = rush_end - rush_start + LEAD * o.rush_speed
    rest = plan.closes_at + plan.options.close_grace_minutes * 60 - rush_end
    expected = simulated_rush / o.rush_speed + rest / o.speed_after
    began = time.monotonic()
    deadline = began + expected * 1.5 + 300
    serves: dict[str, list[int]] = defaultdict(list)
    for c in plan.counters:
        for q in c["queues"]:
            serves[q].append(c["number"])
    floor = Floor(dict(serves))
    floor.on_violation = lambda text: say(f"violation: {text[:300]}")
    hub = StreamHub(server.port, o.tvs, floor.stop_all, deadline)
    bank = PhoneBank(server.port, floor, o.phones, floor.stop_all, deadline,
                     period=o.poll_seconds, seed=o.seed + 3)
    threads: list[threading.Thread] = []
    try:
        server.start(timeout=60)
        assert server.proc is not None
        pid = server.proc.pid
        cpu_began, own_began = cpu_seconds(pid), resource.getrusage(resource.RUSAGE_SELF)
        cpu_at, busy_began = time.monotonic(), busy_seconds()
        t = SimTime.of_server(server, o.rush_speed, change_at=rush_end,
                              speed_after=o.speed_after)
        say(f"day {plan.day}: {len(plan.visitors)} visitors, {len(plan.counters)} módulos, "
            f"{o.tvs} TVs in {o.zones} zones, {o.phones} phones; rush "
            f"{o.rush_start}–{o.rush_end} at {o.rush_speed:g}x, then {o.speed_after:g}x "
            f"(about {expected / 60:.0f} min)")
        for i, token in enumerate(people["tvs"]):
            auth = f"Authorization: Bearer {token}\r\n"
            hub.add(Stream("tv", "/api/v1/stream", auth, index=i))
            hub.add(Stream("voice", f"/display/tv-{i + 1}/announcements?voice=es,qu&zone="
                           f"{tv_zone(i, o.tvs, o.zones)}", auth, index=i,
                           zone=tv_zone(i, o.tvs, o.zones)))
        hub.start()
        sampler = Sampler(pid, t, rush_end, floor, bank, say)
        sampler.start()
        watch = SpeedWatch(held.factor, floor.stop_all) if held is not None else None
        if watch is not None:
            watch.start()
        t.sleep_until(rush_start, floor.stop_all)
        supervisor = staff_login(server.port, people["supervisor"], floor)
        reception = [staff_login(server.port, name, floor) for name in people["reception"]]
        if supervisor is None or not reception or reception[0] is None:
            raise RuntimeError(f"the supervisor or the orientador could not log in: "
                               f"{floor.violations}")
        status, opened = server.request("POST", "/api/v1/day/open", {}, supervisor)
        if status != 200:
            raise RuntimeError(f"day/open answered {status}: {opened}")
        hub.add(Stream("supervisor", "/api/v1/stream", f"Cookie: {supervisor['Cookie']}\r\n"))
        day = Day(plan, server, t, floor, people["kiosks"], deadline, reception=reception[0])
        rng = random.Random(o.seed + 2)
        last_login = max(rush_start, plan.opens_at - 300)
        desks = [ShiftAsesor(day, n, random.Random(rng.random()), name,
                             rng.uniform(rush_start, last_login), hub)
                 for n, name in people["asesores"].items()]
        floor.on_issued = bank.issued
        bank.start()
        workers = _threads(ShiftAsesor.run, [(a,) for a in desks])
        kiosks = _threads(kiosk, [(day, k) for k in range(1, o.kiosks + 1)])
        watcher = threading.Thread(target=dashboard, args=(
            server.port, supervisor, floor, floor.stop_all, deadline, o.seed), daemon=True)
        watcher.start()
        threads = [*workers, *kiosks, watcher]
        end_of_day(day, supervisor, workers, kiosks, deadline)
        announced = _announcer_settled(server, time.monotonic() + 60)
        acked = _uplink_settled(server, time.monotonic() + 120)
        cpu_end, wall = cpu_seconds(pid), time.monotonic() - began
        cpu_wall, busy = time.monotonic() - cpu_at, busy_seconds() - busy_began
        own_end = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        floor.stop_all.set()
        bank.join(10)
        hub.join(10)
        _join(threads, time.monotonic() + 15)
        server.stop()
    cgroup_peak = held.cgroup.peak_memory() if held is not None else None
    own = (own_end.ru_utime - own_began.ru_utime) + (own_end.ru_stime - own_began.ru_stime)
    evidence = DayEvidence(server.state / DB_NAME, plan.day.isoformat(),
                           {u: i.label for u, i in floor.issued.items()},
                           list(floor.violations)
                           + [f"unexpected answers: {k} ×{n}" for k, n in
                              floor.unexpected.items()],
                           list(hub.tv_calls), hub.connections("tv"))
    checks = run_checks(evidence, [*POST_DAY_CHECKS,
                                   ("print_jobs_written", print_jobs_written),
                                   ("tvs_announced_their_zone", _voice_check(hub, zones)),
                                   ("uplink_delivered_everything",
                                    _uplink_check(central, acked))])
    return measure(o, plan, evidence, floor, hub, bank, checks, zones, {
        "wall": wall, "server_wall": cpu_wall, "server_cpu": cpu_end - cpu_began,
        "generator_cpu": own, "machine_busy": busy,
        "peak_kib": sampler.peak_kib, "cgroup_peak": cgroup_peak, "rush": sampler.rush,
        "cpu_at": cpu_at, "cpu_began": cpu_began, "announced": announced,
        "central_events": len(central.received()), "close_seconds": day.close_seconds,
        "speeds": watch.readings if watch is not None else []})


def _uplink_settled(server: LiveServer, deadline: float) -> int:
    """Wait until the uplink has every event of the log acknowledged; the acked seq."""
    acked = 0
    while time.monotonic() < deadline:
        _, health = server.request("GET", "/api/v1/health")
        uplink = health.get("components", {}).get("uplink", {}) \
            if isinstance(health, dict) else {}
        acked = int(uplink.get("acked_seq") or 0)
        if uplink.get("backlog") == 0:
            break
        time.sleep(0.5)
    return acked


def _voice_check(hub: StreamHub, zones: dict[int, str]) -> Check:
    def tvs_announced_their_zone(ev: DayEvidence) -> list[str]:
        """Each TV kept one announcement stream all day and it announced every call and
        recall to its zone's módulos, and nothing else."""
        with ev.connect() as conn:
            calls = conn.execute("SELECT seq, counter FROM events WHERE kind IN "
                                 "('ticket.called', 'ticket.recalled')").fetchall()
        found = []
        for s in (s for s in hub.streams if s.kind == "voice"):
            wanted = {seq for seq, counter in calls if zones.get(counter) == s.zone}
            heard = [int(a["event"]) for _, a in hub.voice[s.index]]
            if s.connections != 1 or sorted(heard) != sorted(wanted):
                found.append(f"TV {s.index + 1} ({s.zone}): {len(set(heard) & wanted)} of "
                             f"{len(wanted)} calls announced, {len(set(heard) - wanted)} "
                             f"others, {len(heard) - len(set(heard))} twice, over "
                             f"{s.connections} connections")
        return found
    return tvs_announced_their_zone


def _uplink_check(central: Central, acked: int) -> Check:
    def uplink_delivered_everything(ev: DayEvidence) -> list[str]:
        """Every event up to the closed day is at the central, once, and acknowledged."""
        with ev.connect() as conn:
            box = dict(conn.execute("SELECT uid, seq FROM events").fetchall())
            closed = conn.execute("SELECT MAX(seq) FROM events WHERE kind = 'day.closed'"
                                  ).fetchone()[0] or 0
        got = central.received()
        repeated = sum(1 for n in Counter(got).values() if n > 1)
        found = [f"{repeated} events stored more than once"] if repeated else []
        if acked < closed:
            found.append(f"the uplink acknowledged up to {acked}, the day closed at {closed}")
        stored = set(got)
        missing = [u for u, seq in box.items() if seq <= acked and u not in stored]
        found += [f"{len(missing)} acknowledged events missing at the central"] if missing \
            else []
        return found
    return uplink_delivered_everything


# ----------------------------------------------------------------------------- the script


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=1)
    d = BusyOptions()
    p.add_argument("--budget", choices=("none", "pi4", "pi5"), default="pi4",
                   help="hold the server to a Raspberry Pi's budget (root; default pi4)")
    p.add_argument("--visitors", type=int, default=d.visitors)
    p.add_argument("--modulos", type=int, default=d.modulos)
    p.add_argument("--tvs", type=int, default=d.tvs)
    p.add_argument("--zones", type=int, default=d.zones, help="floor areas of módulos and TVs")
    p.add_argument("--kiosks", type=int, default=d.kiosks)
    p.add_argument("--phones", type=int, default=d.phones, help="at most polling at once")
    p.add_argument("--rush-start", default=d.rush_start, help="HH:MM")
    p.add_argument("--rush-end", default=d.rush_end, help="HH:MM")
    p.add_argument("--rush-speed", type=float, default=d.rush_speed,
                   help="the clock's speed in the rush (1: real time)")
    p.add_argument("--speed-after", type=float, default=d.speed_after,
                   help="the clock's speed after the rush")
    p.add_argument("--rate-factor", type=float, default=d.rate_factor,
                   help="arrivals in the rush at this many times their rate (e.g. 10)")
    p.add_argument("--hours", type=float, default=d.hours, help="opening hours from 08:30")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--day", default=None, help="YYYY-MM-DD (default: tomorrow in Lima)")
    p.add_argument("--state-dir", type=Path, default=None,
                   help="keep the centre and the server's state here (a new folder)")
    return p


def options_of(args: argparse.Namespace) -> BusyOptions:
    return BusyOptions(visitors=args.visitors, modulos=args.modulos, tvs=args.tvs,
                       zones=args.zones, kiosks=args.kiosks, phones=args.phones,
                       rush_start=args.rush_start, rush_end=args.rush_end,
                       rush_speed=args.rush_speed, speed_after=args.speed_after,
                       rate_factor=args.rate_factor, budget=args.budget, hours=args.hours,
                       seed=args.seed, day=args.day, state_dir=args.state_dir)


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    options = options_of(args)
    cmd = command("busiest_day", argv)
    runs = []
    for n in range(args.runs):
        try:
            result = simulate(BusyOptions(**{**options.__dict__, "seed": options.seed + n}))
        except (CentralUnavailable, NoBudget) as exc:
            progress(f"cannot run the busiest day: {exc}")
            sys.exit(1)
        for line in result.lines:
            progress(line)
        runs.append(result)
    return figures_of(runs, options, cmd)


def main(argv: list[str] | None = None) -> list[Figure]:
    figures = cli(run, parser(), argv)
    if any(f.key == "busiest_day.violations" and f.met is False for f in figures):
        sys.exit(1)
    return figures


if __name__ == "__main__":
    main()

