"""The checks after a simulated (or drilled) day, on the server's database and on what the
clients saw: ``DayEvidence``, the event-log ``Replay`` and ``POST_DAY_CHECKS``."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.indicators_check import indicators_match_the_event_log
from turnero import policy

# ----------------------------------------------------------------------------- post-day checks


@dataclass
class DayEvidence:
    """What the post-day checks read: the server's database once the jornada is closed, and
    what the clients were told during it."""

    db: Path
    day: str
    confirmed: dict[str, str]  # uid → label of every ticket a 201 (or a replayed 200) gave
    client_violations: list[str] = field(default_factory=list)
    tv_calls: list[int] = field(default_factory=list)  # ticket.called heard by each TV
    tv_connections: list[int] = field(default_factory=list)
    _replay: Replay | None = None

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A read-only connection to the server's database, closed afterwards."""
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            yield conn
        finally:
            conn.close()

    @property
    def replay(self) -> Replay:
        if self._replay is None:
            with self.connect() as conn:
                self._replay = Replay.of_database(conn, self.day)
        return self._replay


@dataclass
class _Passage:
    """A ticket's current attention as the event log tells it."""

    label: str
    queue: str
    preferential: bool
    status: str = "waiting"
    counter: int | None = None


class Replay:
    """The day told again from the event log in commit order (seq): which tickets waited in
    which queue, which módulo held which ticket, each queue's run of preferential calls.

    The preferential invariant follows ``turnero.policy`` exactly: a normal ticket chosen by
    call-next (any rule but ``manual``, an explicit choice by staff) while a preferential
    ticket of the same queue waits is allowed only by the queue's anti-starvation options:
    rule ``preferential_streak_limit`` after at least ``max_preferential_in_row`` preferential
    calls in a row, or rule ``max_normal_wait`` when ``max_normal_wait_minutes`` is on. Both
    are off by default (strict priority, Ley 27408): then no normal ticket is ever called
    while a preferential ticket of its queue waits."""

    def __init__(self, day: str, rules: dict[str, tuple[int, int]]) -> None:
        """``rules``: each queue's (max_preferential_in_row, max_normal_wait_minutes)."""
        self.day, self.rules = day, rules
        self.double_calls: list[str] = []
        self.passed_preferential: list[str] = []
        self.unknown: list[str] = []
        self.calls = 0
        self.tickets: dict[str, _Passage] = {}
        self.holding: dict[int, str] = {}
        self.prefs: dict[str, set[str]] = defaultdict(set)  # waiting preferential, per queue
        self.streak: dict[str, int] = defaultdict(int)

    @classmethod
    def of_database(cls, conn: sqlite3.Connection, day: str) -> Replay:
        replay = cls(day, {r[0]: (r[1], r[2]) for r in conn.execute(
            "SELECT code, max_preferential_in_row, max_normal_wait_minutes FROM queues")})
        for row in conn.execute(
                "SELECT kind, counter, ticket, payload FROM events WHERE kind LIKE "
                "'ticket.%' OR kind = 'counter.closed' ORDER BY seq"):
            replay.apply(row[0], row[1], row[2], json.loads(row[3]))
        return replay

    def apply(self, kind: str, counter: int | None, uid: str | None,
              p: dict[str, Any]) -> None:
        """One event, in commit order."""
        if kind == "counter.closed":
            self.holding.pop(counter or 0, None)
            return
        if p.get("day") != self.day or uid is None:
            return
        t = self.tickets.get(uid)
        if kind == "ticket.issued":
            self.tickets[uid] = _Passage(p["label"], p["queue"], bool(p["preferential"]))
            self._wait(uid)
            return
        if t is None:
            self.unknown.append(f"{kind} of a ticket never issued ({uid})")
            return
        if kind == "ticket.called":
            self._call(uid, t, counter, p.get("rule"))
        elif kind == "ticket.started":
            t.status = "serving"
        elif kind in ("ticket.no_show", "ticket.cancelled", "ticket.finished",
                      "ticket.expired"):
            self._leave(uid, kind.split(".")[1])
        elif kind in ("ticket.transferred", "ticket.next_step"):
            if kind == "ticket.transferred":
                self._leave(uid, "transferred")
            t.queue = p["to_queue"]
            self._wait(uid)
        elif kind == "ticket.reactivated":
            self._wait(uid)
        elif kind == "ticket.priority_changed":
            if t.status == "waiting":
                self.prefs[t.queue].discard(uid)
            t.preferential = bool(p["preferential"])
            if t.status == "waiting" and t.preferential:
                self.prefs[t.queue].add(uid)

    def _wait(self, uid: str) -> None:
        t = self.tickets[uid]
        t.status, t.counter = "waiting", None
        if t.preferential:
            self.prefs[t.queue].add(uid)

    def _leave(self, uid: str, status: str) -> None:
        t = self.tickets[uid]
        if t.status == "waiting":
            self.prefs[t.queue].discard(uid)
        if t.counter is not None and self.holding.get(t.counter) == uid:
            del self.holding[t.counter]
        t.status, t.counter = status, None

    def _call(self, uid: str, t: _Passage, counter: int | None, rule: str | None) -> None:
        self.calls += 1
        if t.status != "waiting":
            self.double_calls.append(f"{t.label} called at módulo {counter} while {t.status} "
                                     f"at módulo {t.counter}")
        held = self.holding.get(counter or 0)
        if held is not None and held != uid:
            self.double_calls.append(f"módulo {counter} called {t.label} while holding "
                                     f"{self.tickets[held].label}")
        q = t.queue
        waiting = self.prefs[q] - {uid}
        if not t.preferential and rule != policy.MANUAL and waiting:
            in_row, normal_wait = self.rules.get(q, (0, 0))
            allowed = ((rule == policy.PREFERENTIAL_STREAK and in_row > 0
                        and self.streak[q] >= in_row)
                       or (rule == policy.MAX_NORMAL_WAIT and normal_wait > 0))
            if not allowed:
                labels = sorted(self.tickets[u].label for u in waiting)[:5]
                self.passed_preferential.append(
                    f"{t.label} (rule {rule}) called at módulo {counter} while preferential "
                    f"{', '.join(labels)} waited in {q}")
        self.streak[q] = policy.next_streak(self.streak[q], t.preferential)
        self.prefs[q].discard(uid)
        t.status, t.counter = "called", counter
        if counter is not None:
            self.holding[counter] = uid


Check = Callable[[DayEvidence], list[str]]


def labels_unique(ev: DayEvidence) -> list[str]:
    """No ticket number (label) twice in the day, in the database or among the 201s."""
    with ev.connect() as conn:
        found = [f"{r[0]} issued {r[1]} times" for r in conn.execute(
            "SELECT label, COUNT(*) FROM tickets WHERE day = ? GROUP BY label "
            "HAVING COUNT(*) > 1", (ev.day,))]
        found += [f"{r[0]}-{r[1]} numbered {r[2]} times" for r in conn.execute(
            "SELECT number_queue, number, COUNT(*) FROM tickets WHERE day = ? "
            "GROUP BY 1, 2 HAVING COUNT(*) > 1", (ev.day,))]
    seen = Counter(ev.confirmed.values())
    return found + [f"{label} confirmed to {n} citizens" for label, n in seen.items() if n > 1]


def confirmed_tickets_kept(ev: DayEvidence) -> list[str]:
    """Every ticket a client was given (201) exists, with the label it was given."""
    with ev.connect() as conn:
        stored = dict(conn.execute("SELECT uid, label FROM tickets").fetchall())
    return [f"{label} ({uid}) confirmed but {'missing' if uid not in stored else stored[uid]}"
            for uid, label in ev.confirmed.items() if stored.get(uid) != label]


def single_calls(ev: DayEvidence) -> list[str]:
    """No ticket called by two módulos at once, no módulo holding two tickets (from the
    event log), and none seen by the asesores as it happened."""
    return ev.replay.double_calls + ev.replay.unknown


def preferential_first(ev: DayEvidence) -> list[str]:
    """No preferential ticket passed by a normal one in its queue, except by the queue's
    enabled anti-starvation rules (see ``Replay``)."""
    return ev.replay.passed_preferential


def all_terminal_after_close(ev: DayEvidence) -> list[str]:
    """After the jornada is closed: it is closed, every attention is terminal (done,
    no_show, cancelled, transferred, expired), every módulo closed and empty."""
    with ev.connect() as conn:
        found = []
        row = conn.execute("SELECT closed_at FROM days WHERE day = ?", (ev.day,)).fetchone()
        if row is None or row[0] is None:
            found.append(f"the jornada {ev.day} is not closed")
        found += [f"{r[0]} still {r[1]} after closing" for r in conn.execute(
            "SELECT t.label, a.status FROM attentions a JOIN tickets t ON t.id = a.ticket "
            "WHERE a.day = ? AND a.status IN ('waiting', 'called', 'serving')", (ev.day,))]
        found += [f"módulo {r[0]} {r[1]} holding {r[2]} after closing" for r in conn.execute(
            "SELECT id, status, current FROM counters WHERE status != 'closed' "
            "OR current IS NOT NULL")]
    return found


def clients_saw_nothing_wrong(ev: DayEvidence) -> list[str]:
    """No 5xx, no dropped connection, no double call seen live by the asesores."""
    return list(ev.client_violations)


def tvs_heard_every_call(ev: DayEvidence) -> list[str]:
    """Each TV kept one live stream all day and received every call."""
    with ev.connect() as conn:
        calls = conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'ticket.called'"
                             ).fetchone()[0]
    found = []
    for i, (heard, connections) in enumerate(zip(ev.tv_calls, ev.tv_connections,
                                                 strict=True), start=1):
        if connections != 1 or heard != calls:
            found.append(f"TV {i}: {heard} of {calls} calls over {connections} connections")
    return found


def database_intact(ev: DayEvidence) -> list[str]:
    with ev.connect() as conn:
        result = conn.execute("PRAGMA integrity_check").fetchone()[0]
    return [] if result == "ok" else [f"integrity_check: {result}"]


# The checks run after the day, in order; each returns its violations (empty: it holds).
# Append to extend (e.g. indicators recomputed from the events).
POST_DAY_CHECKS: list[tuple[str, Check]] = [
    ("labels_unique", labels_unique),
    ("confirmed_tickets_kept", confirmed_tickets_kept),
    ("single_calls", single_calls),
    ("preferential_first", preferential_first),
    ("all_terminal_after_close", all_terminal_after_close),
    ("clients_saw_nothing_wrong", clients_saw_nothing_wrong),
    ("tvs_heard_every_call", tvs_heard_every_call),
    ("database_intact", database_intact),
    ("indicators_match_the_event_log", indicators_match_the_event_log),
]


def run_checks(ev: DayEvidence,
               checks: list[tuple[str, Check]] | None = None) -> dict[str, list[str]]:
    """Every check's violations by name; a check that raises is a violation too."""
    found: dict[str, list[str]] = {}
    for name, check in POST_DAY_CHECKS if checks is None else checks:
        try:
            found[name] = check(ev)
        except Exception as exc:
            found[name] = [f"the check failed: {exc!r}"]
    return found
