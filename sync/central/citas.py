"""Citas at the central (docs/citas.md): booked, changed and cancelled here, sent down to
each centre's box as a feed of numbered changes, and told back by the box's events (the
citizen checked in, and how the cita ended).

The feed's promise is that a box which holds change ``N`` of its centre has seen every change
numbered up to ``N``. So a change takes its number inside the transaction that writes it,
with the centre's row locked (as a batch of that centre locks it in ``ingest``; SQLite's
``BEGIN IMMEDIATE`` has one writer anyway): two writers of a centre number and commit one
after the other, and no reader can see ``N + 1`` while ``N`` is still to commit.

Box events never take a number: what they set (check-in, outcome) is not in the feed, and
the box knows it already. Personal data (document, name) is erased ``citas_retention_days``
after the cita's day (``forget``); codes, days, services and outcomes stay for the figures.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sync.central import citas_fields as fields
from sync.central.db import Conn, Database, now_iso

log = logging.getLogger("sync.central")
PERU = ZoneInfo("America/Lima")  # a cita's day and slot are its centre's local time
FEED = ("code", "service", "day", "slot", "document_type", "document", "name", "status",
        "change")
PUBLIC = ("code", "centre", *FEED[1:], "checked_in_at", "ticket", "label", "arrival",
          "outcome", "outcome_at")
CONTENT = ("centre", "service", "day", "slot", "document_type", "document", "name")
PERSONAL = ("document_type", "document", "name")
CHANGEABLE = {"service": "service", "date": "day", "time": "slot", "name": "name"}
ARRIVALS = ("kept", "late")
OUTCOMES = ("served", "no_show", "missed", "expired", "cancelled")
FEED_LIMIT = 1000
LIST_LIMIT = 5000
CHUNK = 500
DEFAULT_RETENTION_DAYS = 30
_forgotten_on: dict[str, date] = {}  # per database: the day ``forget`` last ran from ingest


class Refused(ValueError):
    """What was asked of a cita cannot be done: the API's status and code, a message for
    people and, for invalid input, every problem found."""

    def __init__(self, status: int, code: str, message: str,
                 problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.problems = problems or []


def today() -> date:
    """The day in Peru now: the centres' service day."""
    return datetime.now(UTC).astimezone(PERU).date()


def public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row.get(k) for k in PUBLIC}


def lock(tx: Conn, centres: Iterable[str]) -> None:
    """Lock the centres' rows, in one order (two writers never wait for each other in a
    circle): a centre's changes are then numbered and committed one after the other."""
    if tx.postgres:
        for code in sorted(set(centres)):
            tx.query("SELECT code FROM centres WHERE code = ? FOR UPDATE", (code,))


def newest(tx: Conn, centre: str) -> int:
    """The newest change number of ``centre``'s citas (0: none)."""
    rows = tx.query("SELECT COALESCE(MAX(change), 0) AS n FROM citas WHERE centre = ?",
                    (centre,))
    return int(rows[0]["n"])


def next_change(tx: Conn, centre: str) -> int:
    """The number of ``centre``'s next change: after its newest, and never below the clock
    in microseconds. A central restored from an older copy then numbers its new changes
    past every change a box read before the restore, so the box asks for them; a number
    from the count alone would repeat ones the box holds, and it would never ask."""
    now = int(datetime.now(UTC).timestamp() * 1_000_000)
    return max(newest(tx, centre) + 1, now)


def stored(tx: Conn, codes: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for i in range(0, len(codes), CHUNK):
        part = codes[i:i + CHUNK]
        found.update((r["code"], r) for r in tx.query(
            f"SELECT * FROM citas WHERE code IN ({','.join('?' * len(part))})", part))
    return found


def insert(tx: Conn, rows: list[dict[str, Any]], by: str) -> None:
    """Store new citas; each row holds its ``change`` and ``status``. A code booked at the
    same moment for another centre (whose lock this writer does not hold) is kept as the
    other writer stored it: the caller reads it back."""
    tx.executemany(
        "INSERT INTO citas(code, centre, service, day, slot, document_type, document, name, "
        "status, change, changed_at, changed_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?) "
        "ON CONFLICT (code) DO NOTHING",
        [(r["code"], *(r[k] for k in CONTENT), r["status"], r["change"], now_iso(), by)
         for r in rows])


def update(tx: Conn, rows: list[dict[str, Any]], by: str) -> None:
    """Rewrite citas whole (content, status, change); their box columns stay."""
    tx.executemany(
        "UPDATE citas SET service = ?, day = ?, slot = ?, document_type = ?, document = ?, "
        "name = ?, status = ?, change = ?, changed_at = ?, changed_by = ? WHERE code = ?",
        [(*(r[k] for k in CONTENT[1:]), r["status"], r["change"], now_iso(), by, r["code"])
         for r in rows])


def _one(tx: Conn, code: str) -> dict[str, Any]:
    """The cita ``code`` with its centre locked (read again after the lock: a writer that
    got there first may have changed it)."""
    try:
        code = fields.code(code)
    except fields.Bad:
        raise Refused(404, "cita_not_found", "No existe una cita con ese código.") from None
    found = stored(tx, [code]).get(code)
    if found is not None and tx.postgres:
        lock(tx, [found["centre"]])  # a cita never moves to another centre
        found = stored(tx, [code]).get(code)
    if found is None:
        raise Refused(404, "cita_not_found", f"No existe la cita {code}.")
    return found


def _invalid(problems: list[str]) -> Refused:
    return Refused(400, "invalid_cita", "La cita no es válida: " + "; ".join(problems) + ".",
                   problems)


def book(db: Database, data: Any, by: str) -> tuple[dict[str, Any], bool]:
    """Book a cita (``data`` with the API's keys); (the cita, whether it is new). The same
    booking again is answered with the cita; another one under its code is refused."""
    if not isinstance(data, dict):
        raise _invalid(["se esperaba un objeto {centre, service, date, time, "
                        "document_type, document, name, code}"])
    with db.transaction() as tx:
        cita, problems = fields.booking(data, fields.known(tx))
        if problems:
            raise _invalid(problems)
        lock(tx, [cita["centre"]])
        found = stored(tx, [cita["code"]]).get(cita["code"])
        if found is not None:
            if found["status"] == "booked" and all(found[k] == cita[k] for k in CONTENT):
                return public(found), False
            raise Refused(409, "cita_exists", f"Ya existe la cita {cita['code']} con otros "
                          "datos; para cambiarla use PATCH, para anularla cancel.")
        cita.update(status="booked", change=next_change(tx, cita["centre"]))
        insert(tx, [cita], by)
        found = stored(tx, [cita["code"]])[cita["code"]]
        if found["change"] != cita["change"] or found["centre"] != cita["centre"]:
            raise Refused(409, "cita_exists", f"La cita {cita['code']} se reservó a la vez "
                          "desde otra solicitud; revísela.")
        return public(found), True


def _changes(data: Any, row: dict[str, Any], sure: fields.Known) -> dict[str, Any]:
    """The columns a PATCH body sets, checked."""
    if not isinstance(data, dict) or not data:
        raise _invalid(["se esperaba un objeto con service, date, time o name"])
    unknown = sorted(str(k) for k in data if k not in CHANGEABLE)
    if unknown:
        raise _invalid([f"no se puede cambiar {', '.join(unknown)[:200]} (solo service, "
                        "date, time y name)"])
    checks = {"service": lambda v: fields.service(v, row["centre"], sure),
              "date": fields.day, "time": fields.slot, "name": fields.name}
    found, problems = {}, []
    for key, value in data.items():
        try:
            found[CHANGEABLE[key]] = checks[key](value)
        except fields.Bad as exc:
            problems.append(str(exc))
    if problems:
        raise _invalid(problems)
    return found


def change(db: Database, code: str, data: Any, by: str) -> dict[str, Any]:
    """Change a booked cita's service, day, slot or name; it takes a new change number
    (unless nothing differs). A cancelled cita, or one checked in, stays as it is."""
    with db.transaction() as tx:
        row = _one(tx, code)
        if row["status"] == "cancelled":
            raise Refused(409, "cita_cancelled", f"La cita {row['code']} está cancelada.")
        if row["checked_in_at"]:
            raise Refused(409, "cita_checked_in", f"La cita {row['code']} ya registró la "
                          "llegada del ciudadano; no se cambia.")
        new = _changes(data, row, fields.known(tx))
        if all(row[k] == v for k, v in new.items()):
            return public(row)
        updated = {**row, **new, "change": next_change(tx, row["centre"])}
        update(tx, [updated], by)
        return public(stored(tx, [row["code"]])[row["code"]])


def cancel(db: Database, code: str, by: str) -> dict[str, Any]:
    """Cancel a cita (once: a second cancellation changes nothing). One checked in keeps
    its ticket at the box."""
    with db.transaction() as tx:
        row = _one(tx, code)
        if row["status"] == "cancelled":
            return public(row)
        update(tx, [{**row, "status": "cancelled",
                     "change": next_change(tx, row["centre"])}], by)
        return public(stored(tx, [row["code"]])[row["code"]])


def changes(db: Database, centre: str, after: int, limit: int = 500) -> dict[str, Any]:
    """The feed's page for ``centre``: its citas changed after ``after``, in change order;
    ``next`` is what the box keeps once it applied the page, ``more`` whether to ask again."""
    limit = max(1, min(limit, FEED_LIMIT))
    rows = db.conn().query(
        f"SELECT {', '.join(FEED)} FROM citas WHERE centre = ? AND change > ? "
        "ORDER BY change LIMIT ?", (centre, after, limit + 1))
    page = [{k: r[k] for k in FEED} for r in rows[:limit]]
    return {"citas": page, "next": int(page[-1]["change"]) if page else after,
            "more": len(rows) > limit}


def listing(db: Database, centre: str | None, day_from: str, day_to: str) -> dict[str, Any]:
    """The citas of a range of days (of one centre, or all), for viewers."""
    where, params = "day >= ? AND day <= ?", [day_from, day_to]
    if centre:
        where, params = where + " AND centre = ?", [*params, centre]
    rows = db.conn().query(f"SELECT * FROM citas WHERE {where} ORDER BY centre, day, slot, "
                           "code LIMIT ?", (*params, LIST_LIMIT + 1))
    return {"citas": [public(r) for r in rows[:LIST_LIMIT]],
            "truncated": len(rows) > LIST_LIMIT}


def _short(value: Any) -> str | None:
    return value[:64] if isinstance(value, str) and value else None


def note_events(tx: Conn, centre: str, rows: list[dict[str, Any]]) -> None:
    """What the centre's box says of its citas: ``cita.checked_in`` (the first one counts:
    a double tap prints nothing new) and ``cita.outcome`` (the latest by ``at``). ``rows``
    are the events as ingest stores them, ``payload`` an object; a code that is not this
    centre's is ignored, so a box can only tell about its own citas."""
    for e in rows:
        p = e.get("payload") or {}
        code = p.get("code")
        if not isinstance(code, str) or not fields.CODE.match(code):
            continue
        if e.get("kind") == "cita.checked_in" and p.get("arrival") in ARRIVALS:
            tx.execute("UPDATE citas SET checked_in_at = ?, ticket = ?, label = ?, "
                       "arrival = ? WHERE code = ? AND centre = ? AND checked_in_at IS NULL",
                       (e.get("at"), _short(p.get("ticket")) or _short(e.get("ticket")),
                        _short(p.get("label")), p["arrival"], code, centre))
        elif e.get("kind") == "cita.outcome" and p.get("outcome") in OUTCOMES:
            tx.execute("UPDATE citas SET outcome = ?, outcome_at = ? WHERE code = ? AND "
                       "centre = ? AND (outcome_at IS NULL OR outcome_at <= ?)",
                       (p["outcome"], e.get("at"), code, centre, e.get("at")))


SUMMARY = {
    "booked": "status = 'booked'",
    "kept": "arrival = 'kept'",
    "late": "arrival = 'late'",
    "missed": "outcome = 'missed'",
    "cancelled": "status = 'cancelled'",
    "served": "outcome = 'served'",
    "pending": "status = 'booked' AND arrival IS NULL AND outcome IS NULL",
}


def summary(db: Database, from_day: str, to_day: str) -> list[dict[str, Any]]:
    """Per centre and day: citas booked (not cancelled), kept (checked in in their window),
    late (after it), missed (nobody came), cancelled, served, and pending (no news yet)."""
    counts = ", ".join(f"SUM(CASE WHEN {cond} THEN 1 ELSE 0 END) AS {name}"
                       for name, cond in SUMMARY.items())
    rows = db.conn().query(f"SELECT centre, day, {counts} FROM citas WHERE day >= ? AND "
                           "day <= ? GROUP BY centre, day ORDER BY centre, day",
                           (from_day, to_day))
    return [{"centre": r["centre"], "day": r["day"], **{k: int(r[k] or 0) for k in SUMMARY}}
            for r in rows]


def forget(db: Database, older_than_days: int, today: date) -> int:
    """Erase the document and name of citas whose day is more than ``older_than_days``
    before ``today``; how many were erased."""
    cutoff = (today - timedelta(days=max(0, older_than_days))).isoformat()
    where = ("day < ? AND (document IS NOT NULL OR document_type IS NOT NULL "
             "OR name IS NOT NULL)")
    with db.transaction() as tx:
        count = int(tx.query(f"SELECT COUNT(*) AS n FROM citas WHERE {where}",
                             (cutoff,))[0]["n"])
        if count:
            tx.execute("UPDATE citas SET document_type = NULL, document = NULL, name = NULL "
                       f"WHERE {where}", (cutoff,))
    return count


def forget_daily(db: Database, older_than_days: int) -> None:
    """``forget`` at most once a day per database (ingest calls it at every batch)."""
    now = today()
    if _forgotten_on.get(db.url) == now:
        return
    _forgotten_on[db.url] = now
    try:
        forget(db, older_than_days, now)
    except Exception:  # the batch is stored and answered; the next day tries again
        log.exception("could not erase the personal data of old citas")
