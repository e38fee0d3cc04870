"""Engine operations on the floor: módulos open, pause, resume, close; queues open and close.

A módulo's time in each state is read from these events by the indicators.
"""

from __future__ import annotations

from typing import Any

from turnero import access
from turnero.access import Actor
from turnero.calls import counter_row
from turnero.errors import Conflict, InvalidInput, NotFound
from turnero.store import Store, Tx
from turnero.text import clean_line

PAUSE_REASONS = ("break", "training", "it_support", "entity_system_down", "other")

_COUNTER_MOVES = {  # action: (allowed from, to, event)
    "open": (("closed",), "open", "counter.opened"),
    "pause": (("open",), "paused", "counter.paused"),
    "resume": (("paused",), "open", "counter.resumed"),
    "close": (("open", "paused"), "closed", "counter.closed"),
}
_ACTION_ES = {"open": "abrir", "pause": "pausar", "resume": "reanudar", "close": "cerrar"}
_STATUS_ES = {"open": "abierto", "paused": "en pausa", "closed": "cerrado"}


def change_counter(store: Store, counter_id: int, action: str, *, actor: Actor = None,
                   reason: Any = None) -> dict[str, Any]:
    """Move a módulo between open, paused and closed; illegal moves are 409. An asesor
    (``actor`` a :class:`~turnero.accounts.Principal` of role agent) acts only at a módulo they
    hold (:func:`turnero.access.take_desk`), and opening is refused while they hold another
    (open or paused): both checked in the same transaction as the change."""
    allowed, target, kind = _COUNTER_MOVES[action]
    if action == "pause" and reason not in PAUSE_REASONS:
        raise InvalidInput("reason debe ser uno de: " + ", ".join(PAUSE_REASONS) + ".",
                           "invalid_reason")

    def op(tx: Tx) -> dict[str, Any]:
        counter = counter_row(tx, counter_id)
        name = access.take_desk(tx, counter, actor, hold=action not in ("open", "close"))
        if counter["status"] not in allowed:
            raise Conflict(f"No se puede {_ACTION_ES[action]} el módulo {counter_id}: está "
                           f"{_STATUS_ES[counter['status']]}.", "illegal_transition",
                           status=counter["status"])
        if action == "open" and access.is_asesor(actor):
            access.refuse_second_modulo(tx, name, counter_id)
        if action in ("pause", "close") and counter["current"] is not None:
            busy = tx.one("SELECT status FROM attentions WHERE id = ?", (counter["current"],))
            if busy and busy["status"] in ("called", "serving"):
                raise Conflict(f"El módulo {counter_id} tiene un turno en curso.",
                               "counter_busy")
        # an asesor's pause or resume keeps them the holder (take_desk made them so)
        agent = name if action == "open" or access.is_asesor(actor) else counter["agent"]
        tx.execute("UPDATE counters SET status = ?, status_reason = ?, status_since = ?, "
                   "agent = ?, current = CASE WHEN ? = 'closed' THEN NULL ELSE current END "
                   "WHERE id = ?",
                   (target, reason if action == "pause" else None, tx.at,
                    None if target == "closed" else agent, target, counter_id))
        tx.emit(kind, actor=name, counter=counter_id, previous=counter["status"],
                reason=reason if action == "pause" else None, entity=counter["entity"])
        return {"id": counter_id, "status": target, "reason": reason if action == "pause"
                else None, "since": tx.at, "agent": None if target == "closed" else agent}
    return store.write(op)


def change_queue(store: Store, code: str, is_open: bool, *, actor: str | None = None,
                 reason: Any = None) -> dict[str, Any]:
    """Open or close a queue to new tickets; the reason is what the kiosk shows (cleaned
    like every text a person types, ``turnero.text``)."""
    if not is_open:
        reason = clean_line(reason) if isinstance(reason, str) else ""
        if not reason or len(reason) > 200:
            raise InvalidInput("Indique el motivo del cierre (hasta 200 caracteres).",
                               "invalid_reason")

    def op(tx: Tx) -> dict[str, Any]:
        row = tx.one("SELECT code, is_open FROM queues WHERE code = ? AND active", (code,))
        if row is None:
            raise NotFound(f"No existe la cola {code}.", "queue_not_found")
        if bool(row["is_open"]) == is_open:
            raise Conflict(f"La cola {code} ya está {'abierta' if is_open else 'cerrada'}.",
                           "illegal_transition")
        tx.execute("UPDATE queues SET is_open = ?, closed_reason = ? WHERE code = ?",
                   (int(is_open), None if is_open else reason.strip(), code))
        tx.emit("queue.opened" if is_open else "queue.closed", actor=actor, queue=code,
                reason=None if is_open else reason.strip())
        return {"code": code, "is_open": is_open,
                "closed_reason": None if is_open else reason.strip()}
    return store.write(op)
