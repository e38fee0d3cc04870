"""Questions the role rules ask about the data: does this ticket concern that entity?

An asesor acts only on what belongs to their entity (its módulos, its queues, the citizens
its módulos served); the HTTP layer asks here before letting them act on a ticket.
"""

from __future__ import annotations

from turnero.store import Store


def ticket_in_entity(store: Store, uid: str, entity: str | None) -> bool:
    """Whether any passage of the ticket was through a queue of ``entity``."""
    if not entity:
        return False
    return store.reader().execute(
        "SELECT 1 FROM attentions a JOIN tickets t ON t.id = a.ticket "
        "JOIN queues q ON q.code = a.queue WHERE t.uid = ? AND q.entity = ? LIMIT 1",
        (uid, entity)).fetchone() is not None
