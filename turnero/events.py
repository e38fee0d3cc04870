"""The declared events: every kind the engine records, and the fields of its payload.

The event log is a contract between the engine, which writes it, and everything that reads
it by name: the TVs', desks', reception's and supervision's pages (through the live stream),
the announcer, the desks' serial devices, the reports' replay and the central receiver. A
kind renamed or a field dropped on one side used to break the other side in silence. So each
kind is declared here once, with what it means and what each field of its payload means;
:meth:`turnero.store.Tx.emit` refuses a kind or a payload field that is not declared; the
tests check that every kind the readers name is declared and every declared kind is written
somewhere; and the reference ``docs/events.md`` is generated from these declarations
(``mac-turnos events-docs``).

The envelope is the same for every kind (see :data:`ENVELOPE`); what is declared per kind is
the payload. A field marked optional is left out by some of the places that record the kind.
No payload carries personal data (document numbers, names): the events leave the box.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType


class UndeclaredEvent(ValueError):
    """An event whose kind, or one of whose payload fields, is not declared in this module."""


@dataclass(frozen=True)
class EventKind:
    """One kind of event: its name, what it records, and its payload fields."""

    name: str
    doc: str
    fields: Mapping[str, str]  # field name: meaning, in declaration order
    optional: frozenset[str]  # fields some of the places that record the kind leave out
    names: frozenset[str]  # the field names, for the check in ``Tx.emit``

    @property
    def family(self) -> str:
        """The part before the dot: ``ticket`` for ``ticket.called``."""
        return self.name.split(".", 1)[0]


def kind(name: str, doc: str, fields: Mapping[str, str] | None = None, *,
         optional: Iterable[str] = ()) -> EventKind:
    """Declare a kind; ``optional`` names fields of ``fields`` that may be left out."""
    table = dict(fields or {})
    left_out = frozenset(optional)
    if not left_out <= table.keys():
        raise ValueError(f"{name}: optional fields not declared: {sorted(left_out - table.keys())}")
    return EventKind(name, doc, MappingProxyType(table), left_out, frozenset(table))


ENVELOPE: Mapping[str, str] = MappingProxyType({
    "seq": "Position in the box's log (increasing; the live stream's event id).",
    "uid": "Unique id of the event (the central receiver stores each uid once).",
    "kind": "One of the kinds below.",
    "at": "UTC instant of the transaction that recorded it (never goes backwards).",
    "actor": "Who did it: a username, `auto_no_show`, `scheduler`, `printer:NAME`, "
             "`button:N`/`sign:N`, or null.",
    "counter": "Id of the módulo concerned, or null.",
    "ticket": "Uid of the ticket concerned, or null.",
    "payload": "The kind's fields, as declared below.",
})

# What every ticket event says about the ticket's current step (turnero.attention.payload).
_TICKET: dict[str, str] = {
    "label": "The ticket's number as printed and called, e.g. `RN-007`.",
    "queue": "Code of the queue of this step, e.g. `RN`.",
    "service": "Id of the service (trámite) of this step.",
    "priority": "Code of the ticket's category: `normal`, `gestante`, `adulto_mayor`, ...",
    "preferential": "Whether that category is preferential.",
    "step": "Which step of the visit: 1 for the first trámite, 2 for the next one, ...",
    "day": "Service day, `YYYY-MM-DD` in the centre's time zone.",
}
# What a call says about the módulo, for the TVs and the announcer.
_CALL: dict[str, str] = {
    "counter_name": "Name of the módulo as the TVs show and the voice says it.",
    "entity": "Code of the entity that runs the módulo, e.g. `RENIEC`.",
    "entity_name": "Name of that entity.",
}
_MOVE: dict[str, str] = {
    "to_queue": "Code of the queue the ticket now waits in.",
    "to_service": "Id of the service of the new step.",
}
_POSITION = "Where it enters that queue: `arrival` (by issue time), `front` or `back`."
_COUNTER: dict[str, str] = {
    "previous": "The módulo's status before: `closed`, `open` or `paused`.",
    "reason": "Why it was paused (`break`, `training`, `it_support`, `entity_system_down`, "
              "`other`); null for every other move.",
    "entity": "Code of the entity that runs the módulo.",
}
_USER: dict[str, str] = {"username": "The account concerned."}
_ROLE: dict[str, str] = {
    "role": "Its role: `admin`, `supervisor`, `receptionist` or `agent`.",
    "entity": "Code of the entity an `agent` serves; null for the other roles.",
}
_ANS: dict[str, str] = {
    "id": "Id of the target.",
    "queue": "Code of the queue it applies to.",
    "service": "Id of the service it applies to; null for the whole queue.",
    "max_wait_minutes": "Longest wait within the target, in minutes.",
    "max_attention_minutes": "Longest attention within the target, in minutes.",
    "valid_from": "First day it applies, `YYYY-MM-DD`.",
    "valid_to": "Last day it applies, `YYYY-MM-DD`; null when open-ended.",
}


def _table(*kinds: EventKind) -> Mapping[str, EventKind]:
    """The declarations by name, in declaration order; a name declared twice is an error."""
    table: dict[str, EventKind] = {}
    for k in kinds:
        if k.name in table:
            raise ValueError(f"event kind {k.name} declared twice")
        table[k.name] = k
    return MappingProxyType(table)


KINDS: Mapping[str, EventKind] = _table(
    # --- the service day -------------------------------------------------------------------
    kind("day.opened", "A service day (jornada) was opened for the first time.", {
        "day": "The service day, `YYYY-MM-DD`.",
        "checks": "The opening check list as confirmed: `{item: {ok, note}}`; `{}` when "
                  "opened without one.",
    }),
    kind("day.reopened", "A closed service day was opened again (its reports are no longer "
         "frozen).", {"day": "The service day, `YYYY-MM-DD`."}),
    kind("day.checklist_confirmed", "A person confirmed the opening check list of a day the "
         "scheduler opened by itself (the automatic checks stay recorded beside it).", {
        "day": "The service day, `YYYY-MM-DD`.",
        "checks": "The check list as confirmed: `{item: {ok, note}}`.",
    }),
    kind("day.issuing_stopped", "Closing time came: no more tickets today (screens and "
         "kiosks say so).", {
        "day": "The service day, `YYYY-MM-DD`.",
        "closes_at": "The closing time, local ISO time to the minute.",
    }),
    kind("clock.corrected", "The clock had run ahead and was put right: the box went back to "
         "the clock's time, although the log holds later times (turnero.clock_trust).", {
        "clock_was": "The latest time in the log before the correction, ISO.",
        "by": "Who vouched for the clock: `central` (its Date header) or `staff` (a "
              "supervisor opening the day).",
    }),
    kind("day.closed", "The service day was closed; what still waited expired and what was "
         "in progress was ended (their own events come first).", {
        "day": "The service day, `YYYY-MM-DD`.",
        "expired": "How many tickets expired waiting or called.",
        "finished": "How many attentions in progress were ended.",
    }),
    # --- tickets ---------------------------------------------------------------------------
    kind("ticket.issued", "A ticket was issued (kiosk, reception or appointment).", {
        **_TICKET,
        "channel": "Where: `kiosk`, `reception` or `appointment`.",
        "number": "The ticket's number in its queue today.",
        "visit": "Ids of the services of the later steps, in order; `[]` for one trámite.",
        "entity": "Code of the entity of the queue.",
        "appointment": "Whether the ticket has an appointment time.",
        "has_document": "Whether a document number was recorded (the number never is in "
                        "an event).",
    }),
    kind("ticket.called", "A módulo called a waiting ticket (the TVs show it, the voice says "
         "it).", {
        **_TICKET, **_CALL,
        "rule": "Why this ticket: `preferential`, `appointment`, `arrival`, "
                "`max_normal_wait`, `preferential_streak_limit` or `manual`.",
        "recalls": "Always 0: recalls so far.",
        "reason": "A `manual` call that passed a waiting preferential citizen only: why, one "
                  "of `preferential_absent`, `continues_attention`, `specialized_service`, "
                  "`supervisor_order`, `other`.",
        "reason_note": "With `reason`, when the asesor wrote one: a short note (up to 200 "
                       "characters; the desk asks for no personal data).",
        "passed": "A `manual` call only: labels of the waiting preferential tickets it "
                  "passed (up to 5).",
    }, optional=("reason", "reason_note", "passed")),
    kind("ticket.recalled", "The módulo called its ticket again.", {
        **_TICKET, **_CALL,
        "recalls": "How many recalls, this one included.",
    }),
    kind("ticket.started", "The citizen came: the attention began.", dict(_TICKET)),
    kind("ticket.no_show", "The called citizen did not come; the ticket left the queue.", {
        **_TICKET,
        "recalls": "How many times it had been recalled.",
        "auto": "Set by the automatic no-show only: the rule that applied, `recalls` or "
                "`minutes`.",
    }, optional=("auto",)),
    kind("ticket.finished", "An attention ended (a later step of the visit, if any, follows "
         "as `ticket.next_step`).", {
        **_TICKET,
        "outcome": "`attended`, `pending`, `not_applicable`, or `closed_at_day_end` when the "
                   "closing of the day ended it.",
        "previous": "Set when the closing of the day ended it: the status it had, `serving`.",
    }, optional=("previous",)),
    kind("ticket.next_step", "After an attention, the visit's next trámite began: the ticket "
         "waits in the next queue.", {**_TICKET, **_MOVE}),
    kind("ticket.transferred", "The ticket was moved to another queue or service (triage "
         "error or a second trámite); the step named is the one left.", {
        **_TICKET, **_MOVE, "position": _POSITION,
    }),
    kind("ticket.cancelled", "Staff cancelled a waiting or called ticket.", {
        **_TICKET,
        "reason": "Why, one of `left_centre`, `wrong_service`, `duplicate`, "
                  "`documents_missing`, `entity_system_down`, `other`. The note staff may "
                  "add is never in the event: it is kept for the staff of the ticket's "
                  "entity (`GET /api/v1/tickets/{uid}`, `cancellations`).",
    }),
    kind("ticket.reactivated", "A no-show or cancelled ticket waits again (same day only).", {
        **_TICKET,
        "previous": "The status it had: `no_show` or `cancelled`.",
        "position": _POSITION,
    }),
    kind("ticket.priority_changed", "Staff changed the ticket's category.", {
        **_TICKET,
        "priority": "Code of the new category.",
        "preferential": "Whether the new category is preferential.",
        "previous": "Code of the category it had.",
    }),
    kind("ticket.expired", "The day closed while the ticket was waiting or called.", {
        **_TICKET, "previous": "The status it had: `waiting` or `called`.",
    }),
    kind("ticket.reprint_requested", "Another printed copy of the ticket was asked for.",
         dict(_TICKET)),
    kind("ticket.rated", "The citizen rated an attention.", {
        **_TICKET, "score": "The rating, 1 (bad) to 5 (very good).",
    }),
    # --- módulos and queues ----------------------------------------------------------------
    kind("counter.opened", "A módulo opened (its asesor can call).", dict(_COUNTER)),
    kind("counter.paused", "A módulo paused (it is not called to).", dict(_COUNTER)),
    kind("counter.resumed", "A paused módulo is open again.", dict(_COUNTER)),
    kind("counter.closed", "A módulo closed, by staff or by the closing of the day.", {
        **_COUNTER,
        "reason": "`day_closed` when the closing of the day closed it; null otherwise.",
    }, optional=("previous", "entity")),
    kind("queue.opened", "A queue takes new tickets again.", {
        "queue": "Code of the queue.", "reason": "Always null.",
    }),
    kind("queue.closed", "A queue stopped taking new tickets (those waiting are still "
         "served).", {
        "queue": "Code of the queue.", "reason": "Why, as the kiosk shows it.",
    }),
    # --- accounts and devices --------------------------------------------------------------
    kind("user.created", "A staff account was created.", {**_USER, **_ROLE}),
    kind("user.role_changed", "An account's role changed (its open sessions follow at once).",
         {**_USER, **_ROLE}),
    kind("user.secret_reset", "An account's PIN was replaced (its sessions ended, a lockout "
         "lifted).", dict(_USER)),
    kind("user.disabled", "An account was disabled (its sessions ended).", dict(_USER)),
    kind("user.enabled", "A disabled account was enabled again.", dict(_USER)),
    kind("device.enrolled", "A kiosk or TV was enrolled.", {
        "device": "Name of the device.", "role": "`kiosk` or `display`.",
    }),
    kind("device.revoked", "A kiosk's or TV's enrolment was revoked.", {
        "device": "Name of the device.",
    }),
    # --- hardware --------------------------------------------------------------------------
    kind("printer.status", "A ticket printer's state changed.", {
        "printer": "Name of the printer in the configuration.",
        "state": "`ok`, `paper_out`, `offline` or `error`.",
        "message": "What the printer worker says about it, for staff.",
        "pending": "Print jobs waiting for it.",
    }),
    kind("desk_device.status", "A módulo's call button or number sign went away or came "
         "back.", {
        "device": "`button` or `sign`.",
        "port": "The serial port it is configured on.",
        "connected": "Whether it answers now.",
    }),
    # --- service level targets (ANS) -------------------------------------------------------
    kind("ans.created", "A supervisor added a service level target (ANS).", dict(_ANS)),
    kind("ans.changed", "A supervisor changed a service level target.", dict(_ANS)),
    kind("ans.deleted", "A supervisor deleted a service level target.", {"id": _ANS["id"]}),
    # --- the national catalogue ------------------------------------------------------------
    kind("cita.checked_in", "A citizen with a cita booked at the central checked in "
         "(turnero.citas): its ticket was issued in the same transaction.", {
        "code": "The booking code.",
        "day": "The cita's day.",
        "slot": "The cita's time, HH:MM local.",
        "label": "The number of its ticket (the envelope's ``ticket``).",
        "arrival": "`kept` (inside the window: called at its slot) or `late` (after it: "
                   "served by arrival).",
    }),
    kind("cita.outcome", "What became of a cita of the jornada being closed.", {
        "code": "The booking code.",
        "day": "The cita's day.",
        "outcome": "`served`, `no_show`, `expired`, `cancelled` (its ticket's end) or "
                   "`missed` (nobody checked in).",
    }),
    kind("catalogue.applied", "The box runs a version of the central office's catalogue "
         "(sync.catalogue): applied in one transaction with this event.", {
        "version": "Number of the version at the central.",
        "entities": "How many entities the centre offers with it.",
        "queues": "How many queues.",
        "services": "How many services.",
    }),
    kind("catalogue.refused", "The box cannot run a version of the central's catalogue with "
         "its own módulos and settings; it goes on with the one it had.", {
        "version": "Number of the refused version.",
        "problems": "Why, key by key (as `check-config` says it).",
    }),
    # --- waiting room ----------------------------------------------------------------------
    kind("display.message", "A supervisor's message for the TVs' message band.", {
        "text": "The message; empty clears the band.",
        "until": "UTC instant it stops showing; null until replaced.",
    }),
    # --- retention -------------------------------------------------------------------------
    kind("retention.personal_data_pruned", "Documents and names of old tickets were "
         "blanked.", {
        "before_day": "Tickets of service days before this one, `YYYY-MM-DD`.",
        "tickets": "How many tickets were blanked.",
    }),
    kind("retention.events_pruned", "Old events, already sent upstream, were deleted.", {
        "before": "Events before this UTC instant.",
        "through_seq": "And with `seq` at most this.",
        "events": "How many were deleted.",
    }),
)


def check_declared(kind_name: str, payload: Mapping[str, object]) -> None:
    """Raise :class:`UndeclaredEvent` unless ``kind_name`` and every field of ``payload``
    are declared (the check of ``Tx.emit``: a dict lookup and a subset test)."""
    declared = KINDS.get(kind_name)
    if declared is None:
        raise UndeclaredEvent(f"event kind {kind_name!r} is not declared in turnero/events.py")
    if not declared.names.issuperset(payload):
        extra = sorted(set(payload) - declared.names)
        raise UndeclaredEvent(f"{kind_name}: payload fields not declared in turnero/events.py: "
                              f"{', '.join(extra)}")


def families() -> frozenset[str]:
    """The parts before the dot of the declared kinds (``ticket``, ``counter``, ...)."""
    return frozenset(k.family for k in KINDS.values())


def reference() -> str:
    """The events reference in Markdown (``docs/events.md``)."""
    out = [
        "# Events",
        "",
        "Every change the appliance records is an event in its append-only log: the live "
        "stream sends it to the pages, the announcer, the desks' devices and the reports read "
        "it, and the uplink sends it to the central receiver. This reference is generated "
        "from the declarations in `turnero/events.py` (`mac-turnos events-docs > "
        "docs/events.md`); a test fails when it is out of date, and recording a kind or a "
        "field that is not declared there is an error.",
        "",
        "## Envelope",
        "",
        "Every event has these fields; the payload's fields depend on the kind.",
        "",
        "| field | meaning |",
        "|---|---|",
        *(f"| `{name}` | {doc} |" for name, doc in ENVELOPE.items()),
        "",
        "## Kinds",
        "",
        f"{len(KINDS)} kinds. A field marked *optional* is left out by some of the places "
        "that record the kind.",
        "",
    ]
    for k in KINDS.values():
        out += [f"### `{k.name}`", "", k.doc, ""]
        if not k.fields:
            out += ["No payload fields.", ""]
            continue
        out += ["| field | meaning |", "|---|---|"]
        for name, doc in k.fields.items():
            mark = " *(optional)*" if name in k.optional else ""
            out.append(f"| `{name}`{mark} | {doc} |")
        out.append("")
    return "\n".join(out)
