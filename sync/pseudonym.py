"""What of an event may leave the box, and the keyed hash for what may not leave in clear.

Events carry no document number or name (tickets hold them), but some of their fields are
written by people: staff usernames (``actor``), the reason typed when closing a queue, the
text of a TV message. A person may type a citizen's name there. (The note staff may add to
a cancellation is not in its event at all: it never leaves the box.) So the rule is an
allow-list: known structured fields pass as they are; every other payload field,
and every staff username, is replaced by ``HMAC-SHA256(centre secret, value)``. The same
value gives the same pseudonym within a centre (the central can still count per asesor or
group equal reasons) but nobody without the centre's secret can go back to the value.
Machines (``device:…``, ``printer:…``) are not people and keep their names.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from turnero.cancellations import CANCEL_REASONS
from turnero.outbox import Outgoing

PREFIX = "h:"
# Payload fields that are codes, numbers, flags or catalogue names: never typed by a person.
CLEAR = frozenset({
    "label", "queue", "service", "priority", "preferential", "step", "day", "channel",
    "number", "visit", "entity", "entity_name", "appointment", "has_document", "rule",
    "counter_name", "recalls", "outcome", "to_queue", "to_service", "position", "previous",
    "score", "expired", "finished", "state", "pending", "printer", "until", "log_until",
    "clock_was",
    # the central catalogue's version on the box, and why the box could not run one: the
    # box's own check of the central's document, which no person typed
    "version", "entities", "queues", "services", "problems",
    # a cita's booking code (the central's own reference, not the citizen's), its time and
    # whether it was kept: the central matches them to the cita it booked
    "code", "slot", "arrival",
})
# Fields whose value is clear only when it is one of a fixed set of codes: a módulo's pause
# and closing reasons, and a ticket's cancel reasons (whose note never leaves the box).
CODES = {"reason": frozenset({"break", "training", "it_support", "entity_system_down", "other",
                              "day_closed", *CANCEL_REASONS}),
         "by": frozenset({"central", "staff"})}
MACHINE_ACTORS = ("device:", "printer:")


def keyed(secret: bytes, value: str) -> str:
    return PREFIX + hmac.new(secret, value.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def actor(secret: bytes, name: str | None) -> str | None:
    if name is None or name.startswith(MACHINE_ACTORS):
        return name
    return keyed(secret, "actor:" + name)


def _scalar(value: Any) -> bool:
    if isinstance(value, (bool, int, float)) or value is None:
        return True
    return isinstance(value, str)


def _clear_value(value: Any) -> bool:
    if isinstance(value, list):
        return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    return _scalar(value)


def payload(secret: bytes, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in data.items():
        if name in CLEAR and _clear_value(value):
            out[name] = value
        elif name in CODES and value in CODES[name]:
            out[name] = value
        elif value is None or value == "" or isinstance(value, bool):
            out[name] = value
        else:
            text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            out[name] = keyed(secret, f"{name}:{text}")
    return out


def describe(secret: bytes, event: Outgoing) -> dict[str, Any]:
    """The event as the central gets it."""
    try:
        data = json.loads(event.payload)
    except ValueError:
        data = {"unreadable": event.payload}
    if not isinstance(data, dict):
        data = {"value": data}
    return {"uid": event.uid, "seq": event.seq, "kind": event.kind, "at": event.at,
            "actor": actor(secret, event.actor), "counter": event.counter,
            "ticket": event.ticket, "payload": payload(secret, data)}
