"""How many calls are worth synthesizing: no more than a voice could say.

A TV says one call at a time: chime, first language, and a moment to start the next. It says
a call at most ``bound`` seconds after the call was made and, when calls come faster than it
can say them, keeps the newest and drops the oldest (``hardware.speaker.planner``). So among
the calls one TV hears, at most about ``bound / shortest call`` fit in any stretch of
``bound`` seconds, and at a steady pace one per shortest call: synthesizing more of them is
work no TV will play. ``Pace`` holds that budget as a token bucket per group of calls heard
by the same TVs (a módulo's zone and entity: a TV shows some entities, some zones, or all);
a TV that hears several groups says no more than one group's budget, so per group the budget
is never smaller than any TV's need. The shortest call is counted short on purpose: the
chime, 1.5 s of speech (a Spanish call lasts 2.6 s or more at the rate the box speaks) and
the player's start, so the pace never holds back a call a TV could have said in time.
In a centre's normal pace the buckets stay full and nothing waits.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hardware.speaker.chime import CHIME_SECONDS
from hardware.speaker.planner import CALL_START, Rules

SHORTEST_PHRASE = 1.5  # seconds of speech, shorter than any call phrase (see the module doc)


@dataclass
class Pace:
    """Token buckets per group: ``capacity`` calls at once, one more every ``every`` s."""

    capacity: float
    every: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)  # tokens, at

    @classmethod
    def for_rules(cls, rules: Rules) -> Pace:
        """The budget of a voice that keeps ``rules`` (its bound and margin)."""
        shortest = CHIME_SECONDS + SHORTEST_PHRASE + CALL_START
        return cls(capacity=max(1, int((rules.bound - rules.margin) // shortest)),
                   every=shortest)

    def _tokens(self, group: str, now: float) -> float:
        tokens, at = self._buckets.get(group, (self.capacity, now))
        return min(self.capacity, tokens + max(0.0, now - at) / self.every)

    def wait(self, group: str, now: float) -> float:
        """Seconds until ``group`` may have a call synthesized (0: now)."""
        tokens = self._tokens(group, now)
        return 0.0 if tokens >= 1 else (1 - tokens) * self.every

    def take(self, group: str, now: float) -> None:
        """Spend one call of ``group``'s budget (after ``wait`` said 0)."""
        self._buckets[group] = (self._tokens(group, now) - 1, now)
