"""The daily opening check list (a centre opens only after checking internet,
electricity, security staff and the queue system).

Each item is either confirmed or left unconfirmed with a reason: a centre may still open
without internet (it works offline), but the record must say why, so that the central office
can tell a deliberate decision from a forgotten check.
"""

from __future__ import annotations

import json
from typing import Any

from turnero.errors import Conflict, InvalidInput
from turnero.store import Store, Tx

ITEMS: dict[str, str] = {
    "internet": "Internet",
    "electricity": "Energía eléctrica",
    "security": "Personal de seguridad presente",
    "printers": "Impresoras con papel",
    "tvs": "Pantallas de sala",
    "speaker": "Parlantes y voz",
}
MAX_NOTE = 200


def validate(checks: Any) -> dict[str, dict[str, Any]]:
    """The check list in its recorded form ``{item: {"ok": bool, "note": str}}``; every item
    must be present, and an unconfirmed one needs its reason."""
    if not isinstance(checks, dict):
        raise InvalidInput("checks debe ser un objeto.", "invalid_checks")
    unknown = sorted(set(checks) - set(ITEMS))
    if unknown:
        raise InvalidInput("Puntos desconocidos en la lista: " + ", ".join(unknown) + ".",
                           "invalid_checks")
    out: dict[str, dict[str, Any]] = {}
    for item, label in ITEMS.items():
        entry = checks.get(item)
        if not isinstance(entry, dict) or not isinstance(entry.get("ok"), bool):
            raise InvalidInput(f"Falta confirmar «{label}».", "check_missing", item=item)
        note = entry.get("note", "")
        if not isinstance(note, str) or len(note) > MAX_NOTE:
            raise InvalidInput(f"El motivo de «{label}» es un texto de hasta {MAX_NOTE} "
                               "caracteres.", "invalid_checks", item=item)
        if not entry["ok"] and not note.strip():
            raise InvalidInput(f"Indique por qué se abre sin «{label}».", "check_reason_missing",
                               item=item)
        out[item] = {"ok": entry["ok"], "note": note.strip()}
    return out


def pending(checks: Any) -> bool:
    """True when a person still owes the list: the scheduler opened the day by itself (it
    records only what the box can check) and nobody has confirmed the items since."""
    if not isinstance(checks, dict) or not checks.get("automatic"):
        return False
    return not all(isinstance(checks.get(item), dict) for item in ITEMS)


def _today(conn: Any, store: Store) -> tuple[str, Any]:
    today = store.service_day(store.now())
    return today, conn.execute("SELECT closed_at, checks FROM days WHERE day = ?",
                               (today,)).fetchone()


def status(store: Store) -> dict[str, Any]:
    """Today's list as the staff pages ask for it: whether it is still owed, its items
    (code and Spanish label) and what is recorded."""
    today, row = _today(store.reader(), store)
    checks = json.loads(row["checks"]) if row is not None else {}
    return {"date": today, "open": bool(row is not None and row["closed_at"] is None),
            "pending": row is not None and pending(checks),
            "items": [{"code": code, "label": label} for code, label in ITEMS.items()],
            "checks": checks}


def record(store: Store, checks: Any, *, actor: str | None = None) -> dict[str, Any]:
    """A person confirms the list of a day the scheduler opened; what the box checked by
    itself is kept beside it. Refused once somebody confirmed it (the first record stands)."""
    confirmed = validate(checks)

    def op(tx: Tx) -> None:
        today = store.service_day(tx.now)
        row = tx.one("SELECT checks FROM days WHERE day = ?", (today,))
        if row is None:
            raise Conflict(f"La jornada del {today} no está abierta.", "day_not_open",
                           day=today)
        stored = json.loads(row["checks"])
        if not pending(stored):
            raise Conflict("La lista de apertura de hoy ya está registrada.",
                           "checklist_done")
        tx.execute("UPDATE days SET checks = ? WHERE day = ?",
                   (json.dumps({**stored, **confirmed}), today))
        tx.emit("day.checklist_confirmed", actor=actor, day=today, checks=confirmed)
    store.write(op)
    return status(store)
