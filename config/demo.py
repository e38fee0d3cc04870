"""The built-in demo centre: a Lima Norte-sized centre built from the real catalogue.

Entities and services come from the public lists in ``config/catalog`` (Anexos 2 and 3 of the
PCM report); módulo counts follow the proportions of a real centre (RENIEC and Banco de la
Nación busiest). The result is plain TOML-shaped data that goes through the same validation
as any centre's file.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from typing import Any

from config.catalog_text import clean
from config.loader import HOURS_FIELDS, load_settings
from config.model import Settings

CATALOG = Path(__file__).parent / "catalog"

# code, prefix, short name, pattern in the services list, módulos, colour
DEMO_ENTITIES: tuple[tuple[str, str, str, str, int, str], ...] = (
    ("RENIEC", "RN", "RENIEC", "RENIEC", 5, "#c8102e"),
    ("BN", "BN", "Banco de la Nación", "Banco de la Nación", 4, "#00594f"),
    ("SUNAT", "ST", "SUNAT", "SUNAT", 3, "#004b87"),
    ("MIGRACIONES", "MG", "Migraciones", "MIGRACIONES", 3, "#5b2c83"),
    ("SUNARP", "SR", "SUNARP", "SUNARP", 3, "#8a1538"),
    ("ESSALUD", "ES", "EsSalud", "EsSalud", 2, "#0072ce"),
    ("SIS", "SI", "SIS", "- SIS", 2, "#009639"),
    ("MTC", "MT", "MTC", "- MTC", 2, "#e35205"),
    ("SATLIMA", "SL", "SAT Lima", "SAT Lima", 2, "#b5121b"),
    ("COMAS", "MC", "Municipalidad de Comas", "Municipalidad Distrital de Comas", 3,
     "#00778b"),
    ("ONP", "ON", "ONP", "- ONP", 2, "#6d2077"),
    ("INDECOPI", "IN", "INDECOPI", "INDECOPI", 2, "#a6192e"),
    ("MIDIS", "MD", "MIDIS", "MIDIS", 2, "#7a9a01"),
    ("SEDAPAL", "SD", "SEDAPAL", "SEDAPAL", 2, "#0085ca"),
)

# Services that take appointments (citas) in practice.
APPOINTMENT_WORDS = ("pasaporte", "licencia de conducir")


@cache
def service_rows() -> list[dict[str, str]]:
    with (CATALOG / "servicios_centros_mac_anexo3.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    entity = ""
    for row in rows:  # the PDF extraction writes an entity only on its first row
        entity = row["entidad"] or entity
        row["entidad"] = entity
    return rows


@cache
def _entity_names() -> dict[str, str]:
    with (CATALOG / "entidades_centros_mac_anexo2.csv").open(encoding="utf-8") as f:
        return {r["entidad"]: r["tipo"] for r in csv.DictReader(f)}


def _full_name(pattern: str, fallback: str) -> str:
    needle = pattern.lstrip("- ").lower()
    for name in _entity_names():
        if needle in name.lower():
            return name
    return fallback


DEMO_FIRST_FLOOR = 18  # módulos 1-18 downstairs, the rest upstairs: TVs per floor (zone=)


ALL_DAY = "00:00-23:59"


def demo_data(all_day: bool = False) -> dict[str, Any]:
    """The demo centre as TOML-shaped data; ``all_day``: open every day at every hour (the
    demo a person tries, at whatever time they try it), not a centre's real hours."""
    entities, queues, services, counters = [], [], [], []
    number = 1
    for code, prefix, short, pattern, modules, colour in DEMO_ENTITIES:
        rows = [r for r in service_rows() if pattern in r["entidad"]]
        entities.append({"code": code, "name": clean(_full_name(pattern, rows[0]["entidad"])),
                         "short_name": short, "colour": colour})
        queues.append({"code": prefix, "entity": code, "prefix": prefix, "name": short,
                       "max_wait_minutes": 30, "max_attention_minutes": 26})
        for row in rows:
            name = clean(row["servicio"])
            services.append({"id": int(row["n"]), "queue": prefix, "name": name,
                             "appointments": any(w in name.lower()
                                                 for w in APPOINTMENT_WORDS)})
        for _ in range(modules):
            counters.append({"number": number, "entity": code, "queues": [prefix],
                             "zone": "piso-1" if number <= DEMO_FIRST_FLOOR else "piso-2"})
            number += 1
    _split_reniec_certificates(queues, services, counters)
    always = {"hours": dict.fromkeys(HOURS_FIELDS, ALL_DAY),
              "schedule": {"open_minutes_before": 0, "close_grace_minutes": 0}}
    return {
        **(always if all_day else {}),
        "centre": {"code": "demo-lima-norte", "name": "MAC Lima Norte (demo)"},
        "policy": {"appointment_early_minutes": 15, "appointment_late_minutes": 15},
        "entities": entities, "queues": queues, "services": services, "counters": counters,
        # A virtual printer keeps each ticket's bytes and a preview staff can open.
        "printers": [{"name": "kiosko-demo", "transport": "virtual",
                      "devices": ["kiosk-demo"], "reception": True}],
    }


def _split_reniec_certificates(queues: list, services: list, counters: list) -> None:
    """A second RENIEC queue for certificates, so the demo shows módulos with weights."""
    queues.append({"code": "RC", "entity": "RENIEC", "prefix": "RC",
                   "name": "RENIEC certificados", "max_wait_minutes": 20,
                   "max_attention_minutes": 10})
    for svc in services:
        if svc["queue"] == "RN" and ("ertific" in svc["name"] or "constancia" in svc["name"]):
            svc["queue"] = "RC"
    reniec = [c for c in counters if c["entity"] == "RENIEC"]
    for c in reniec[:3]:
        c["queues"], c["weights"] = ["RN", "RC"], {"RN": 2, "RC": 1}
    for c in reniec[3:]:
        c["queues"], c["weights"] = ["RN", "RC"], {"RC": 2, "RN": 1}


def demo_settings() -> Settings:
    return load_settings(data=demo_data(), environ={})
