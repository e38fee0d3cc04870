"""The national catalogue as the central office publishes it, and a centre's settings with it.

A version is one JSON object: the tables a centre's configuration file also has
(``entities``, ``queues``, ``services``, ``priorities``, ``ans``), each row with the same keys
as in the file; ``holidays``, dates (YYYY-MM-DD) every centre keeps holiday hours on (a
decreed non-working day: Peru's national holidays every box knows already); and ``centres``:
for a centre code, the queue codes it offers (``queues``; a centre not listed offers every
queue), its own further ``holidays`` and the dates it stays ``closed``.

A box runs its own file with these tables replaced by the version's, so the version is
checked by the same rules and messages as the file, against that centre's módulos: a
version that removes a queue a módulo serves is refused there with the reason, and the box
goes on with what it had. The dated days are added to the centre's own
(``turnero.hours.use_central_days``).

What stays local: the centre's file keeps everything else (hours, its own holidays and
closures, módulos, printers, kiosk, …), and a queue's ``daily_cap`` and ``number_start`` are
the centre's own (from its file when it has the queue, else the defaults): a version does
not set them.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from config.loader import ConfigError, load_settings
from config.model import Settings

TABLES = ("entities", "queues", "services", "priorities", "ans")
CENTRE_KEYS = {"queues", "holidays", "closed"}
LOCAL_QUEUE_KEYS = ("daily_cap", "number_start")


def shape_problems(document: Any) -> list[str]:
    """What makes ``document`` not a catalogue at all (the rows' keys are checked later,
    by the same rules as a configuration file)."""
    if not isinstance(document, dict):
        return ["se esperaba un objeto JSON"]
    found = [f"{name}: sección desconocida" for name in document
             if name not in (*TABLES, "holidays", "centres")]
    for name in TABLES:
        rows = document.get(name, [])
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            found.append(f"{name}: debe ser una lista de objetos")
    if not document.get("entities") or not document.get("services"):
        found.append("faltan entidades o servicios: un catálogo vacío dejaría sin servicios "
                     "a los centros")
    if not _strings(document.get("holidays", [])):
        found.append("holidays: debe ser una lista de fechas AAAA-MM-DD")
    centres = document.get("centres", {})
    if not isinstance(centres, dict) or not all(
            isinstance(v, dict) and set(v) <= CENTRE_KEYS
            and all(_strings(v.get(k, [])) for k in CENTRE_KEYS) for v in centres.values()):
        found.append("centres: debe ser {código: {queues: [códigos de cola], holidays: "
                     "[fechas], closed: [fechas]}}")
    return found


def date_problems(document: dict[str, Any]) -> list[str]:
    """Each dated day of a version that is not a real date YYYY-MM-DD."""
    lists = [("holidays", document.get("holidays", []))] + [
        (f"centres.{code}.{key}", part.get(key, []))
        for code, part in document.get("centres", {}).items() for key in ("holidays", "closed")]
    return [problem for where, days in lists for problem in bad_dates(where, days)]


def bad_dates(where: str, days: Any) -> list[str]:
    """What is wrong with the list of dates ``days`` (found at ``where``)."""
    if not _strings(days):
        return [f"{where}: debe ser una lista de fechas AAAA-MM-DD"]
    found = []
    for text in days:
        try:
            ok = len(text) == 10 and date.fromisoformat(text) is not None
        except ValueError:
            ok = False
        if not ok:
            found.append(f"{where}: {text!r} no es una fecha AAAA-MM-DD")
    return found


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def centre_view(document: dict[str, Any], centre: str) -> dict[str, Any]:
    """The version as one centre runs it: only the queues it offers, their services and
    service levels, and the entities of those queues."""
    own = document.get("centres", {}).get(centre, {})
    offered = own.get("queues")
    queues = [q for q in document.get("queues", [])
              if offered is None or q.get("code") in offered]
    codes = {q.get("code") for q in queues}
    entities = {q.get("entity") for q in queues}
    return {"entities": [e for e in document["entities"] if e.get("code") in entities],
            "queues": queues,
            "services": [s for s in document["services"] if s.get("queue") in codes],
            "priorities": list(document.get("priorities", [])),
            "ans": [a for a in document.get("ans", []) if a.get("queue") in codes],
            "holidays": sorted({*document.get("holidays", []), *own.get("holidays", [])}),
            "closed": sorted(own.get("closed", []))}


def as_raw(settings: Settings) -> dict[str, Any]:
    """``settings`` as the configuration file's tables (lists where the model has tuples),
    so that they can be validated again with other tables."""
    def plain(value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [plain(v) for v in value]
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value
    return {f.name: plain(dataclasses.asdict(getattr(settings, f.name)))
            if dataclasses.is_dataclass(getattr(settings, f.name))
            else plain([dataclasses.asdict(row) for row in getattr(settings, f.name)])
            for f in dataclasses.fields(settings)}


def merge(settings: Settings, view: dict[str, Any]) -> Settings:
    """The centre's ``settings`` with the version's tables (``centre_view``); ConfigError,
    key by key, when the centre cannot run them."""
    raw = as_raw(settings)
    local = {q["code"]: q for q in raw["queues"]}
    queues = []
    for row in view["queues"]:
        central = {k: v for k, v in row.items() if k not in LOCAL_QUEUE_KEYS}
        kept = {k: local[row.get("code")][k] for k in LOCAL_QUEUE_KEYS
                if row.get("code") in local}
        queues.append({**central, **kept})
    raw.update({name: [dict(r) for r in view[name]] for name in TABLES}, queues=queues)
    if not raw["priorities"]:
        raw["priorities"] = as_raw(settings)["priorities"]
    return load_settings(data=raw, environ={})


def reason(error: ConfigError) -> str:
    """A refusal's reason in one line per problem, without the built-in source name."""
    return "; ".join(f"{p.key}: {p.message}" for p in error.problems)
