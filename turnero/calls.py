"""Engine operations of a módulo on its current ticket: call next, call a given ticket,
recall, start, finish, no-show, transfer.

Call next is one serialized transaction that picks the head chosen by the policy and moves it
from waiting to called; two módulos can never get the same ticket.

Each operation takes its ``actor`` (:data:`turnero.access.Actor`) and checks, in its own write
transaction, that an asesor holds the módulo (:func:`turnero.access.take_desk`).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from turnero import access, policy
from turnero import attention as att
from turnero.access import Actor
from turnero.clock import from_iso
from turnero.day import require_open_day
from turnero.errors import Conflict, InvalidInput, NotFound
from turnero.store import Store, Tx
from turnero.tickets import transfer_row
from turnero.views import current_ticket, written_ticket

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


def _ready_counter(tx: Tx, counter_id: int, actor: Actor) -> tuple[sqlite3.Row, str | None]:
    """The módulo, open and free, that ``actor`` may call at; and the actor's name."""
    counter = counter_row(tx, counter_id)
    name = access.take_desk(tx, counter, actor)
    if counter["status"] != "open":
        raise Conflict(f"El módulo {counter_id} no está abierto.", "counter_not_open",
                       status=counter["status"])
    if counter["current"] is not None:
        current = att.current_by_attention(tx, counter["current"])
        if current["status"] in ("called", "serving"):
            raise Conflict(f"El módulo {counter_id} aún tiene el turno {current['label']}.",
                           "counter_busy", ticket=current["uid"])
    return counter, name


def _current(tx: Tx, counter_id: int, actor: Actor
             ) -> tuple[sqlite3.Row, sqlite3.Row, str | None]:
    """The módulo that ``actor`` may act at, its current attention, and the actor's name."""
    counter = counter_row(tx, counter_id)
    name = access.take_desk(tx, counter, actor)
    if counter["current"] is None:
        raise Conflict(f"El módulo {counter_id} no tiene un turno en curso.", "no_current_ticket")
    return counter, att.current_by_attention(tx, counter["current"]), name


_HEAD = ("SELECT * FROM (SELECT id, queue, preferential, order_key, slot, "
         "COALESCE(queued_at, entered_at) AS entered_at FROM attentions "
         "WHERE day = ? AND queue = ? AND status = 'waiting' AND {} LIMIT 1)")
_NORMAL_OUTSIDE = "preferential = 0 AND NOT (slot IS NOT NULL AND slot BETWEEN ? AND ?) "
HEADS_SQL = " UNION ALL ".join(_HEAD.format(cond) for cond in (
    "preferential = 1 ORDER BY order_key, id",
    _NORMAL_OUTSIDE + "ORDER BY order_key, id",
    "preferential = 0 AND slot BETWEEN ? AND ? ORDER BY slot, id"))
# With the anti-starvation wait on, also the normal ticket that has waited longest in the
# queue: a ticket that re-entered at the front (a visit's next step, a transfer, a
# reactivation) heads the arrival order without having waited, and must not hide one that did.
LONGEST_SQL = _HEAD.format(_NORMAL_OUTSIDE + "ORDER BY COALESCE(queued_at, entered_at), id")
HEADS_PER_STATEMENT = 40  # queues; up to 160 compound terms, under SQLite's limit of 500


def _heads_params(day: str, queue: str, now: float, rules: policy.QueueRules) -> tuple:
    lo, hi = now - rules.appointment_late_minutes * 60, now + rules.appointment_early_minutes * 60
    heads = (day, queue, day, queue, lo, hi, day, queue, lo, hi)
    return heads + (day, queue, lo, hi) if rules.max_normal_wait_minutes else heads


def _heads_sql(rules: policy.QueueRules) -> str:
    return HEADS_SQL + " UNION ALL " + LONGEST_SQL if rules.max_normal_wait_minutes \
        else HEADS_SQL


def _heads(tx: Tx, day: str, now: float, rules: dict[str, policy.QueueRules]) -> list[Any]:
    """The few tickets the policy can choose from in each queue: the oldest preferential, the
    oldest normal outside an appointment window, the earliest appointment inside one (and,
    with the anti-starvation wait on, the normal one longest in the queue). One statement for
    all the módulo's queues: each statement inside the write lock gives the GIL away and must
    win it back, which other requests pay for as lock time."""
    queues, rows = list(rules), []
    for at in range(0, len(queues), HEADS_PER_STATEMENT):  # SQLite caps a compound SELECT
        chunk = queues[at:at + HEADS_PER_STATEMENT]
        sql = " UNION ALL ".join(_heads_sql(rules[queue]) for queue in chunk)
        params = [p for queue in chunk for p in _heads_params(day, queue, now, rules[queue])]
        rows += tx.execute(sql, params).fetchall()
    return [policy.Candidate(r["id"], r["queue"], bool(r["preferential"]), r["order_key"],
                             r["slot"], _epoch(r["entered_at"])) for r in rows]


def _epoch(iso: str | None) -> float | None:
    """When a head entered its queue (the anti-starvation rule's start), epoch seconds."""
    return None if iso is None else from_iso(iso).timestamp()


CALLED_SQL = ("SELECT t.uid, t.label, t.priority, a.queue, a.service, a.preferential, a.step, "
              "a.day FROM attentions a JOIN tickets t ON t.id = a.ticket WHERE a.id = ?")


def _mark_called(tx: Tx, counter: sqlite3.Row, attention_id: int, rule: str,
                 actor: str | None, streak: int | None = None, **extra: Any) -> str:
    """Move a waiting attention to called at ``counter``. ``streak`` is the queue's
    pref_streak when the caller already read it in this transaction; ``extra`` goes into
    the call event (a manual call's reason)."""
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
                          recalls=0, **extra))
    return row["uid"]


def _choose(tx: Tx, store: Store, day: str, counter_id: int) -> tuple[Any, dict[str, int]]:
    """The policy's choice for this módulo now (or None), with its queues' preferential
    streaks."""
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
    return choice, streaks


def call_next(store: Store, counter_id: int, *, actor: Actor = None) -> dict | None:
    """Call the ticket the policy chooses for this módulo; None when nobody waits."""
    def op(tx: Tx) -> dict | None:
        day = require_open_day(tx, store)
        counter, name = _ready_counter(tx, counter_id, actor)
        choice, streaks = _choose(tx, store, day, counter_id)
        if choice is None:
            return None
        c = choice.candidate
        return written_ticket(tx, store, _mark_called(tx, counter, c.id, choice.rule, name,
                                                      streaks[c.queue]))
    return store.write(op)


# Why an asesor may call a ticket past a waiting preferential citizen (Ley 27408 puts them
# first, so passing one must be explained; the reason goes into the call event).
MANUAL_REASONS: dict[str, str] = {
    "preferential_absent": "El ciudadano preferente no está en la sala",
    "continues_attention": "Continúa una atención ya iniciada en este módulo",
    "specialized_service": "Trámite que solo este módulo puede atender",
    "supervisor_order": "Indicación del supervisor",
    "other": "Otro motivo (detallar en la nota)",
}
NOTE_MAX = 200
_PASSED_SQL = (
    "SELECT t.label FROM attentions a JOIN tickets t ON t.id = a.ticket "
    "JOIN counter_queues cq ON cq.queue = a.queue AND cq.counter = ? "
    "WHERE a.day = ? AND a.status = 'waiting' AND a.preferential = 1 AND a.id != ? "
    "AND (? = 0 OR a.order_key < ? OR (a.order_key = ? AND a.id < ?)) "
    "ORDER BY a.order_key, a.id LIMIT 5")


def check_reason(reason: Any, note: Any) -> tuple[str | None, str | None]:
    """A manual call's reason and note as given, checked against the fixed list."""
    if reason is not None and reason not in MANUAL_REASONS:
        raise InvalidInput("El motivo no es uno de la lista: " + ", ".join(MANUAL_REASONS)
                           + ".", "invalid_reason", reasons=list(MANUAL_REASONS))
    if note is not None and not isinstance(note, str):
        raise InvalidInput("La nota debe ser un texto.", "invalid_note")
    text = " ".join(note.split()) if note else None
    if text and len(text) > NOTE_MAX:
        raise InvalidInput(f"La nota admite hasta {NOTE_MAX} caracteres.", "note_too_long")
    if reason == "other" and not text:
        raise InvalidInput("Con el motivo «Otro» escriba una nota breve.", "note_required")
    return reason, text or None


def _passed(tx: Tx, day: str, counter_id: int, row: sqlite3.Row) -> list[str]:
    """Labels of waiting preferential citizens of this módulo's queues that calling ``row``
    passes: every one for a normal ticket, the earlier ones for a preferential ticket."""
    pref, key, aid = int(bool(row["preferential"])), row["order_key"], row["attention_id"]
    return [r["label"] for r in tx.execute(
        _PASSED_SQL, (counter_id, day, aid, pref, key, key, aid)).fetchall()]


def call_ticket(store: Store, counter_id: int, uid: str, *, reason: Any = None,
                note: Any = None, actor: Actor = None) -> dict[str, Any]:
    """Call a given waiting ticket (a supervisor's or asesor's explicit choice). Passing a
    waiting preferential citizen needs a reason from :data:`MANUAL_REASONS`, unless the
    policy itself would call this ticket now."""
    reason, note = check_reason(reason, note)

    def op(tx: Tx) -> dict[str, Any]:
        day = require_open_day(tx, store)
        counter, name = _ready_counter(tx, counter_id, actor)
        row = att.current_by_uid(tx, uid)
        att.require_status(row, "waiting", action="llamar")
        if not tx.one("SELECT 1 FROM counter_queues WHERE counter = ? AND queue = ?",
                      (counter_id, row["queue"])):
            raise Conflict(f"El módulo {counter_id} no atiende la cola {row['queue']}.",
                           "queue_not_served")
        passed = _passed(tx, day, counter_id, row)
        if passed and reason is None:
            choice, _ = _choose(tx, store, day, counter_id)
            if choice is None or choice.candidate.id != row["attention_id"]:
                raise Conflict(f"Llamar {row['label']} adelanta a un ciudadano preferente "
                               f"que espera ({', '.join(passed)}); indique el motivo.",
                               "reason_required", passed=passed,
                               reasons=list(MANUAL_REASONS))
        given = (("reason", reason), ("reason_note", note), ("passed", passed or None))
        extra: dict[str, Any] = {k: v for k, v in given if v is not None}
        return written_ticket(tx, store, _mark_called(tx, counter, row["attention_id"],
                                                      policy.MANUAL, name, **extra))
    return store.write(op)


def recall(store: Store, counter_id: int, *, actor: Actor = None) -> dict[str, Any]:
    def op(tx: Tx) -> dict[str, Any]:
        counter, row, name = _current(tx, counter_id, actor)
        att.require_status(row, "called", action="volver a llamar")
        tx.execute("UPDATE attentions SET recalls = recalls + 1, last_called_at = ? "
                   "WHERE id = ?", (tx.at, row["attention_id"]))
        tx.emit("ticket.recalled", actor=name, counter=counter_id, ticket=row["uid"],
                **att.payload(row, counter_name=counter["name"], entity=counter["entity"],
                              entity_name=counter["entity_name"], recalls=row["recalls"] + 1))
        return written_ticket(tx, store, row["uid"])
    return store.write(op)


def start(store: Store, counter_id: int, *, actor: Actor = None) -> dict[str, Any]:
    def op(tx: Tx) -> dict[str, Any]:
        _, row, name = _current(tx, counter_id, actor)
        att.require_status(row, "called", action="iniciar la atención de")
        tx.execute("UPDATE attentions SET status = 'serving', started_at = ? WHERE id = ?",
                   (tx.at, row["attention_id"]))
        tx.emit("ticket.started", actor=name, counter=counter_id, ticket=row["uid"],
                **att.payload(row))
        return written_ticket(tx, store, row["uid"])
    return store.write(op)


def no_show(store: Store, counter_id: int, *, actor: Actor = None) -> dict[str, Any]:
    def op(tx: Tx) -> dict[str, Any]:
        _, row, name = _current(tx, counter_id, actor)
        att.require_status(row, "called", action="marcar como no presentado")
        att.end_attention(tx, row, "no_show")
        tx.emit("ticket.no_show", actor=name, counter=counter_id, ticket=row["uid"],
                **att.payload(row, recalls=row["recalls"]))
        return written_ticket(tx, store, row["uid"])
    return store.write(op)


def finish(store: Store, counter_id: int, outcome: Any = "attended", *,
           actor: Actor = None) -> dict[str, Any]:
    """End the attention; a visit with steps left moves on to its next queue by itself."""
    if outcome not in OUTCOMES:
        raise InvalidInput("outcome debe ser attended, pending o not_applicable.",
                           "invalid_outcome")

    def op(tx: Tx) -> str:
        _, row, name = _current(tx, counter_id, actor)
        att.require_status(row, "serving", action="finalizar")
        att.end_attention(tx, row, "done", outcome)
        tx.emit("ticket.finished", actor=name, counter=counter_id, ticket=row["uid"],
                **att.payload(row, outcome=outcome))
        remaining = json.loads(row["visit"])
        if remaining:
            target = att.service_row(tx, remaining[0])
            tx.execute("UPDATE tickets SET visit = ? WHERE id = ?",
                       (json.dumps(remaining[1:]), row["ticket_id"]))
            key = att.order_key_for(tx, "arrival", target["queue"], row)
            att.start_step(tx, row, target, key)
            tx.emit("ticket.next_step", actor=name, ticket=row["uid"],
                    **att.payload(row, to_queue=target["queue"], to_service=target["id"]))
        return row["uid"]
    return current_ticket(store, store.write(op))


def transfer_current(store: Store, counter_id: int, *, service_id: Any = None,
                     queue: Any = None, position: str = "arrival",
                     actor: Actor = None) -> dict[str, Any]:
    """Derive the módulo's citizen to another queue (error de triaje or a second trámite)."""
    def op(tx: Tx) -> str:
        _, row, name = _current(tx, counter_id, actor)
        att.require_status(row, "called", "serving", action="derivar")
        transfer_row(tx, row, service_id, queue, position, name)
        return row["uid"]
    return current_ticket(store, store.write(op))
