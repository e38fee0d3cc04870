"""Questions the role rules ask about the data: does this ticket concern that entity, may
this person act at that módulo?

An asesor acts only on what belongs to their entity (its módulos, its queues, the citizens
its módulos served); the HTTP layer asks here before letting them act on a ticket.

At a módulo an asesor acts only if they hold it: they opened it, or a supervisor opened it
for them (the asesor who acts there first then holds it); never at one a colleague holds, and
they hold one módulo at a time. The engine's desk operations (:mod:`turnero.calls`,
:mod:`turnero.floor`) ask :func:`take_desk` inside their write transaction, so the holder
they read is the one their write sees: a colleague cannot close and reopen the módulo in
between. Supervisors, admins and the box itself (a call button, a worker) act at any.
"""

from __future__ import annotations

import sqlite3
from typing import TypeAlias, TypeGuard

from turnero.accounts import Principal
from turnero.errors import Conflict, Forbidden
from turnero.store import Store, Tx

# Who performs a desk action: a signed-in person (whose role the rules read) or the name of
# the box's own part that acts (``button:3``, ``auto_no_show``), which the rules trust.
Actor: TypeAlias = Principal | str | None


def ticket_in_entity(store: Store, uid: str, entity: str | None) -> bool:
    """Whether any passage of the ticket was through a queue of ``entity``."""
    if not entity:
        return False
    return store.reader().execute(
        "SELECT 1 FROM attentions a JOIN tickets t ON t.id = a.ticket "
        "JOIN queues q ON q.code = a.queue WHERE t.uid = ? AND q.entity = ? LIMIT 1",
        (uid, entity)).fetchone() is not None


def actor_name(actor: Actor) -> str | None:
    """The name events and rows record for ``actor``."""
    return actor.actor if isinstance(actor, Principal) else actor


def is_asesor(actor: Actor) -> TypeGuard[Principal]:
    return isinstance(actor, Principal) and actor.kind == "user" and actor.role == "agent"


def _asesor_account(conn: Tx | sqlite3.Connection, username: str) -> bool:
    row = conn.execute("SELECT role FROM users WHERE username = ?", (username,)).fetchone()
    return row is not None and row["role"] == "agent"


def check_desk(conn: Tx | sqlite3.Connection, counter: sqlite3.Row, actor: Actor) -> None:
    """Refuse (403) an asesor at a módulo of another entity, or at one a colleague holds (open
    or paused, opened by that colleague). A closed módulo only opening can change, and a
    módulo a supervisor opened is there for the entity's asesor who takes it."""
    if not is_asesor(actor):
        return
    if counter["entity"] != actor.entity:
        raise Forbidden("Este módulo pertenece a otra entidad.", "forbidden")
    holder = counter["agent"]
    if counter["status"] != "closed" and holder not in (None, actor.actor) \
            and _asesor_account(conn, holder):
        raise Forbidden(f"El módulo {counter['id']} lo abrió otro asesor; solo quien lo "
                        "abrió puede atender en él.", "not_your_modulo")


def refuse_second_modulo(tx: Tx, username: str | None, counter_id: int) -> None:
    """409 ``already_at_a_modulo`` while ``username`` holds another módulo (open or
    paused)."""
    held = tx.one("SELECT id, name FROM counters WHERE agent = ? AND status != 'closed' "
                  "AND active AND id != ? ORDER BY id LIMIT 1", (username, counter_id))
    if held is not None:
        raise Conflict(f"Usted ya atiende en el módulo {held['name']}; ciérrelo antes de "
                       "abrir otro.", "already_at_a_modulo", counter=held["id"])


def take_desk(tx: Tx, counter: sqlite3.Row, actor: Actor, *, hold: bool = True
              ) -> str | None:
    """Inside a desk action's write transaction: check that ``actor`` may act at ``counter``
    (:func:`check_desk`) and, with ``hold``, make an asesor acting at a módulo a supervisor
    opened for them its holder (so their ratings count there and colleagues are kept out),
    unless they already hold another. Returns the name to record as the actor."""
    check_desk(tx, counter, actor)
    name = actor_name(actor)
    if hold and is_asesor(actor) and counter["status"] != "closed" \
            and counter["agent"] != name:
        refuse_second_modulo(tx, name, counter["id"])
        tx.execute("UPDATE counters SET agent = ? WHERE id = ?", (name, counter["id"]))
    return name
