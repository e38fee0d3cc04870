"""Why a ticket was cancelled: a reason from a fixed list, and an optional note for staff.

The reason is a code, so it may go wherever the ``ticket.cancelled`` event goes (the live
stream to every desk and TV, the uplink to the central office) and the indicators can count
it. The note is free text typed by a person, who may write a citizen's name or document
number in it: it is kept here, in ``cancellations``, never in the event, and it is read only
through the staff's ticket view, which shows it to the staff of the ticket's entity (and to
reception and supervision). Retention blanks it with the rest of the personal data.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from turnero.errors import InvalidInput
from turnero.store import Tx
from turnero.text import line

# Why staff may cancel a ticket; the codes go into the event, the labels are the pages'.
CANCEL_REASONS: dict[str, str] = {
    "left_centre": "El ciudadano se retiró del centro",
    "wrong_service": "Trámite o entidad equivocados",
    "duplicate": "Turno duplicado",
    "documents_missing": "Le faltan documentos o requisitos",
    "entity_system_down": "Sistema de la entidad caído",
    "other": "Otro motivo",
}
NOTE_MAX = 200

_NOTES_SQL = (
    "SELECT a.step, q.entity, c.reason, c.note, c.at, c.actor "
    "FROM cancellations c JOIN attentions a ON a.id = c.attention "
    "JOIN tickets t ON t.id = a.ticket JOIN queues q ON q.code = a.queue "
    "WHERE t.uid = ? ORDER BY c.id")


@dataclass(frozen=True)
class CancelReason:
    """A checked reason code and its cleaned note (None when none was written)."""

    code: str
    note: str | None


def check(reason: Any, note: Any) -> CancelReason:
    """The reason and note as given, checked: the reason must be one of
    :data:`CANCEL_REASONS` (400 ``invalid_reason`` naming them otherwise); the note is one
    clean line of at most :data:`NOTE_MAX` characters (:func:`turnero.text.line`)."""
    if not isinstance(reason, str) or reason not in CANCEL_REASONS:
        raise InvalidInput("Indique el motivo de la anulación, uno de: "
                           + ", ".join(CANCEL_REASONS) + ".", "invalid_reason",
                           reasons=list(CANCEL_REASONS))
    return CancelReason(reason, line(note, "note", NOTE_MAX))


def record(tx: Tx, attention_id: int, reason: CancelReason, actor: str | None) -> None:
    """Keep the cancellation's reason and note beside the attention it ended."""
    tx.execute("INSERT INTO cancellations(attention, reason, note, at, actor) "
               "VALUES (?,?,?,?,?)", (attention_id, reason.code, reason.note, tx.at, actor))


def for_ticket(conn: sqlite3.Connection, uid: str) -> list[dict[str, Any]]:
    """Every cancellation of the ticket, oldest first, with the entity of the queue it was
    cancelled in (who may read the note) and the note itself."""
    return [{"step": r["step"], "entity": r["entity"], "reason": r["reason"],
             "note": r["note"], "at": r["at"], "actor": r["actor"]}
            for r in conn.execute(_NOTES_SQL, (uid,))]
