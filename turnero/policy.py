"""Who is called next: a pure function of the waiting tickets, the módulo, the clock and rules.

Order, for one módulo:
1. its queues by weight (higher first); queues of equal weight compete ticket by ticket;
2. inside a queue, when enabled, the anti-starvation rules (a normal ticket waiting longer
   than ``max_normal_wait_minutes`` since it entered the queue; a normal ticket after
   ``max_preferential_in_row`` preferential calls in a row);
3. preferential before every normal ticket of the queue (Ley 27408), by arrival;
4. appointments inside their early/late window, by slot;
5. everyone else by arrival.
Ties break on the attention id, so the same state always gives the same choice. Every choice
names the rule that made it; the engine stores it with the call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Rule names as recorded with each call.
MAX_NORMAL_WAIT = "max_normal_wait"
PREFERENTIAL_STREAK = "preferential_streak_limit"
PREFERENTIAL = "preferential"
APPOINTMENT = "appointment"
ARRIVAL = "arrival"
MANUAL = "manual"

_TIER = {MAX_NORMAL_WAIT: 0, PREFERENTIAL_STREAK: 0, PREFERENTIAL: 1, APPOINTMENT: 2,
         ARRIVAL: 3}


@dataclass(frozen=True)
class Candidate:
    id: int
    queue: str
    preferential: bool
    order_key: float  # arrival position in the queue, epoch seconds
    appointment_at: float | None = None  # slot, epoch seconds
    # When it entered this queue, epoch seconds (a visit's next step, a transfer or a
    # reactivation enters late with an early order key); None = its order key.
    entered_at: float | None = None

    @property
    def waiting_since(self) -> float:
        """Where its wait in this queue starts, for the anti-starvation rule."""
        return self.order_key if self.entered_at is None else self.entered_at


@dataclass(frozen=True)
class QueueRules:
    max_preferential_in_row: int = 0  # 0 = off
    max_normal_wait_minutes: int = 0  # 0 = off
    appointment_early_minutes: int = 15
    appointment_late_minutes: int = 15

    def in_window(self, c: Candidate, now: float) -> bool:
        if c.appointment_at is None:
            return False
        return (c.appointment_at - self.appointment_early_minutes * 60 <= now
                <= c.appointment_at + self.appointment_late_minutes * 60)


@dataclass(frozen=True)
class Choice:
    candidate: Candidate
    rule: str


def choose_in_queue(candidates: Iterable[Candidate], rules: QueueRules, streak: int,
                    now: float) -> Choice | None:
    """The next ticket of one queue, or None when nobody waits."""
    prefs, appts, normals = [], [], []
    for c in candidates:
        if c.preferential:
            prefs.append(c)
        elif rules.in_window(c, now):
            appts.append(c)
        else:
            normals.append(c)
    oldest_normal = min(normals, key=lambda c: (c.order_key, c.id), default=None)
    first_slot = min(appts, key=lambda c: (c.appointment_at or 0, c.id), default=None)
    limit = rules.max_normal_wait_minutes
    # The wait is measured from entering this queue, not from the order key: a ticket that
    # just arrived from another queue has not waited here and must not pass anyone.
    longest = min(normals, key=lambda c: (c.waiting_since, c.id), default=None)
    if longest is not None and limit and now - longest.waiting_since > limit * 60:
        return Choice(longest, MAX_NORMAL_WAIT)
    if prefs and rules.max_preferential_in_row and streak >= rules.max_preferential_in_row:
        protected = first_slot or oldest_normal  # any non-preferential ticket breaks the run
        if protected is not None:
            return Choice(protected, PREFERENTIAL_STREAK)
    if prefs:
        return Choice(min(prefs, key=lambda c: (c.order_key, c.id)), PREFERENTIAL)
    if first_slot is not None:
        return Choice(first_slot, APPOINTMENT)
    if oldest_normal is not None:
        return Choice(oldest_normal, ARRIVAL)
    return None


def choose(candidates: Iterable[Candidate], weights: Mapping[str, int],
           rules: Mapping[str, QueueRules], streaks: Mapping[str, int],
           now: float) -> Choice | None:
    """The next ticket for a módulo that serves ``weights`` (queue code → weight)."""
    by_queue: dict[str, list[Candidate]] = {}
    for c in candidates:
        if c.queue in weights:
            by_queue.setdefault(c.queue, []).append(c)
    best: tuple | None = None
    for queue, items in by_queue.items():
        choice = choose_in_queue(items, rules.get(queue, QueueRules()), streaks.get(queue, 0),
                                 now)
        if choice is None:
            continue
        c = choice.candidate
        when = c.appointment_at if choice.rule == APPOINTMENT else c.order_key
        rank = (-weights[queue], _TIER[choice.rule], when, c.id)
        if best is None or rank < best[0]:
            best = (rank, choice)
    return best[1] if best else None


def next_streak(streak: int, preferential: bool) -> int:
    """Preferential calls in a row in a queue after one more call from it."""
    return streak + 1 if preferential else 0
