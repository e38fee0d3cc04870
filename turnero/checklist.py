"""The daily opening check list (a centre opens only after checking internet,
electricity, security staff and the queue system).

Each item is either confirmed or left unconfirmed with a reason: a centre may still open
without internet (it works offline), but the record must say why, so that the central office
can tell a deliberate decision from a forgotten check.
"""

from __future__ import annotations

from typing import Any

from turnero.errors import InvalidInput

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
