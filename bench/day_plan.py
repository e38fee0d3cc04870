"""The simulated day decided before it starts: the centre (the demo centre's entities and
the Poder Judicial, with their módulos) and who comes when, for what (``plan_day``)."""

from __future__ import annotations

import csv
import json
import random
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from config.demo import CATALOG, demo_data
from turnero.clock import BUILD_DATE

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
AT_THE_DOOR = 0.035  # share of the day's visitors at the door before opening (175 of 5000)
DOOR_MINUTES = 15.0  # ...who take their tickets in the quarter hour before the módulos open
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
    """``count`` instants on the day's curve: a crowd at the door in the quarter hour before
    opening time (the jornada is open, the módulos are not yet), the rest by the hourly
    profile (piecewise constant) up to 5 minutes before closing."""
    door = round(count * AT_THE_DOOR)
    times = [opens - rng.uniform(0, DOOR_MINUTES * 60) for _ in range(door)]
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
