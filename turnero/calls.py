"""Engine operations of a módulo on its current ticket: call next, call a given ticket,
recall, start, finish, no-show, transfer.

Call next is one serialized transaction that picks the head chosen by the policy and moves it
from waiting to called; two módulos can never get the same ticket.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from turnero import attention as att
from turnero import policy
from turnero.day import require_open_day
from turnero.errors import Conflict, InvalidInput, NotFound
from turnero.store import Store, Tx
from turnero.tickets import transfer_row
from turnero.views import current_ticket

OUTCOMES = ("attended", "pending", "not_applicable")


def counter_row(tx: Tx | sqlite3.Connection, counter_id: Any) -> sqlite3.Row:
    if not isinstance(counter_id, int) or isinstance(counter_id, bool):
        raise InvalidInput("El módulo debe ser un número.", "invalid_counter")
    if not att.is_sql_int(counter_id):
        raise NotFound(f"No existe el módulo {counter_id}.", "counter_not_found")
    row = tx.execute("SELECT c.*, e.short_name AS entity_name FROM counters c "
                     "JOIN entities e ON e.code = c.entity WHERE c.id = ? AND c.active",
                     (counter_id,)).fetchone()
    if row is None:
        raise NotFound(f"No existe el módulo {counter_id}.", "counter_not_found")
    return row


def _ready_counter(tx: Tx, counter_id: int) -> sqlite3.Row:
    counter = counter_row(tx, counter_id)
    if counter["status"] != "open":
        raise Conflict(f"El módulo {counter_id} no está abierto.", "counter_not_open",
                       status=counter["status"])
    if counter["current"] is not None:
        current = att.current_by_attention(tx, counter["current"])
        if current["status"] in ("called", "serving"):
            raise Conflict(f"El módulo {counter_id} aún tiene el turno {current['label']}.",
                           "counter_busy", ticket=current["uid"])
    return counter


def _current(tx: Tx, counter_id: int) -> tuple[sqlite3.Row, sqlite3.Row]:
    counter = counter_row(tx, counter_id)
    if counter["current"] is None:
        raise Conflict(f"El módulo {counter_id} no tiene un turno en curso.", "no_current_ticket")
    return counter, att.current_by_attention(tx, counter["current"])


_HEAD = ("SELECT * FROM (SELECT id, queue, preferential, order_key, slot FROM attentions "
         "WHERE day = ? AND queue = ? AND status = 'waiting' AND {} LIMIT 1)")
HEADS_SQL = " UNION ALL ".join(_HEAD.format(cond) for cond in (
    "preferential = 1 ORDER BY order_key, id",
    "preferential = 0 AND NOT (slot IS NOT NULL AND slot BETWEEN ? AND ?) "
    "ORDER BY order_key, id",
    "preferential = 0 AND slot BETWEEN ? AND ? ORDER BY slot, id"))
HEADS_PER_STATEMENT = 50  # queues; 150 compound terms, under SQLite's default limit of 500


def _heads_params(day: str, queue: str, now: float, rules: policy.QueueRules) -> tuple:
    lo, hi = now - rules.appointment_late_minutes * 60, now + rules.appointment_early_minutes * 60
    return (day, queue, day, queue, lo, hi, day, queue, lo, hi)


def _heads(tx: Tx, day: str, now: float, rules: dict[str, policy.QueueRules]) -> list[Any]:
    """The few tickets the policy can choose from in each queue: the oldest preferential, the
    oldest normal outside an appointment window, the earliest appointment inside one. One
    statement for all the módulo's queues: each statement inside the write lock gives the GIL
    away and must win it back, which other requests pay for as lock time."""
    queues, rows = list(rules), []
    for at in range(0, len(queues), HEADS_PER_STATEMENT):  # SQLite caps a compound SELECT
        chunk = queues[at:at + HEADS_PER_STATEMENT]
        sql = " UNION ALL ".join([HEADS_SQL] * len(chunk))
        params = [p for queue in chunk for p in _heads_params(day, queue, now, rules[queue])]
        rows += tx.execute(sql, params).fetchall()
    return [policy.Candidate(r["id"], r["queue"], bool(r["preferential"]), r["order_key"],
                             r["slot"]) for r in rows]


CALLED_SQL = ("SELECT t.uid, t.label, t.priority, a.queue, a.service, a.preferential, a.step, "
              "a.day FROM attentions a JOIN tickets t ON t.id = a.ticket WHERE a.id = ?")


def _mark_called(tx: Tx, counter: sqlite3.Row, attention_id: int, rule: str,
                 actor: str | None, streak: int | None = None) -> str:
    """Move a waiting attention to called at ``counter``. ``streak`` is the queue's
    pref_streak when the caller already read it in this transaction."""
    updated = tx.execute(
        "UPDATE attentions SET status = 'called', called_at = COALESCE(called_at, ?), "
        "last_called_at = ?, counter = ?, agent = ?, rule = ? "
        "WHERE id = ? AND status = 'waiting'",
        (tx.at, tx.at, counter["id"], actor, rule, attention_id)).rowcount
    if updated != 1:
        raise Conflict("El turno ya fue llamado por otro módulo.", "already_called")
    tx.execute("UPDATE counters SET current = ? WHERE id = ?", (attention_id, counter["id"]))
    row = tx.row(CALLED_SQL, (attention_id,))  # the attention this transaction just updated
    if streak is None:
        streak = tx.row("SELECT pref_streak FROM queues WHERE code = ?", (row["queue"],))[0]
    new_streak = policy.next_streak(streak, bool(row["preferential"]))
    if new_streak != streak:  # a normal call at streak 0 leaves the queue row as it is
        tx.execute("UPDATE queues SET pref_streak = ? WHERE code = ?",
                   (new_streak, row["queue"]))
    tx.emit("ticket.called", actor=actor, counter=counter["id"], ticket=row["uid"],
            **att.payload(row, rule=rule, counter_name=counter["name"],
                          entity=counter["entity"], entity_name=counter["entity_name"],
                          recalls=0))
    return row["uid"]


def call_next(store: Store, counter_id: int, *, actor: str | None = None) -> dict | None:
    """Call the ticket the policy chooses for this módulo; None when nobody waits."""
    def op(tx: Tx) -> str | None:
        day = require_open_day(tx, store)
        counter = _ready_counter(tx, counter_id)
        served = tx.execute(
            "SELECT cq.queue, cq.weight, q.max_preferential_in_row, q.max_normal_wait_minutes, "
            "q.pref_streak FROM counter_queues cq JOIN queues q ON q.code = cq.queue "
            "WHERE cq.counter = ? AND q.active", (counter_id,)).fetchall()
        p, now = store.policy, tx.now.timestamp()
        rules = {r["queue"]: policy.QueueRules(
            r["max_preferential_in_row"], r["max_normal_wait_minutes"],
            p.appointment_early_minutes, p.appointment_late_minutes) for r in served}
        streaks = {r["queue"]: r["pref_streak"] for r in served}
        choice = policy.choose(_heads(tx, day, now, rules),
                               {r["queue"]: r["weight"] for r in served}, rules, streaks, now)
        if choice is None:
            return None
        c = choice.candidate
        return _mark_called(tx, counter, c.id, choice.rule, actor, streaks[c.queue])
    uid = store.write(op)
    return None if uid is None else current_ticket(store, uid)


def call_ticket(store: Store, counter_id: int, uid: str, *,
                actor: str | None = None) -> dict[str, Any]:
    """Call a given waiting ticket (a supervisor's or asesor's explicit choice)."""
    def op(tx: Tx) -> str:
        require_open_day(tx, store)
        counter = _ready_counter(tx, counter_id)
        row = att.current_by_uid(tx, uid)
        att.require_status(row, "waiting", action="llamar")
        if not tx.one("SELECT 1 FROM counter_queues WHERE counter = ? AND queue = ?",
                      (counter_id, row["queue"])):
            raise Conflict(f"El módulo {counter_id} no atiende la cola {row['queue']}.",
                           "queue_not_served")
        return _mark_called(tx, counter, row["attention_id"], policy.MANUAL, actor)
    return current_ticket(store, store.write(op))


def recall(store: Store, counter_id: int, *, actor: str | None = None) -> dict[str, Any]:
    def op(tx: Tx) -> str:
        counter, row = _current(tx, counter_id)
        att.require_status(row, "called", action="volver a llamar")
        tx.execute("UPDATE attentions SET recalls = recalls + 1, last_called_at = ? "
                   "WHERE id = ?", (tx.at, row["attention_id"]))
        tx.emit("ticket.recalled", actor=actor, counter=counter_id, ticket=row["uid"],
                **att.payload(row, counter_name=counter["name"], entity=counter["entity"],
                              entity_name=counter["entity_name"], recalls=row["recalls"] + 1))
        return row["uid"]
    return current_ticket(store, store.write(op))


def start(store: Store, counter_id: int, *, actor: str | None = None) -> dict[str, Any]:
    def op(tx: Tx) -> str:
        _, row = _current(tx, counter_id)
        att.require_status(row, "called", action="iniciar la atención de")
        tx.execute("UPDATE attentions SET status = 'serving', started_at = ? WHERE id = ?",
                   (tx.at, row["attention_id"]))
        tx.emit("ticket.started", actor=actor, counter=counter_id, ticket=row["uid"],
                **att.payload(row))
        return row["uid"]
    return current_ticket(store, store.write(op))


def no_show(store: Store, counter_id: int, *, actor: str | None = None) -> dict[str, Any]:
    def op(tx: Tx) -> str:
        _, row = _current(tx, counter_id)
        att.require_status(row, "called", action="marcar como no presentado")
        att.end_attention(tx, row, "no_show")
        tx.emit("ticket.no_show", actor=actor, counter=counter_id, ticket=row["uid"],
                **att.payload(row, recalls=row["recalls"]))
        return row["uid"]
    return current_ticket(store, store.write(op))


def finish(store: Store, counter_id: int, outcome: Any = "attended", *,
           actor: str | None = None) -> dict[str, Any]:
    """End the attention; a visit with steps left moves on to its next queue by itself."""
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome debe ser attended, pending o not_applicable.",
                           "invalid_outcome")

    def op(tx: Tx) -> str:
        _, row = _current(tx, counter_id)
        att.require_status(row, "serving", action="finalizar")
        att.end_attention(tx, row, "done", outcome)
        tx.emit("ticket.finished", actor=actor, counter=counter_id, ticket=row["uid"],
                **att.payload(row, outcome=outcome))
        remaining = json.loads(row["visit"])
        if remaining:
            target = att.service_row(tx, remaining[0])
            tx.execute("UPDATE tickets SET visit = ? WHERE id = ?",
                       (json.dumps(remaining[1:]), row["ticket_id"]))
            key = att.order_key_for(tx, "arrival", target["queue"], row)
            att.start_step(tx, row, target, key)
            tx.emit("ticket.next_step", actor=actor, ticket=row["uid"],
                    **att.payload(row, to_queue=target["queue"], to_service=target["id"]))
        return row["uid"]
    return current_ticket(store, store.write(op))


def transfer_current(store: Store, counter_id: int, *, service_id: Any = None,
                     queue: Any = None, position: str = "arrival",
                     actor: str | None = None) -> dict[str, Any]:
    """Derive the módulo's citizen to another queue (error de triaje or a second trámite)."""
    def op(tx: Tx) -> str:
        _, row = _current(tx, counter_id)
        att.require_status(row, "called", "serving", action="derivar")
        transfer_row(tx, row, service_id, queue, position, actor)
        return row["uid"]
    return current_ticket(store, store.write(op))
