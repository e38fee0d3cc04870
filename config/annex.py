"""The national catalogue built from the PCM's public lists (Anexo 3: every service of the
Centros MAC by entity), as a first version for the central office to publish and edit.

Each entity gets one queue with its services (the annex's row number is the service's id).
An entity keeps the code and ticket prefix the demo centre gives it
(``config.demo.DEMO_ENTITIES``), so módulos configured for those queues run the version as
they are; the others get the acronym their name ends with ("… - ONP"), or their initials,
and a prefix of up to three letters of it that no other entity has.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from config.catalog_text import clean
from config.demo import APPOINTMENT_WORDS, DEMO_ENTITIES, service_rows

SMALL_WORDS = {"de", "del", "la", "las", "los", "y", "e", "el", "en", "s.a.", "s.a.c."}


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) != "Mn")


def _code_of(name: str) -> str:
    """The acronym after the last dash of the name, else the initials of its words."""
    parts = re.split(r"\s+[-–]\s+", name)
    if len(parts) > 1 and len(parts[-1]) <= 30:
        return re.sub(r"[^A-Za-z0-9]+", "-", _plain(parts[-1])).strip("-").upper()
    words = [w for w in _plain(name).split() if w.lower() not in SMALL_WORDS]
    return "".join(w[0] for w in words).upper()


def _short_of(name: str) -> str:
    """The acronym after the last dash, else the whole name."""
    parts = re.split(r"\s+[-–]\s+", name)
    return parts[-1] if len(parts) > 1 and len(parts[-1]) <= 30 else name


def _prefix(code: str, taken: set[str]) -> str:
    """Up to three capital letters of ``code`` that no other queue starts its tickets with."""
    letters = re.sub(r"[^A-Z]", "", code) or "X"
    candidates = [letters[:2], letters[0] + letters[-1], letters[:3],
                  *(letters[0] + c for c in letters[1:]),
                  *(letters[:2] + c for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")]
    found = next((c for c in candidates if len(c) >= 1 and c not in taken), None)
    if found is None:
        raise ValueError(f"no free ticket prefix for {code}")
    taken.add(found)
    return found


def _demo_entity(name: str) -> tuple[str, str, str, str] | None:
    """(code, prefix, short name, colour) of a demo entity whose pattern the name has."""
    for code, prefix, short, pattern, _modules, colour in DEMO_ENTITIES:
        if pattern in name:
            return code, prefix, short, colour
    return None


def national_document() -> dict[str, Any]:
    """Every entity and service of Anexo 3 as a catalogue version (``centres`` left out:
    every centre offers every queue until the PCM says which)."""
    names: list[str] = []
    for row in service_rows():
        if row["entidad"] not in names:
            names.append(row["entidad"])
    known = {name: _demo_entity(name) for name in names}
    taken = {found[1] for found in known.values() if found}
    codes: set[str] = {found[0] for found in known.values() if found}
    entities, queues, by_name = [], [], {}
    for name in names:
        found = known[name]
        if found:
            code, prefix, short, colour = found
        else:
            code = base = _code_of(name)
            for n in range(2, 100):
                if code not in codes:
                    break
                code = f"{base}{n}"
            short, colour = _short_of(name), "#1d4e89"
            prefix = _prefix(code, taken)
        codes.add(code)
        by_name[name] = prefix
        entities.append({"code": code, "name": clean(name), "short_name": clean(short),
                         "colour": colour})
        queues.append({"code": prefix, "entity": code, "prefix": prefix, "name": clean(short),
                       "max_wait_minutes": 30, "max_attention_minutes": 26})
    services = [{"id": int(row["n"]), "queue": by_name[row["entidad"]],
                 "name": clean(row["servicio"]),
                 "appointments": any(w in row["servicio"].lower() for w in APPOINTMENT_WORDS)}
                for row in service_rows()]
    return {"entities": entities, "queues": queues, "services": services}
