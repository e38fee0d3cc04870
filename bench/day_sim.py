"""A simulated busy day at a Centro MAC, played against a real server at accelerated time.

A Lima-size day by default: 5,000 visitors on a realistic arrival curve (people waiting at
the door at opening, a morning rush, a lunch dip, a quiet last hour) at a centre of 15
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
estimate given at issue, the server's RSS after the first hour and after the day, and its
idle CPU after the day.

    .venv/bin/python -m bench.day_sim        # the full day: about 11 minutes
    .venv/bin/python -m bench.day_sim --visitors 300 --counters 8 --entities 4 --hours 3 \\
        --speed 400                          # the suite's size (tests/test_day_sim.py)
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import random
import socket
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from appliance.http import SESSION_COOKIE
from appliance.runtime import DB_NAME, open_store
from bench.common import (
    Client,
    Figure,
    arguments,
    cli,
    command,
    cpu_seconds,
    percentile,
    progress,
    rss_kib,
)
from bench.indicators_check import indicators_match_the_event_log
from config import load_settings
from config.demo import CATALOG, demo_data
from tests.live_server import PIN, LiveServer
from turnero import accounts, policy
from turnero.clock import BUILD_DATE, ManualClock, from_iso

TZ = ZoneInfo("America/Lima")
MB = 1_000_000

# ----------------------------------------------------------------------------- the centre

# The demo centre's entities in order of size, then the Poder Judicial (its antecedentes
# certificates), the 15th entity of a Lima-size centre: (code, prefix, short name, pattern
# of the catalogue's entity, módulos at full size, colour).
EXTRA_ENTITY = ("PJ", "PJ", "Poder Judicial", "Poder Judicial", 3, "#6b2c2c")
# Relative mean attention minutes per queue (the scale comes from --utilisation).
QUEUE_MINUTES = {"RN": 6.0, "RC": 3.0, "BN": 4.0, "ST": 7.0, "MG": 8.0, "SR": 7.0, "ES": 6.0,
                 "SI": 5.0, "MT": 6.0, "SL": 5.0, "MC": 6.0, "ON": 8.0, "IN": 8.0, "MD": 6.0,
                 "SD": 5.0, "PJ": 5.0}
DEMO_MODULES = {"RENIEC": 5, "BN": 4, "SUNAT": 3, "MIGRACIONES": 3, "SUNARP": 3, "ESSALUD": 2,
                "SIS": 2, "MTC": 2, "SATLIMA": 2, "COMAS": 3, "ONP": 2, "INDECOPI": 2,
                "MIDIS": 2, "SEDAPAL": 2, EXTRA_ENTITY[0]: EXTRA_ENTITY[4]}


def _extra_entity() -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """Entity, queue and services of the Poder Judicial, from the catalogue's Anexo 3 (whose
    PDF extraction writes an entity name on its first row only)."""
    code, prefix, short, pattern, _, colour = EXTRA_ENTITY
    with (CATALOG / "servicios_centros_mac_anexo3.csv").open(encoding="utf-8") as f:
        rows, entity = [], ""
        for row in csv.DictReader(f):
            entity = row["entidad"] or entity
            if pattern in entity:
                rows.append(row)
    name = rows[0]["entidad"] if rows else short
    services = [{"id": int(r["n"]), "queue": prefix, "name": " ".join(r["servicio"].split())}
                for r in rows]
    return ({"code": code, "name": name, "short_name": short, "colour": colour},
            {"code": prefix, "entity": code, "prefix": prefix, "name": short,
             "max_wait_minutes": 30, "max_attention_minutes": 26}, services)


def apportion(total: int, weights: list[int]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder), at least 1 each."""
    if total < len(weights):
        raise ValueError(f"{total} módulos cannot staff {len(weights)} entities")
    spare = total - len(weights)
    shares = [spare * w / sum(weights) for w in weights]
    counts = [1 + int(s) for s in shares]
    order = sorted(range(len(weights)), key=lambda i: int(shares[i]) - shares[i])
    for i in order[:total - sum(counts)]:
        counts[i] += 1
    return counts


def centre_data(entities: int, counters: int, opens: str, closes: str,
                kiosks: int) -> dict[str, Any]:
    """The simulated centre as TOML-shaped data: the first ``entities`` entities of the demo
    centre (then the Poder Judicial) with ``counters`` módulos in the demo's proportions.

    Simulation settings, and why: the scheduler neither opens nor closes the day (its
    triggers follow the real clock; the simulator opens and closes it at simulated
    instants); kiosks have no per-minute limit (it counts real minutes, and a simulated
    minute lasts a second); every day of the week has the same hours and no holiday, so
    any date gives the same day."""
    demo = demo_data()
    extra_entity, extra_queue, extra_services = _extra_entity()
    all_entities = [*demo["entities"], extra_entity]
    if not 1 <= entities <= len(all_entities):
        raise ValueError(f"--entities must be 1 to {len(all_entities)}")
    chosen = all_entities[:entities]
    codes = [e["code"] for e in chosen]
    queues = [q for q in [*demo["queues"], extra_queue] if q["entity"] in codes]
    queue_codes = {q["code"] for q in queues}
    services = [{k: v for k, v in s.items() if k != "appointments"}
                for s in [*demo["services"], *extra_services] if s["queue"] in queue_codes]
    modules = apportion(counters, [DEMO_MODULES[c] for c in codes])
    rows, number = [], 1
    for code, count in zip(codes, modules, strict=True):
        own = [q["code"] for q in queues if q["entity"] == code]
        for i in range(count):
            row: dict[str, Any] = {"number": number, "entity": code, "queues": own}
            if len(own) > 1:  # as in the demo: most módulos prefer the first queue
                first = i < max(1, round(count * 0.6))
                row["weights"] = {q: (2 if (j == 0) == first else 1)
                                  for j, q in enumerate(own)}
            rows.append(row)
            number += 1
    hours = f"{opens}-{closes}"
    return {
        "centre": {"code": "sim-lima", "name": "MAC Lima Norte (simulación)"},
        "server": {"threads": 128},
        "kiosk": {"tickets_per_minute": 0},
        "schedule": {"open_day": "manual", "close_day": "manual", "national_holidays": False},
        "hours": {day: hours for day in ("monday", "tuesday", "wednesday", "thursday",
                                         "friday", "saturday", "sunday", "holidays")},
        "entities": chosen, "queues": queues, "services": services, "counters": rows,
        "printers": [{"name": f"kiosko-{k}", "transport": "virtual",
                      "devices": [f"kiosk-{k}"], "reception": k == 1}
                     for k in range(1, kiosks + 1)],
    }


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML for {value!r}")


def toml_text(data: dict[str, Any]) -> str:
    """The TOML of ``data``'s shape: tables of scalars and arrays of such tables."""
    lines: list[str] = []
    for name, value in data.items():
        if isinstance(value, dict):
            lines += [f"[{name}]", *(f"{k} = {_toml_value(v)}" for k, v in value.items()), ""]
    for name, value in data.items():
        if isinstance(value, list):
            for item in value:
                lines += [f"[[{name}]]", *(f"{k} = {_toml_value(v)}" for k, v in item.items()),
                          ""]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- the plan

# Relative arrivals per local hour (the curve's shape; a centre opens at 8:30): the morning
# rush, the lunch dip, a second smaller wave, the quiet last hour.
HOURLY = {7: 1.0, 8: 1.5, 9: 1.6, 10: 1.45, 11: 1.2, 12: 0.75, 13: 0.6, 14: 0.85, 15: 0.9,
          16: 0.8, 17: 0.55, 18: 0.35, 19: 0.3}
AT_THE_DOOR = 0.04  # share of the day's visitors waiting outside at opening
DOOR_MINUTES = 3.0  # ...who all take their ticket in the first minutes
PRIORITIES = (("adulto_mayor", 0.5), ("nino", 0.2), ("gestante", 0.15), ("discapacidad", 0.15))
WALK_SECONDS = 40.0  # mean, from the call to the citizen at the módulo
NO_SHOW_RECALL_AFTER = 60.0  # seconds: the asesor recalls once...
NO_SHOW_AFTER = 120.0  # ...and marks the no-show this long after the recall
SIGMA = 0.5  # of the lognormal attention times (a mean of 5 min: 90% below 8.5 min)
BREAK_MINUTES = 22.5  # mean of each asesor's break in a 10-hour day (15 to 30)
IT_PAUSE_SHARE, IT_PAUSE_MINUTES = 0.15, 7.5  # some wait for IT support (5 to 10 min)


@dataclass(frozen=True)
class Options:
    """The size and the shape of the day; the defaults are the full Lima-size day."""

    visitors: int = 5000
    counters: int = 40
    entities: int = 15
    kiosks: int = 6
    tvs: int = 2
    opens: str = "08:30"
    hours: float = 10.0
    speed: float = 60.0
    seed: int = 1
    day: str | None = None  # YYYY-MM-DD; default tomorrow in Lima
    preferential: float = 0.20
    multi_step: float = 0.05
    no_show: float = 0.03
    transfer: float = 0.02
    rating: float = 0.40
    utilisation: float = 0.85
    idle_seconds: float = 10.0
    close_grace_minutes: float = 30.0
    state_dir: Path | None = None  # keep the server's state here instead of a temporary dir


@dataclass(frozen=True)
class Visitor:
    at: float  # simulated instant, epoch seconds
    service: int
    visit: tuple[int, ...]
    priority: str | None
    language: str


@dataclass
class Plan:
    """Everything decided before the day: the centre, who comes when for what."""

    options: Options
    centre: dict[str, Any]
    day: date
    opens_at: float
    closes_at: float
    visitors: list[Visitor]
    minutes: dict[int, float]  # mean attention minutes per service
    queue_of: dict[int, str]
    entity_of_queue: dict[str, str]
    services_of_entity: dict[str, list[int]]
    counters: list[dict[str, Any]]
    break_minutes: float  # mean, shorter in a shorter day

    def local(self, at: float) -> datetime:
        return datetime.fromtimestamp(at, TZ)

    def other_service(self, rng: random.Random, not_entity: str) -> int | None:
        """A service of another entity (the target of a derivation or a further step)."""
        others = [e for e in self.services_of_entity if e != not_entity]
        return rng.choice(self.services_of_entity[rng.choice(others)]) if others else None


def _clock_of(day: date, text: str) -> datetime:
    hour, minute = (int(x) for x in text.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def _arrivals(rng: random.Random, count: int, opens: float, closes: float) -> list[float]:
    """``count`` instants on the day's curve: a share at the door, the rest by the hourly
    profile (piecewise constant) up to 5 minutes before closing."""
    door = round(count * AT_THE_DOOR)
    times = [opens + rng.uniform(0, DOOR_MINUTES * 60) for _ in range(door)]
    end = closes - 300
    edges, at = [], opens
    while at < end:
        local = datetime.fromtimestamp(at, TZ)
        nxt = min(end, (local.replace(minute=0, second=0, microsecond=0)
                        + timedelta(hours=1)).timestamp())
        edges.append((at, nxt, HOURLY.get(local.hour, 0.3) * (nxt - at)))
        at = nxt
    weights = [w for _, _, w in edges]
    for lo, hi, _ in rng.choices(edges, weights=weights, k=count - door):
        times.append(rng.uniform(lo, hi))
    return sorted(times)


def plan_day(options: Options) -> Plan:
    """The day's centre and visitors, and attention times scaled to the utilisation."""
    o = options
    if o.visitors < 1 or o.kiosks < 1 or o.tvs < 0 or not 0.5 <= o.hours <= 11:
        # at most 11 hours: the staff's sessions last 12 ([security] session_hours)
        raise ValueError("need visitors ≥ 1, kiosks ≥ 1, tvs ≥ 0 and 0.5 to 11 hours")
    rng = random.Random(o.seed)
    day = date.fromisoformat(o.day) if o.day else (datetime.now(TZ).date() + timedelta(days=1))
    day = max(day, BUILD_DATE)
    opens = _clock_of(day, o.opens)
    closes = opens + timedelta(hours=o.hours)
    if closes.date() != day:
        raise ValueError("the day must close before midnight")
    centre = centre_data(o.entities, o.counters, o.opens, f"{closes:%H:%M}", o.kiosks)
    queue_of = {s["id"]: s["queue"] for s in centre["services"]}
    entity_of_queue = {q["code"]: q["entity"] for q in centre["queues"]}
    services_of_entity: dict[str, list[int]] = defaultdict(list)
    for sid, queue in queue_of.items():
        services_of_entity[entity_of_queue[queue]].append(sid)
    factor = random.Random(o.seed + 1)
    relative = {sid: QUEUE_MINUTES.get(q, 6.0) * factor.uniform(0.7, 1.4)
                for sid, q in sorted(queue_of.items())}
    modules = Counter(c["entity"] for c in centre["counters"])
    # Demand per entity in proportion to the work its módulos can do, so that every entity
    # is about as busy; inside an entity every service is as likely.
    entity_minutes = {e: statistics.fmean(relative[s] for s in ss)
                      for e, ss in services_of_entity.items()}
    entity_weight = {e: modules[e] / entity_minutes[e] for e in services_of_entity}
    entities = sorted(entity_weight)
    mean_relative = (sum(entity_weight[e] * entity_minutes[e] for e in entities)
                     / sum(entity_weight.values()))
    # Scale: the módulos' time over the opening hours, less pauses, walking and no-shows,
    # shared among the expected attentions.
    open_minutes = o.hours * 60
    break_minutes = BREAK_MINUTES * min(1.0, o.hours / 10)
    paused = break_minutes + IT_PAUSE_SHARE * IT_PAUSE_MINUTES
    attentions = o.visitors * (1 + o.multi_step * 1.3 + o.transfer)
    per_attention = ((o.utilisation * o.counters * open_minutes
                      - o.counters * paused) / attentions
                     - WALK_SECONDS / 60 - o.no_show * (NO_SHOW_RECALL_AFTER + NO_SHOW_AFTER) / 60)
    if per_attention < 0.5:
        raise ValueError(f"{o.visitors} visitors are too many for {o.counters} módulos in "
                         f"{o.hours:g} hours (under half a minute each)")
    minutes = {sid: m * per_attention / mean_relative for sid, m in relative.items()}
    visitors = []
    for at in _arrivals(rng, o.visitors, opens.timestamp(), closes.timestamp()):
        entity = rng.choices(entities, weights=[entity_weight[e] for e in entities])[0]
        service = rng.choice(services_of_entity[entity])
        visit: list[int] = []
        if rng.random() < o.multi_step:
            seen = {entity}
            for _ in range(1 if rng.random() < 0.7 else 2):
                others = [e for e in entities if e not in seen]
                if not others:
                    break
                step = rng.choice(others)
                seen.add(step)
                visit.append(rng.choice(services_of_entity[step]))
        priority = None
        if rng.random() < o.preferential:
            priority = rng.choices([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES])[0]
        visitors.append(Visitor(at, service, tuple(visit), priority,
                                "qu" if rng.random() < 0.05 else "es"))
    return Plan(o, centre, day, opens.timestamp(), closes.timestamp(), visitors, minutes,
                queue_of, entity_of_queue, dict(services_of_entity), centre["counters"],
                break_minutes)


# ----------------------------------------------------------------------------- simulated time


class SimTime:
    """The simulated instant on the clients' side, in step with the server's clock: read
    once from /api/v1/health, then carried on by the monotonic clock at the same speed."""

    def __init__(self, server_now: float, at_real: float, speed: float) -> None:
        self.origin, self.real, self.speed = server_now, at_real, speed

    @classmethod
    def of_server(cls, server: LiveServer, speed: float) -> SimTime:
        before = time.monotonic()
        status, health = server.request("GET", "/api/v1/health")
        after = time.monotonic()
        assert status == 200 and isinstance(health, dict)
        now = from_iso(health["components"]["clock"]["now"]).timestamp()
        return cls(now, (before + after) / 2, speed)

    def now(self) -> float:
        return self.origin + (time.monotonic() - self.real) * self.speed

    def real_seconds(self, simulated: float) -> float:
        return max(0.0, simulated / self.speed)

    def sleep_until(self, at: float, stop: threading.Event) -> bool:
        """Wait for the simulated instant ``at``; False if ``stop`` came first."""
        return not stop.wait(self.real_seconds(at - self.now()))


# ----------------------------------------------------------------------------- the floor


@dataclass
class Issued:
    """What the 201 of one ticket said, and when."""

    uid: str
    label: str
    queue: str
    preferential: bool
    estimate: int | None
    ahead: int | None
    at: float
    channel: str
    steps: int


class Floor:
    """What the simulated people share: the tickets confirmed to them, which módulo holds
    which ticket as far as they know, the wake-ups of idle módulos (a real desk hears of a
    new ticket on its live stream), and everything that went wrong."""

    def __init__(self, serves: dict[str, list[int]]) -> None:
        self.lock = threading.Lock()
        self.serves = serves
        self.wake = {n: threading.Event() for ns in serves.values() for n in ns}
        self.issued: dict[str, Issued] = {}
        self.holding: dict[int, str] = {}
        self.violations: list[str] = []
        self.unexpected: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.stop_calls = threading.Event()  # asesores stop calling (the day is over)
        self.stop_all = threading.Event()  # every thread stops now (deadline or failure)

    def notify(self, queue: str) -> None:
        for n in self.serves.get(queue, ()):
            self.wake[n].set()

    def count(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.counts[what] += n

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    def answer(self, what: str, status: int, raw: bytes, expected: tuple[int, ...]) -> bool:
        """Whether ``status`` is one of ``expected``; anything else is recorded: a 5xx or a
        dropped connection is a violation, other statuses are unexpected answers."""
        if status in expected:
            return True
        text = f"{what}: {status} {raw[:160].decode('utf-8', 'replace')}"
        if status == 0 or status >= 500:
            self.violation(f"server error on {text}")
        else:
            with self.lock:
                self.unexpected[f"{what.split(' ')[0]} {status} {_code(raw)}"] += 1
        return False

    def hold(self, counter: int, uid: str, label: str) -> None:
        """A módulo got ``uid`` from call-next: nobody else may hold it, and it holds
        nothing else."""
        with self.lock:
            other = next((n for n, u in self.holding.items() if u == uid), None)
            if other is not None:
                self.violations.append(f"double call: {label} given to módulo {counter} "
                                       f"while módulo {other} holds it")
            if counter in self.holding:
                self.violations.append(f"módulo {counter} got {label} while holding "
                                       f"{self.holding[counter]}")
            self.holding[counter] = uid

    def release(self, counter: int) -> None:
        with self.lock:
            self.holding.pop(counter, None)


def _code(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("error", ""))
    except (ValueError, AttributeError):
        return ""


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# ----------------------------------------------------------------------------- people


@dataclass
class Day:
    """One running simulated day: the plan, the server, the time and the shared floor."""

    plan: Plan
    server: LiveServer
    time: SimTime
    floor: Floor
    kiosk_tokens: dict[str, str]
    deadline: float  # monotonic; every loop ends by then
    reception: dict[str, str] = field(default_factory=dict)
    next_visitor: int = 0
    tv_calls: list[int] = field(default_factory=list)
    tv_connections: list[int] = field(default_factory=list)

    @property
    def port(self) -> int:
        return self.server.port

    def over(self) -> bool:
        return self.floor.stop_all.is_set() or time.monotonic() > self.deadline

    def take_visitor(self) -> Visitor | None:
        with self.floor.lock:
            if self.next_visitor >= len(self.plan.visitors):
                return None
            self.next_visitor += 1
            return self.plan.visitors[self.next_visitor - 1]


def kiosk(day: Day, k: int) -> None:
    """One kiosk: the next arriving citizen takes a ticket; one the kiosk refuses near
    closing time goes to the orientador, who issues it anyway."""
    floor = day.floor
    headers = {"Authorization": f"Bearer {day.kiosk_tokens[f'kiosk-{k}']}"}
    with Client(day.port, headers) as client, Client(day.port, day.reception) as desk:
        while not day.over() and (visitor := day.take_visitor()) is not None:
            if not day.time.sleep_until(visitor.at, floor.stop_all):
                return
            body: dict[str, Any] = {"service_id": visitor.service,
                                    "language": visitor.language}
            if visitor.priority:
                body["priority"] = visitor.priority
            if visitor.visit:
                body["visit"] = list(visitor.visit)
            key = {"Idempotency-Key": uuid.uuid4().hex}
            status, raw, _ = client.post("/api/v1/tickets", body, key)
            channel = "kiosk"
            if status == 409 and _code(raw) == "after_closing":
                floor.count("refused_at_kiosk")
                status, raw, _ = desk.post("/api/v1/tickets", body, key)
                channel = "reception"
            if status == 409 and _code(raw) == "after_hours":
                floor.count("turned_away_after_hours")
                continue
            if not floor.answer("POST /tickets", status, raw, (201,)):
                continue
            t = _json(raw)
            with floor.lock:
                floor.issued[t["uid"]] = Issued(
                    t["uid"], t["label"], t["queue"], bool(t["preferential"]),
                    t.get("estimated_wait_minutes"), t.get("ahead"), day.time.now(), channel,
                    1 + len(visitor.visit))
            floor.notify(t["queue"])


class Asesor:
    """One módulo's asesor: opens at the start of the day, calls, serves, pauses, closes."""

    IDLE_POLL = 120.0  # simulated seconds between call-next when no wake-up came

    def __init__(self, day: Day, number: int, headers: dict[str, str], rng: random.Random):
        self.day, self.n, self.headers, self.rng = day, number, headers, rng
        self.floor = day.floor
        row = next(c for c in day.plan.counters if c["number"] == number)
        self.entity = row["entity"]
        plan, o = day.plan, day.plan.options
        length = plan.closes_at - plan.opens_at
        self.pauses = [(plan.opens_at + length * rng.uniform(0.3, 0.7),
                        60 * plan.break_minutes * rng.uniform(2 / 3, 4 / 3), "break")]
        if rng.random() < IT_PAUSE_SHARE:
            self.pauses.append((plan.opens_at + length * rng.uniform(0.1, 0.9),
                                60 * IT_PAUSE_MINUTES * rng.uniform(2 / 3, 4 / 3), "it_support"))
        self.pauses.sort()
        self.o = o

    def base(self) -> str:
        return f"/api/v1/counters/{self.n}"

    def post(self, client: Client, action: str, body: object | None = None,
             expected: tuple[int, ...] = (200,)) -> tuple[int, dict[str, Any]]:
        status, raw, _ = client.post(f"{self.base()}/{action}", body or {})
        self.floor.answer(f"{action} (módulo {self.n})", status, raw, expected)
        return status, _json(raw)

    def sleep(self, seconds: float) -> bool:
        return self.day.time.sleep_until(self.day.time.now() + seconds, self.floor.stop_all)

    def run(self) -> None:
        try:
            with Client(self.day.port, self.headers) as client:
                self._run(client)
        except Exception as exc:  # a failure of the simulator is reported, never hidden
            self.floor.violation(f"módulo {self.n} stopped: {exc!r}")

    def _run(self, client: Client) -> None:
        plan, t = self.day.plan, self.day.time
        opening = plan.opens_at - self.rng.uniform(0, 300)
        if not t.sleep_until(opening, self.floor.stop_all):
            return
        self.post(client, "open")
        wake = self.floor.wake[self.n]
        while not self.floor.stop_calls.is_set() and not self.day.over():
            if self.pauses and t.now() >= self.pauses[0][0]:
                _, seconds, reason = self.pauses.pop(0)
                self.post(client, "pause", {"reason": reason})
                self.floor.count(f"pauses_{reason}")
                self.sleep(seconds)
                self.post(client, "resume")
                continue
            wake.clear()
            status, ticket = self.post(client, "call-next", expected=(200, 204))
            if status == 204:
                until = min(t.now() + self.IDLE_POLL,
                            self.pauses[0][0] if self.pauses else math.inf)
                wake.wait(t.real_seconds(until - t.now()))
                continue
            if status != 200:
                self.sleep(5)
                continue
            self.serve(client, ticket)
        self.post(client, "close", expected=(200, 409))

    def serve(self, client: Client, ticket: dict[str, Any]) -> None:
        floor, o, rng = self.floor, self.o, self.rng
        uid = ticket["uid"]
        floor.hold(self.n, uid, ticket["label"])
        try:
            if ticket["step"] == 1 and ticket["recalls"] == 0 and rng.random() < o.no_show:
                self.sleep(NO_SHOW_RECALL_AFTER)
                self.post(client, "recall")
                self.sleep(NO_SHOW_AFTER)
                self.post(client, "no-show")
                floor.count("no_show_marked")
                return
            self.sleep(rng.lognormvariate(math.log(WALK_SECONDS) - SIGMA ** 2 / 2, SIGMA))
            self.post(client, "start")
            mean = self.day.plan.minutes[ticket["service_id"]] * 60
            seconds = rng.lognormvariate(math.log(mean) - SIGMA ** 2 / 2, SIGMA)
            target = self.day.plan.other_service(rng, self.entity)
            if target is not None and rng.random() < o.transfer:
                self.sleep(seconds * rng.uniform(0.3, 0.6))
                status, after = self.post(client, "transfer",
                                          {"service_id": target, "position": "arrival"})
                if status == 200:
                    floor.count("transferred")
                    floor.notify(after["queue"])
                return
            self.sleep(seconds)
            status, after = self.post(client, "finish", {"outcome": "attended"})
            if status != 200:
                return
            if after["status"] == "waiting":  # the visit's next trámite
                floor.count("next_steps")
                floor.notify(after["queue"])
            elif rng.random() < o.rating:
                code, raw, _ = client.post(f"/api/v1/tickets/{uid}/rating",
                                           {"score": rng.choice((3, 4, 4, 5, 5, 5))})
                if floor.answer("rating", code, raw, (200,)):
                    floor.count("ratings")
        finally:
            floor.release(self.n)


def tv(day: Day, token: str, index: int) -> None:
    """A waiting-room TV on the live stream for the whole day: counts the calls it hears.
    HTTP/1.0, so the stream comes without chunking until the server or the TV ends it."""
    request = (f"GET /api/v1/stream HTTP/1.0\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").encode()
    buffer = b""
    while not day.floor.stop_all.is_set() and time.monotonic() < day.deadline:
        try:
            with socket.create_connection(("127.0.0.1", day.port), timeout=10) as sock:
                sock.settimeout(0.5)
                sock.sendall(request)
                day.tv_connections[index] += 1
                while not day.floor.stop_all.is_set() and time.monotonic() < day.deadline:
                    try:
                        chunk = sock.recv(65536)
                    except TimeoutError:
                        continue
                    if not chunk:
                        break
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    day.tv_calls[index] += sum(1 for line in lines
                                               if line == b"event: ticket.called")
        except OSError:
            time.sleep(0.2)


# ----------------------------------------------------------------------------- post-day checks


@dataclass
class DayEvidence:
    """What the post-day checks read: the server's database once the jornada is closed, and
    what the clients were told during it."""

    db: Path
    day: str
    confirmed: dict[str, str]  # uid → label of every ticket a 201 (or a replayed 200) gave
    client_violations: list[str] = field(default_factory=list)
    tv_calls: list[int] = field(default_factory=list)  # ticket.called heard by each TV
    tv_connections: list[int] = field(default_factory=list)
    _replay: Replay | None = None

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection to the server's database, closed afterwards."""
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            yield conn
        finally:
            conn.close()

    @property
    def replay(self) -> Replay:
        if self._replay is None:
            with self.connect() as conn:
                self._replay = Replay.of_database(conn, self.day)
        return self._replay


@dataclass
class _Passage:
    """A ticket's current attention as the event log tells it."""

    label: str
    queue: str
    preferential: bool
    status: str = "waiting"
    counter: int | None = None


class Replay:
    """The day told again from the event log in commit order (seq): which tickets waited in
    which queue, which módulo held which ticket, each queue's run of preferential calls.

    The preferential invariant follows ``turnero.policy`` exactly: a normal ticket chosen by
    call-next (any rule but ``manual``, an explicit choice by staff) while a preferential
    ticket of the same queue waits is allowed only by the queue's anti-starvation options:
    rule ``preferential_streak_limit`` after at least ``max_preferential_in_row`` preferential
    calls in a row, or rule ``max_normal_wait`` when ``max_normal_wait_minutes`` is on. Both
    are off by default (strict priority, Ley 27408): then no normal ticket is ever called
    while a preferential ticket of its queue waits."""

    def __init__(self, day: str, rules: dict[str, tuple[int, int]]) -> None:
        """``rules``: each queue's (max_preferential_in_row, max_normal_wait_minutes)."""
        self.day, self.rules = day, rules
        self.double_calls: list[str] = []
        self.passed_preferential: list[str] = []
        self.unknown: list[str] = []
        self.calls = 0
        self.tickets: dict[str, _Passage] = {}
        self.holding: dict[int, str] = {}
        self.prefs: dict[str, set[str]] = defaultdict(set)  # waiting preferential, per queue
        self.streak: dict[str, int] = defaultdict(int)

    @classmethod
    def of_database(cls, conn: sqlite3.Connection, day: str) -> Replay:
        replay = cls(day, {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT code, max_preferential_in_row, max_normal_wait_minutes FROM queues")})
        for row in conn.execute(
                "SELECT kind, counter, ticket, payload FROM events WHERE kind LIKE "
                "'ticket.%' OR kind = 'counter.closed' ORDER BY seq"):
            replay.apply(row[0], row[1], row[2], json.loads(row[3]))
        return replay

    def apply(self, kind: str, counter: int | None, uid: str | None,
              p: dict[str, Any]) -> None:
        """One event, in commit order."""
        if kind == "counter.closed":
            self.holding.pop(counter or 0, None)
            return
        if p.get("day") != self.day or uid is None:
            return
        t = self.tickets.get(uid)
        if kind == "ticket.issued":
            self.tickets[uid] = _Passage(p["label"], p["queue"], bool(p["preferential"]))
            self._wait(uid)
            return
        if t is None:
            self.unknown.append(f"{kind} of a ticket never issued ({uid})")
            return
        if kind == "ticket.called":
            self._call(uid, t, counter, p.get("rule"))
        elif kind == "ticket.started":
            t.status = "serving"
        elif kind in ("ticket.no_show", "ticket.cancelled", "ticket.finished",
                      "ticket.expired"):
            self._leave(uid, kind.split(".")[1])
        elif kind in ("ticket.transferred", "ticket.next_step"):
            if kind == "ticket.transferred":
                self._leave(uid, "transferred")
            t.queue = p["to_queue"]
            self._wait(uid)
        elif kind == "ticket.reactivated":
            self._wait(uid)
        elif kind == "ticket.priority_changed":
            if t.status == "waiting":
                self.prefs[t.queue].discard(uid)
            t.preferential = bool(p["preferential"])
            if t.status == "waiting" and t.preferential:
                self.prefs[t.queue].add(uid)

    def _wait(self, uid: str) -> None:
        t = self.tickets[uid]
        t.status, t.counter = "waiting", None
        if t.preferential:
            self.prefs[t.queue].add(uid)

    def _leave(self, uid: str, status: str) -> None:
        t = self.tickets[uid]
        if t.status == "waiting":
            self.prefs[t.queue].discard(uid)
        if t.counter is not None and self.holding.get(t.counter) == uid:
            del self.holding[t.counter]
        t.status, t.counter = status, None

    def _call(self, uid: str, t: _Passage, counter: int | None, rule: str | None) -> None:
        self.calls += 1
        if t.status != "waiting":
            self.double_calls.append(f"{t.label} called at módulo {counter} while {t.status} "
                                     f"at módulo {t.counter}")
        held = self.holding.get(counter or 0)
        if held is not None and held != uid:
            self.double_calls.append(f"módulo {counter} called {t.label} while holding "
                                     f"{self.tickets[held].label}")
        q = t.queue
        waiting = self.prefs[q] - {uid}
        if not t.preferential and rule != policy.MANUAL and waiting:
            in_row, normal_wait = self.rules.get(q, (0, 0))
            allowed = ((rule == policy.PREFERENTIAL_STREAK and in_row > 0
                        and self.streak[q] >= in_row)
                       or (rule == policy.MAX_NORMAL_WAIT and normal_wait > 0))
            if not allowed:
                labels = sorted(self.tickets[u].label for u in waiting)[:5]
                self.passed_preferential.append(
                    f"{t.label} (rule {rule}) called at módulo {counter} while preferential "
                    f"{', '.join(labels)} waited in {q}")
        self.streak[q] = policy.next_streak(self.streak[q], t.preferential)
        self.prefs[q].discard(uid)
        t.status, t.counter = "called", counter
        if counter is not None:
            self.holding[counter] = uid


Check = Callable[[DayEvidence], list[str]]


def labels_unique(ev: DayEvidence) -> list[str]:
    """No ticket number (label) twice in the day, in the database or among the 201s."""
    with ev.connect() as conn:
        found = [f"{r[0]} issued {r[1]} times" for r in conn.execute(
            "SELECT label, COUNT(*) FROM tickets WHERE day = ? GROUP BY label "
            "HAVING COUNT(*) > 1", (ev.day,))]
        found += [f"{r[0]}-{r[1]} numbered {r[2]} times" for r in conn.execute(
            "SELECT number_queue, number, COUNT(*) FROM tickets WHERE day = ? "
            "GROUP BY 1, 2 HAVING COUNT(*) > 1", (ev.day,))]
    seen = Counter(ev.confirmed.values())
    return found + [f"{label} confirmed to {n} citizens" for label, n in seen.items() if n > 1]


def confirmed_tickets_kept(ev: DayEvidence) -> list[str]:
    """Every ticket a client was given (201) exists, with the label it was given."""
    with ev.connect() as conn:
        stored = dict(conn.execute("SELECT uid, label FROM tickets").fetchall())
    return [f"{label} ({uid}) confirmed but {'missing' if uid not in stored else stored[uid]}"
            for uid, label in ev.confirmed.items() if stored.get(uid) != label]


def single_calls(ev: DayEvidence) -> list[str]:
    """No ticket called by two módulos at once, no módulo holding two tickets (from the
    event log), and none seen by the asesores as it happened."""
    return ev.replay.double_calls + ev.replay.unknown


def preferential_first(ev: DayEvidence) -> list[str]:
    """No preferential ticket passed by a normal one in its queue, except by the queue's
    enabled anti-starvation rules (see ``Replay``)."""
    return ev.replay.passed_preferential


def all_terminal_after_close(ev: DayEvidence) -> list[str]:
    """After the jornada is closed: it is closed, every attention is terminal (done,
    no_show, cancelled, transferred, expired), every módulo closed and empty."""
    with ev.connect() as conn:
        found = []
        row = conn.execute("SELECT closed_at FROM days WHERE day = ?", (ev.day,)).fetchone()
        if row is None or row[0] is None:
            found.append(f"the jornada {ev.day} is not closed")
        found += [f"{r[0]} still {r[1]} after closing" for r in conn.execute(
            "SELECT t.label, a.status FROM attentions a JOIN tickets t ON t.id = a.ticket "
            "WHERE a.day = ? AND a.status IN ('waiting', 'called', 'serving')", (ev.day,))]
        found += [f"módulo {r[0]} {r[1]} holding {r[2]} after closing" for r in conn.execute(
            "SELECT id, status, current FROM counters WHERE status != 'closed' "
            "OR current IS NOT NULL")]
    return found


def clients_saw_nothing_wrong(ev: DayEvidence) -> list[str]:
    """No 5xx, no dropped connection, no double call seen live by the asesores."""
    return list(ev.client_violations)


def tvs_heard_every_call(ev: DayEvidence) -> list[str]:
    """Each TV kept one live stream all day and received every call."""
    with ev.connect() as conn:
        calls = conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'ticket.called'"
                             ).fetchone()[0]
    found = []
    for i, (heard, connections) in enumerate(zip(ev.tv_calls, ev.tv_connections,
                                                 strict=True), start=1):
        if connections != 1 or heard != calls:
            found.append(f"TV {i}: {heard} of {calls} calls over {connections} connections")
    return found


def database_intact(ev: DayEvidence) -> list[str]:
    with ev.connect() as conn:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    return [] if result == "ok" else [f"integrity_check: {result}"]


# The checks run after the day, in order; each returns its violations (empty: it holds).
# Append to extend (e.g. indicators recomputed from the events).
POST_DAY_CHECKS: list[tuple[str, Check]] = [
    ("labels_unique", labels_unique),
    ("confirmed_tickets_kept", confirmed_tickets_kept),
    ("single_calls", single_calls),
    ("preferential_first", preferential_first),
    ("all_terminal_after_close", all_terminal_after_close),
    ("clients_saw_nothing_wrong", clients_saw_nothing_wrong),
    ("tvs_heard_every_call", tvs_heard_every_call),
    ("database_intact", database_intact),
    ("indicators_match_the_event_log", indicators_match_the_event_log),
]


def run_checks(ev: DayEvidence,
               checks: list[tuple[str, Check]] | None = None) -> dict[str, list[str]]:
    """Every check's violations by name; a check that raises is a violation too."""
    found: dict[str, list[str]] = {}
    for name, check in POST_DAY_CHECKS if checks is None else checks:
        try:
            found[name] = check(ev)
        except Exception as exc:
            found[name] = [f"the check failed: {exc!r}"]
    return found


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

    @property
    def violations(self) -> int:
        return sum(len(v) for v in self.checks.values())


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
        threads = tvs + desks + kiosks
        t.sleep_until(plan.opens_at + 3600, floor.stop_all)
        rss_first_hour = rss_kib(server.proc.pid)[0] if server.proc else 0
        say(f"first hour: {len(floor.issued)} tickets, RSS {rss_first_hour / 1024:.1f} MiB")
        _join(kiosks, deadline)
        end = max(plan.closes_at, t.now()) + o.close_grace_minutes * 60
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
        status, closed = server.request("POST", "/api/v1/day/close", {}, staff)
        if status != 200:
            floor.violation(f"day/close answered {status}: {closed}")
        closed_at = t.now()
        announced = _announcer_settled(server, time.monotonic() + 60)
        rss_end = rss_kib(server.proc.pid)[0] if server.proc else 0
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
    waits, errors = [], []
    for uid, (issued, called) in first_call.items():
        if called is None:
            continue
        wait = (called - issued).total_seconds() / 60
        waits.append(wait)
        mine = floor.issued.get(uid)
        if mine is not None and mine.estimate is not None:
            errors.append(mine.estimate - wait)
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
    }
    counts = {**floor.counts, "attentions": sum(attentions.values()),
              "attentions_transferred": attentions["transferred"],
              "multi_step_tickets": sum(i.steps > 1 for i in floor.issued.values()),
              "issued_by_reception": sum(i.channel == "reception"
                                         for i in floor.issued.values())}
    return DayResult(ev.day, plan.opens_at, plan.closes_at, figures, checks, dict(counts),
                     dict(floor.unexpected), waits, errors, wall)


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
        f"bias {f['estimate_bias']:+.1f} min",
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

