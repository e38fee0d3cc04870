"""The ANS catalogue: dated service-level targets per queue or per service.

Each entity signs its targets (maximum waiting and attention minutes) for a period; a new
agreement must not rewrite how earlier days are judged, so a target carries the service
days it is valid for. Rows come from the config file (``[[ans]]``, replaced at every start,
read-only here) or from supervision. For a given day the most specific target wins: a
service's own over its queue's, the most recent ``valid_from`` over an older one; with none,
the queue's and service's targets of the catalogue apply.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import date
from typing import Any

from config.model import Ans
from turnero.attention import is_sql_int
from turnero.errors import Conflict, InvalidInput, NotFound
from turnero.store import Store, Tx

FIELDS = ("queue", "service", "max_wait_minutes", "max_attention_minutes", "valid_from",
          "valid_to")
LIMITS = {"max_wait_minutes": 120, "max_attention_minutes": 180}
WORDS_ES = {"max_wait_minutes": "El tiempo máximo de espera",
            "max_attention_minutes": "El tiempo máximo de atención",
            "valid_from": "La fecha de inicio", "valid_to": "La fecha de fin"}

LIST_SQL = """
SELECT a.id, a.queue, q.name AS queue_name, q.entity, a.service, s.name AS service_name,
       a.max_wait_minutes, a.max_attention_minutes, a.valid_from, a.valid_to, a.source,
       a.created_at, a.created_by
FROM ans_targets a JOIN queues q ON q.code = a.queue LEFT JOIN services s ON s.id = a.service
"""


def apply_config(tx: Tx, targets: Iterable[Ans]) -> None:
    """Replace the config file's targets; those entered in supervision stay."""
    tx.execute("DELETE FROM ans_targets WHERE source = 'config'")
    for a in targets:
        tx.execute(
            "INSERT INTO ans_targets(queue, service, max_wait_minutes, max_attention_minutes, "
            "valid_from, valid_to, source, created_at) VALUES (?,?,?,?,?,?, 'config', ?)",
            (a.queue, a.service or None, a.max_wait_minutes, a.max_attention_minutes,
             a.valid_from, a.valid_to or None, tx.at))


def list_targets(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    rows = conn.execute(LIST_SQL + " ORDER BY a.queue, a.service IS NOT NULL, a.service, "
                                   "a.valid_from, a.id").fetchall()
    return [dict(r) for r in rows]


def add_target(store: Store, data: Any, *, actor: str | None = None) -> dict[str, Any]:
    def op(tx: Tx) -> int:
        values = _validated(tx, data)
        cur = tx.execute(
            "INSERT INTO ans_targets(queue, service, max_wait_minutes, max_attention_minutes, "
            "valid_from, valid_to, source, created_at, created_by) "
            "VALUES (?,?,?,?,?,?, 'supervision', ?, ?)",
            (*(values[f] for f in FIELDS), tx.at, actor))
        target_id = cur.lastrowid or 0
        tx.emit("ans.created", actor=actor, id=target_id, **values)
        return target_id
    return _one(store, store.write(op))


def update_target(store: Store, target_id: Any, data: Any, *,
                  actor: str | None = None) -> dict[str, Any]:
    def op(tx: Tx) -> int:
        _editable(tx, target_id)
        values = _validated(tx, data)
        tx.execute("UPDATE ans_targets SET queue = ?, service = ?, max_wait_minutes = ?, "
                   "max_attention_minutes = ?, valid_from = ?, valid_to = ? WHERE id = ?",
                   (*(values[f] for f in FIELDS), target_id))
        tx.emit("ans.changed", actor=actor, id=target_id, **values)
        return int(target_id)
    return _one(store, store.write(op))


def delete_target(store: Store, target_id: Any, *, actor: str | None = None) -> None:
    def op(tx: Tx) -> None:
        _editable(tx, target_id)
        tx.execute("DELETE FROM ans_targets WHERE id = ?", (target_id,))
        tx.emit("ans.deleted", actor=actor, id=target_id)
    store.write(op)


def targets_for_day(conn: sqlite3.Connection | Tx, day: str) -> dict[int, tuple[int, int]]:
    """Per service id: (waiting, attention) targets in seconds valid on ``day``."""
    targets = {r["id"]: (r["max_wait_minutes"], r["max_attention_minutes"], r["queue"])
               for r in conn.execute("SELECT id, queue, max_wait_minutes, "
                                     "max_attention_minutes FROM services").fetchall()}
    rows = conn.execute(
        "SELECT queue, service, max_wait_minutes, max_attention_minutes FROM ans_targets "
        "WHERE valid_from <= ? AND (valid_to IS NULL OR valid_to >= ?) "
        "ORDER BY service IS NOT NULL, valid_from, id", (day, day)).fetchall()
    by_queue = {r["queue"]: (r["max_wait_minutes"], r["max_attention_minutes"])
                for r in rows if r["service"] is None}
    by_service = {r["service"]: (r["max_wait_minutes"], r["max_attention_minutes"])
                  for r in rows if r["service"] is not None}
    result = {}
    for service, (wait, attention, queue) in targets.items():
        wait, attention = by_service.get(service, by_queue.get(queue, (wait, attention)))
        result[service] = (wait * 60, attention * 60)
    return result


def queue_wait_targets(conn: sqlite3.Connection | Tx, day: str) -> dict[str, int]:
    """Per queue code: the waiting target in minutes valid on ``day``, the one the floor,
    the desks and the alerts hold the queue to. A queue-wide dated target (the latest
    ``valid_from`` wins, as in the reports) replaces the catalogue's; targets of single
    services stay with their services."""
    found = {r["code"]: r["max_wait_minutes"]
             for r in conn.execute("SELECT code, max_wait_minutes FROM queues").fetchall()}
    for r in conn.execute(
            "SELECT queue, max_wait_minutes FROM ans_targets WHERE service IS NULL "
            "AND valid_from <= ? AND (valid_to IS NULL OR valid_to >= ?) "
            "ORDER BY valid_from, id", (day, day)).fetchall():
        found[r["queue"]] = r["max_wait_minutes"]
    return found


def _one(store: Store, target_id: int) -> dict[str, Any]:
    row = store.reader().execute(LIST_SQL + " WHERE a.id = ?", (target_id,)).fetchone()
    return dict(row)


def _editable(tx: Tx, target_id: Any) -> None:
    if not is_sql_int(target_id):
        raise NotFound(f"No existe el ANS {target_id}.", "ans_not_found")
    row = tx.one("SELECT source FROM ans_targets WHERE id = ?", (target_id,))
    if row is None:
        raise NotFound(f"No existe el ANS {target_id}.", "ans_not_found")
    if row["source"] == "config":
        raise Conflict("Este ANS viene del archivo de configuración: cámbielo allí.",
                       "ans_from_config")


def _validated(tx: Tx, data: Any) -> dict[str, Any]:
    """The fields of a target, checked against the catalogue; a clear 400 otherwise."""
    if not isinstance(data, dict):
        raise InvalidInput("Envíe los datos del ANS como un objeto JSON.", "invalid_body")
    queue = data.get("queue")
    if not isinstance(queue, str) or tx.one("SELECT 1 FROM queues WHERE code = ? AND active",
                                            (queue,)) is None:
        raise InvalidInput(f"No existe la cola {queue}.", "unknown_queue")
    service = data.get("service")
    if service in (None, 0):
        service = None
    elif not is_sql_int(service) or tx.one("SELECT 1 FROM services WHERE id = ? AND queue = ?",
                                           (service, queue)) is None:
        raise InvalidInput(f"La cola {queue} no tiene el servicio {service}.",
                           "unknown_service")
    values: dict[str, Any] = {"queue": queue, "service": service}
    for name, limit in LIMITS.items():
        value = data.get(name)
        if not is_sql_int(value) or not 0 <= value <= limit:
            raise InvalidInput(f"{WORDS_ES[name]} debe ser un número entero de 0 a {limit} "
                               "minutos.", "invalid_minutes")
        values[name] = value
    values["valid_from"] = _date(data.get("valid_from"), "valid_from", required=True)
    values["valid_to"] = _date(data.get("valid_to"), "valid_to", required=False)
    if values["valid_to"] and values["valid_to"] < values["valid_from"]:
        raise InvalidInput("La fecha de fin no puede ser anterior a la de inicio.",
                           "invalid_dates")
    return values


def _date(value: Any, name: str, *, required: bool) -> str | None:
    if value in (None, "") and not required:
        return None
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise InvalidInput(f"{WORDS_ES[name]} debe ser una fecha válida (AAAA-MM-DD).",
                           "invalid_date") from None
