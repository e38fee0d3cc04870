"""What the busiest day sets up before it starts: the centre (``bench.day_plan``'s, with its
módulos in zones, an uplink and optionally a surge of arrivals in the rush), its people and
devices, the central receiver on a throwaway PostgreSQL, and the Raspberry Pi budget the
server runs in."""

from __future__ import annotations

import http.client
import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.runtime import open_store
from bench.budget import Held
from bench.day_plan import Plan
from bench.pi_budget import calibrated_budgets
from config import load_settings
from harness.live_server import PIN, free_port
from harness.pg_cluster import PgCluster
from turnero import accounts
from turnero.clock import ManualClock

UPLINK_SECRET = "busiest-day-uplink-secret"


@dataclass(frozen=True)
class BusyOptions:
    """The size and the pace of the busiest day; the defaults are the full day."""

    visitors: int = 7000
    modulos: int = 60
    tvs: int = 20
    zones: int = 2
    kiosks: int = 6
    phones: int = 600
    poll_seconds: float = 5.0  # a phone's status page reads the ticket this often
    orientadores: int = 2
    rush_start: str = "08:15"  # staff log in, the day opens, the crowd at the door
    rush_end: str = "09:30"
    rush_speed: float = 1.0
    speed_after: float = 20.0
    rate_factor: float = 1.0  # arrivals in the rush at this many times their rate
    budget: str = "none"  # none, pi4, pi5
    opens: str = "08:30"
    hours: float = 10.0
    seed: int = 1
    day: str | None = None
    uplink_seconds: int = 5
    state_dir: Path | None = None


@dataclass
class Run:
    """One busiest day: its figures (by key), the checks' findings and what happened."""

    figures: dict[str, float]
    checks: dict[str, list[str]]
    counts: dict[str, Any]
    lines: list[str] = field(default_factory=list)  # the human summary

    @property
    def violations(self) -> int:
        return sum(len(v) for v in self.checks.values())

# ----------------------------------------------------------------------------- the centre


def zone_of(number: int, modulos: int, zones: int) -> str:
    """The floor area of módulo ``number``: consecutive módulos (so an entity's, mostly)
    share one."""
    return f"piso-{1 + (number - 1) * zones // modulos}"


def tv_zone(index: int, tvs: int, zones: int) -> str:
    """The area TV ``index`` (from 0) hangs in: as many TVs in each area as can be."""
    return f"piso-{1 + index * zones // max(1, tvs)}"


def place_in_zones(plan: Plan, zones: int) -> dict[int, str]:
    """Give every módulo of the plan its zone (``[[counters]] zone``); módulo → zone."""
    modulos = len(plan.counters)
    for row in plan.counters:
        row["zone"] = zone_of(row["number"], modulos, zones)
    return {row["number"]: row["zone"] for row in plan.counters}


def surge(plan: Plan, start: float, end: float, factor: float, rng: random.Random) -> int:
    """Open loop at ``factor`` times the arrival rate between ``start`` and ``end``: each
    extra citizen wants what one of the window's citizens wants and comes near when another
    of them came (the window's own curve), within the window. How many were added."""
    inside = [v for v in plan.visitors if start <= v.at < end]
    extra = round(len(inside) * (factor - 1)) if inside else 0
    added = [replace(rng.choice(inside),
                     at=min(end - 1e-3, max(start, rng.choice(inside).at + rng.uniform(-60, 60))))
             for _ in range(extra)]
    plan.visitors = sorted(plan.visitors + added, key=lambda v: v.at)
    return extra


def uplink_table(url: str, token: str, interval: int) -> dict[str, Any]:
    """The ``[uplink]`` of the centre: every ``interval`` seconds to the central at ``url``."""
    return {"enabled": True, "central_url": url, "token": token, "secret": UPLINK_SECRET,
            "interval_seconds": interval, "timeout_seconds": 10.0, "backoff_cap_seconds": 10.0}


def enrol(config: Path, state: Path, plan: Plan, at: datetime, orientadores: int,
          tvs: int) -> dict[str, Any]:
    """The centre's people (their PINs hashed here, before the server starts; they log in
    over HTTP during the day) and its enrolled kiosks and TVs, at the simulated instant
    ``at``. Returns the usernames by role and the devices' tokens."""
    settings = load_settings(config)
    store = open_store(settings, state, ManualClock(at))
    security = settings.security
    try:
        supervisor = "supervisor"
        reception = [f"orientador.{k}" for k in range(1, orientadores + 1)]
        asesores = {c["number"]: f"asesor.{c['number']}" for c in plan.counters}
        accounts.create_user(store, supervisor, "supervisor", PIN, security=security)
        for name in reception:
            accounts.create_user(store, name, "receptionist", PIN, security=security)
        for c in plan.counters:
            accounts.create_user(store, asesores[c["number"]], "agent", PIN,
                                 security=security, entity=c["entity"])
        kiosks = {f"kiosk-{k}": accounts.enrol_device(store, f"kiosk-{k}", "kiosk")
                  for k in range(1, plan.options.kiosks + 1)}
        screens = [accounts.enrol_device(store, f"tv-{k}", "display")
                   for k in range(1, tvs + 1)]
    finally:
        store.close()
    return {"supervisor": supervisor, "reception": reception, "asesores": asesores,
            "kiosks": kiosks, "tvs": screens}


# ----------------------------------------------------------------------------- the central


class CentralUnavailable(RuntimeError):
    """The central receiver could not be started (PostgreSQL missing or failing)."""


class Central:
    """The central office's receiver (``mac-turnos central serve``) in a subprocess on
    127.0.0.1, on a fresh database of a throwaway PostgreSQL cluster
    (``harness.pg_cluster``), with the simulated centre registered."""

    def __init__(self, folder: Path, centre: str) -> None:
        self.centre, self.log = centre, folder / "central.log"
        self.pg: PgCluster | None = None
        self.proc: subprocess.Popen | None = None
        self.port = free_port()
        try:
            self.pg = PgCluster().start()
            self.url = self.pg.new_database()
        except Exception as exc:
            self.stop()
            raise CentralUnavailable(f"the central's PostgreSQL could not be started: {exc}"
                                     ) from exc
        from sync.central.db import Database
        from sync.central.ingest import add_centre

        db = Database(self.url)
        try:
            db.migrate()
            self.token = add_centre(db, centre, "Centro simulado")
        finally:
            db.close()

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "appliance", "central", "serve", "--db", self.url,
                 "--port", str(self.port), "--threads", "4"], stdout=out,
                stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                break
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        raise CentralUnavailable(f"the central receiver did not start: "
                                 f"{self.log.read_text(errors='replace')[-1000:]}")

    def received(self) -> list[str]:
        """The uids of every event the central stored for the centre (repeats included)."""
        from sync.central.db import Database

        db = Database(self.url)
        try:
            return [r["uid"] for r in db.conn().query(
                "SELECT uid FROM events WHERE centre = ?", (self.centre,))]
        finally:
            db.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.pg is not None:
            self.pg.stop()
            self.pg = None


# ----------------------------------------------------------------------------- the budget


def hold(name: str, say: Callable[[str], None]) -> Held | None:
    """The Raspberry Pi budget ``name`` (pi4, pi5) calibrated now, held in a cgroup of its
    own (``bench.budget``; needs root), or None for ``none``. Raises ``NoBudget``."""
    if name == "none":
        return None
    factor, budgets = calibrated_budgets()
    held = Held(budgets[name], factor)
    b = held.budget
    say(f"budget {name}: {b.cpus:.2f} cores of this machine (one core here is {factor:.2f} "
        f"Pi 4 cores by n-body CPU time), {b.memory_bytes / (1 << 30):.0f} GiB, fsync "
        f"+{b.fsync_ms:g} ms (cgroup v{held.cgroup.version})")
    return held


def launcher(held: Held | None) -> Callable[..., subprocess.Popen]:
    """How ``LiveServer`` starts the server: inside the budget, whose environment carries
    the fsync shim (not overridden by the caller's copy of this process's environment)."""
    if held is None:
        return subprocess.Popen

    def start(args: list[str], **kwargs: Any) -> subprocess.Popen:
        own = ("LD_PRELOAD", "MAC_TURNOS_FSYNC_DELAY_US")
        env = {k: v for k, v in (kwargs.pop("env", None) or os.environ).items()
               if k not in own}
        return held.popen(args, env=env, **kwargs)
    return start
