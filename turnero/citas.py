"""Citas booked at the central, held by the box so that check-in needs no network.

The uplink pulls the central's changes (``sync.citas``) and applies each page here in one
transaction with the position it read up to, so a page applied twice changes nothing and a
page lost on the way is asked for again. A citizen checks in at the kiosk by document or by
booking code: inside the window the cita becomes an appointment ticket, called at its slot
ahead of walk-ins (``turnero.policy``); after it, a walk-in ticket of the same service. The
ticket and the ``cita.checked_in`` event are written in one transaction, and the cita's
booking code is the ticket's idempotency key, so a double tap or two kiosks never make two.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any

from turnero import documents, tickets
from turnero.errors import Conflict, InvalidInput, NotFound
from turnero.print_jobs import PrintRequest
from turnero.store import Store, Tx
from turnero.views import current_ticket

log = logging.getLogger("turnero.citas")

CODE = re.compile(r"^[A-Z0-9-]{4,32}$")
SLOT = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
STATUSES = ("booked", "cancelled")
FIELDS = ("code", "service", "day", "slot", "document_type", "document", "name", "status",
          "change")
KEPT, LATE = "kept", "late"


def cursor(conn: Any) -> int:
    """How far the box has read the central's changes of its citas."""
    row = conn.execute("SELECT change FROM central_citas WHERE id = 1").fetchone()
    return int(row["change"]) if row else 0


def problem(row: Any) -> str | None:
    """Why a cita from the central cannot be kept (None: it can)."""
    if not isinstance(row, dict):
        return "no es un objeto"
    code, service, change = row.get("code"), row.get("service"), row.get("change")
    if not isinstance(code, str) or not CODE.match(code):
        return f"código {code!r}"
    if not isinstance(service, int) or isinstance(service, bool):
        return f"{code}: servicio {service!r}"
    if not isinstance(change, int) or isinstance(change, bool) or change < 1:
        return f"{code}: cambio {change!r}"
    if row.get("status") not in STATUSES:
        return f"{code}: estado {row.get('status')!r}"
    if not isinstance(row.get("slot"), str) or not SLOT.match(row["slot"]):
        return f"{code}: hora {row.get('slot')!r}"
    try:
        date.fromisoformat(row.get("day"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return f"{code}: día {row.get('day')!r}"
    for name in ("document_type", "document", "name"):
        if row.get(name) is not None and not isinstance(row[name], str):
            return f"{code}: {name}"
    return None


def apply_changes(store: Store, rows: Iterable[Any], through: int | None = None) -> int:
    """Keep a page of the central's changes and the position read (``through``, else the
    page's highest change) in one transaction; returns how many citas changed. A row
    that is not a cita is left out with a warning: the page is still read past, or one bad
    row would stop every later cita from arriving."""
    good: list[dict[str, Any]] = []
    bad: list[Any] = []
    for row in rows:
        (bad if problem(row) else good).append(row)
    for row in bad:
        log.warning("central cita left out: %s", problem(row))
    upto = max([through or 0, *(r["change"] for r in good)])
    return store.write(lambda tx: _apply_in(tx, good, upto))


def _apply_in(tx: Tx, rows: list[dict[str, Any]], upto: int) -> int:
    changed = 0
    for r in rows:
        kind, number = r.get("document_type"), r.get("document")
        cur = tx.execute(
            "INSERT INTO citas(code, service, day, slot, document_type, document, name, "
            "status, change) VALUES (?,?,?,?,?,?,?,?,?) ON CONFLICT(code) DO UPDATE SET "
            "service = excluded.service, day = excluded.day, slot = excluded.slot, "
            "document_type = excluded.document_type, document = excluded.document, "
            "name = excluded.name, status = excluded.status, change = excluded.change "
            "WHERE excluded.change > citas.change",
            (r["code"], r["service"], r["day"], r["slot"],
             kind.lower() if isinstance(kind, str) else None, number, r.get("name"),
             r["status"], r["change"]))
        changed += cur.rowcount
    tx.execute("UPDATE central_citas SET change = MAX(change, ?), pulled_at = ? WHERE id = 1",
               (upto, tx.at))
    return changed


def rewind(store: Store) -> None:
    """The central holds fewer changes than the box read (restored from an older copy, or
    lost and set up again): read its citas again from the start, and let each one it sends
    replace the box's copy whatever number it had."""
    def op(tx: Tx) -> None:
        tx.execute("UPDATE citas SET change = 0")
        tx.execute("UPDATE central_citas SET change = 0 WHERE id = 1")
    store.write(op)


def slot_at(store: Store, cita: Any) -> datetime:
    """The cita's slot as an aware datetime in the centre's time zone."""
    return datetime.combine(date.fromisoformat(cita["day"]),
                            time.fromisoformat(cita["slot"]), tzinfo=store.tz)


def find(store: Store, *, code: Any = None, document: Any = None,
         document_type: Any = None) -> dict[str, Any]:
    """The cita a citizen means, by booking code or document: today's first (one still to
    check in before one done), else the nearest other day. NotFound when there is none."""
    conn = store.reader()
    if code is not None:
        if not isinstance(code, str) or not code.strip():
            raise InvalidInput("code debe ser el código de la reserva.", "invalid_code")
        rows = conn.execute("SELECT * FROM citas WHERE code = ?",
                            (code.strip().upper(),)).fetchall()
    else:
        if document is not None and not isinstance(document, str):
            raise InvalidInput("document debe ser un texto.", "invalid_document")
        if document_type is not None and not isinstance(document_type, str):
            raise InvalidInput("document_type debe ser un texto.", "invalid_document_type")
        kind, number = documents.normalise(document_type, document)
        if number is None:
            raise InvalidInput("Indique el documento o el código de la reserva.",
                               "document_missing")
        rows = conn.execute("SELECT * FROM citas WHERE document = ? AND "
                            "(document_type = ? OR document_type IS NULL)",
                            (number, kind)).fetchall()
    if not rows:
        raise NotFound("No encontramos una cita con ese dato. Revise el número o acérquese "
                       "al orientador.", "cita_not_found")
    today = store.service_day(store.now())
    return dict(min(rows, key=lambda r: _preference(r, today)))


def _preference(row: Any, today: str) -> tuple[Any, ...]:
    """Today's before other days, booked before cancelled, not yet checked in before done,
    then the nearest day and the earliest slot."""
    distance = abs((date.fromisoformat(row["day"]) - date.fromisoformat(today)).days)
    return (row["day"] != today, row["status"] != "booked", row["ticket"] is not None,
            distance, row["day"], row["slot"])


def arrival(store: Store, cita: dict[str, Any], now: datetime) -> str:
    """``kept`` inside the window, ``late`` after it; a refusal for any other case."""
    if cita["status"] == "cancelled":
        raise Conflict("Esta cita fue cancelada. Si necesita el trámite, saque un turno o "
                       "acérquese al orientador.", "cita_cancelled")
    today = store.service_day(now)
    if cita["day"] != today:
        raise Conflict(f"Su cita es el {_day_text(cita['day'])} a las {cita['slot']}.",
                       "cita_other_day", day=cita["day"], slot=cita["slot"])
    slot, p = slot_at(store, cita), store.policy
    opens = slot - timedelta(minutes=p.appointment_early_minutes)
    if now < opens:
        return _too_early(cita, opens)
    return KEPT if now <= slot + timedelta(minutes=p.appointment_late_minutes) else LATE


def _too_early(cita: dict[str, Any], opens: datetime) -> str:
    raise Conflict(f"Su cita es a las {cita['slot']}. Puede registrar su llegada desde las "
                   f"{opens:%H:%M}.", "cita_too_early", slot=cita["slot"],
                   **{"from": f"{opens:%H:%M}"})


def _day_text(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{d:%d/%m/%Y}"


def check_in(store: Store, cita: dict[str, Any], *, actor: str | None = None,
             closes_at: datetime | None = None,
             print_on: PrintRequest | None = None) -> tuple[dict[str, Any], bool]:
    """Issue the cita's ticket (``kept``: an appointment ticket at its slot; ``late``: a
    walk-in of its service) with its ``cita.checked_in`` event. Returns (answer, created);
    a cita checked in already answers with its ticket and created=False."""
    if cita["ticket"] is not None:
        return _answer(store, cita, cita["arrival"]), False
    how = arrival(store, cita, store.now())
    slot = slot_at(store, cita)

    def mark(tx: Tx, uid: str, label: str) -> None:
        tx.execute("UPDATE citas SET ticket = ?, checked_in_at = ?, arrival = ? "
                   "WHERE code = ?", (uid, tx.at, how, cita["code"]))
        tx.emit("cita.checked_in", actor=actor, ticket=uid, code=cita["code"],
                day=cita["day"], slot=cita["slot"], label=label, arrival=how)

    try:
        _, created = tickets.issue_ticket(
            store, service_id=cita["service"], channel="appointment",
            document=cita["document"], document_type=cita["document_type"],
            name=cita["name"], appointment_at=slot if how == KEPT else None,
            idempotency_key=f"cita:{cita['code']}", actor=actor, closes_at=closes_at,
            print_on=print_on, then=mark)
    except tickets.IdempotencyKeyReused:
        created = False  # the same cita checked in at once elsewhere, in another language
    except InvalidInput as exc:
        if exc.code != "unknown_service":
            raise
        raise Conflict("El trámite de su cita no se atiende hoy en este centro. Acérquese al "
                       "orientador.", "cita_service_unavailable") from None
    done = store.reader().execute("SELECT * FROM citas WHERE code = ?",
                                  (cita["code"],)).fetchone()
    return _answer(store, dict(done), done["arrival"]), created


def _answer(store: Store, cita: dict[str, Any], how: str) -> dict[str, Any]:
    ticket = current_ticket(store, cita["ticket"])
    return {"cita": {"code": cita["code"], "service": cita["service"], "day": cita["day"],
                     "slot": cita["slot"]}, "arrival": how, "ticket": ticket}


def listing(store: Store, day: str) -> list[dict[str, Any]]:
    """A day's citas for reception: who is expected when, and who came."""
    rows = store.reader().execute(
        "SELECT c.code, c.service, c.slot, c.status, c.name, c.document_type, c.document, "
        "c.arrival, c.checked_in_at, c.outcome, t.label FROM citas c "
        "LEFT JOIN tickets t ON t.uid = c.ticket WHERE c.day = ? ORDER BY c.slot, c.code",
        (day,)).fetchall()
    return [dict(r) for r in rows]
