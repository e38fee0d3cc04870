"""Citas for the demo centre, so that a new user can try "Tengo cita" at the kiosk without a
central office: each day the demo starts, a few citas of today around the current time —
one to check in now by DNI, one by booking code, one too early, one cancelled, one late —
kept exactly as the uplink keeps the central's (``turnero.citas.apply_changes``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from turnero import citas
from turnero.store import Store

PASSPORT, LICENCE = 93, 468  # demo services that take citas
# (minutes from now, service, DNI, status, what the user will see)
PLAN = ((5, PASSPORT, "40404040", "booked", "a tiempo: turno con cita, llamado primero"),
        (10, LICENCE, "41414141", "booked", "a tiempo, por su código"),
        (120, PASSPORT, "42424242", "booked", "demasiado temprano: dice desde qué hora"),
        (20, LICENCE, "43434343", "cancelled", "cancelada: no se registra"),
        (-45, PASSPORT, "44444444", "booked", "tarde: turno por orden de llegada"))


def seed(store: Store) -> list[dict[str, Any]]:
    """Today's demo citas, made once a day; returns them with what each shows."""
    now = store.now().astimezone(store.tz)
    today = store.service_day(now)
    prefix = f"DEMO-{now:%m%d}-"
    made = store.reader().execute(
        "SELECT code, service, day, slot, document_type, document, name, status, change "
        "FROM citas WHERE code LIKE ? ORDER BY code", (prefix + "%",)).fetchall()
    if made:  # made at an earlier start today: as they were made
        return [{**dict(r), "shows": PLAN[int(r["code"].rsplit("-", 1)[1]) - 1][4]}
                for r in made]
    rows = _rows(now, today, prefix, citas.cursor(store.reader()))
    citas.apply_changes(store, [r for r, _ in rows])
    return [{**r, "shows": shows} for r, shows in rows]


def _rows(now: datetime, today: str, prefix: str,
          after: int) -> list[tuple[dict[str, Any], str]]:
    found = []
    for n, (minutes, service, dni, status, shows) in enumerate(PLAN, start=1):
        slot = _five(now + timedelta(minutes=minutes))
        if slot.date().isoformat() != today:
            continue  # around midnight: a slot of another day would not be today's
        found.append(({"code": f"{prefix}{n}", "service": service, "day": today,
                       "slot": f"{slot:%H:%M}", "document_type": "dni", "document": dni,
                       "name": "Ciudadano de demostración", "status": status,
                       "change": after + n}, shows))
    return found


def _five(moment: datetime) -> datetime:
    """``moment`` to the minute, a multiple of five (slots are booked so)."""
    return moment.replace(minute=moment.minute - moment.minute % 5, second=0, microsecond=0)


def lines(seeded: list[dict[str, Any]]) -> list[str]:
    """What the demo prints of them."""
    return [f"  {c['code']:<16} DNI {c['document']}  {c['slot']}  {c['shows']}"
            for c in seeded]
