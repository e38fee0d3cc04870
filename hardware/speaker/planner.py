"""What the voice says next: a pure, deterministic planner that keeps the voice at most
``bound`` seconds behind the screen.

A speaker (a TV's sound queue, the box's own output, a simulation of either) holds the calls
not yet said, each with the time it was made (shown) and the lengths of its clips: chime,
first language, then the other languages. Whenever the speaker is free it asks ``decide``
what to play; the answer depends only on the queue, the time and the rules:

- A later call for the same ticket (a recall) *merges* with a waiting one: the later wins.
  A later call at the same módulo *supersedes* a waiting one (the latest call per módulo
  wins): that one is dropped. A call already being said is finished, never cut.
- A call is started at most ``bound`` seconds after it was made; the plan keeps ``margin``
  (1 s) of it in hand for the player's start-up. When the waiting calls cannot all start in
  time (chime and first language each), the oldest is dropped until they can: it has been
  on the screen the longest. The newest calls are always said.
- At most ``capacity`` calls wait (the rows a TV keeps on screen for unsaid calls).
- The other languages (Quechua) are said when every waiting call can still start within
  half the bound after them (``when_time``), or ``always``, or ``never``.

``display/static/voiceplan.js`` is the same algorithm for the TVs (a test runs both on the
same cases); ``simulate`` replays a day through it (``bench/voice_delay.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

SECOND_LANGUAGE = ("when_time", "always", "never")
MARGIN = 1.0
# Seconds a player needs to start the two clips of a call (fetch, decode, the page's event
# loop on a busy machine), counted with each call the plan puts before another.
CALL_START = 0.5


@dataclass(frozen=True)
class Rules:
    bound: float = 30.0
    second: str = "when_time"
    capacity: int | None = None
    # Seconds of the bound kept in hand: a player takes time to start a clip (loading,
    # decoding, a busy machine), so calls are planned to start this much before the bound
    # (measured: on a loaded machine a call planned just within 15 s started 105 ms late,
    # and the clips before it played longer than their lengths).
    margin: float = MARGIN


@dataclass(frozen=True)
class Item:
    """A call waiting for the voice. ``clips``: seconds of chime, first language, others."""

    seq: int
    ticket: str
    counter: str
    made: float
    clips: tuple[float, ...]
    said: int = 0  # clips already played

    @property
    def must(self) -> float:
        """Seconds of what is always said: the chime and the first language."""
        return sum(self.clips[:2])


@dataclass(frozen=True)
class Decision:
    play: tuple[int, int] | None = None  # (seq, clip index)
    finished: tuple[int, ...] = ()
    dropped: tuple[int, ...] = ()
    merged: tuple[int, ...] = ()


def _feasible(items: Sequence[Item], start: float, deadline: float) -> bool:
    """Whether each item starts within ``deadline`` seconds of being made, one after another
    from ``start``."""
    t = start
    for item in items:
        if t > item.made + deadline + 1e-9:
            return False
        t += item.must + CALL_START
    return True


def _merge(queue: Sequence[Item]) -> tuple[list[Item], list[int], list[int]]:
    """(kept, dropped, merged): same ticket merges, same módulo supersedes a waiting call."""
    kept: list[Item] = []
    dropped: list[int] = []
    merged: list[int] = []
    for item in sorted(queue, key=lambda i: i.seq):
        for old in list(kept):
            if old.ticket == item.ticket:
                if old.said:  # being said: the new call is said with it
                    merged.append(item.seq)
                    break
                kept.remove(old)
                merged.append(old.seq)
            elif old.counter == item.counter and not old.said:
                kept.remove(old)
                dropped.append(old.seq)
        else:
            kept.append(item)
    return kept, dropped, merged


def _extras_allowed(current: Item, others: Sequence[Item], now: float, rules: Rules) -> bool:
    if rules.second != "when_time":
        return rules.second == "always"
    after = now + sum(current.clips[current.said:])
    return _feasible(others, after, rules.bound / 2)


def decide(queue: Iterable[Item], now: float, rules: Rules) -> Decision:
    """What a free speaker plays at ``now``, and which calls leave the queue."""
    kept, dropped, merged = _merge(list(queue))
    current = next((i for i in kept if i.said), None)
    waiting = [i for i in kept if not i.said]
    if current is not None:
        more = current.said < len(current.clips)
        if more and (current.said < 2 or _extras_allowed(current, waiting, now, rules)):
            return Decision((current.seq, current.said), (), tuple(dropped), tuple(merged))
        finished: tuple[int, ...] = (current.seq,)
    else:
        finished = ()
    limit = rules.capacity if rules.capacity is not None else len(waiting)
    planned = max(0.0, rules.bound - rules.margin)
    while waiting and (len(waiting) > limit or not _feasible(waiting, now, planned)):
        dropped.append(waiting.pop(0).seq)
    play = (waiting[0].seq, 0) if waiting else None
    return Decision(play, finished, tuple(dropped), tuple(merged))


@dataclass
class Outcome:
    """What became of one call: said (``spoken_at``, its languages) or dropped/merged."""

    item: Item
    spoken_at: float | None = None
    clips_said: int = 0
    fate: str = "waiting"  # spoken, dropped, merged

    @property
    def delay(self) -> float | None:
        return None if self.spoken_at is None else self.spoken_at - self.item.made


@dataclass
class Speaker:
    """One speaker driven by ``decide`` in (real or simulated) time: ``add`` calls, ``advance``
    to a time; the clips are "played" for their length."""

    rules: Rules
    queue: list[Item] = field(default_factory=list)
    outcomes: dict[int, Outcome] = field(default_factory=dict)
    free_at: float = 0.0
    log: list[tuple[float, int, int]] = field(default_factory=list)  # (start, seq, clip)

    def add(self, item: Item) -> None:
        self.queue.append(item)
        self.outcomes[item.seq] = Outcome(item)

    def advance(self, now: float) -> None:
        """Play every clip that starts by ``now`` (a call is started no earlier than made)."""
        while self.queue:
            t = max(self.free_at, min(i.made for i in self.queue))
            if t > now or self.step(t) is None:
                return

    def step(self, t: float) -> tuple[int, int] | None:
        """Ask the planner at ``t`` and play what it says (the speaker is free at ``t``)."""
        d = decide([i for i in self.queue if i.made <= t], t, self.rules)
        gone = set(d.finished) | set(d.dropped) | set(d.merged)
        for seq in d.dropped:
            self.outcomes[seq].fate = "dropped"
        for seq in d.merged:
            self.outcomes[seq].fate = "merged"
        self.queue = [i for i in self.queue if i.seq not in gone]
        if d.play is None:
            return None
        seq, index = d.play
        item = next(i for i in self.queue if i.seq == seq)
        outcome = self.outcomes[seq]
        if index == 0:
            outcome.spoken_at, outcome.fate = t, "spoken"
        outcome.clips_said = index + 1
        self.queue = [replace(i, said=index + 1) if i.seq == seq else i for i in self.queue]
        self.log.append((t, seq, index))
        self.free_at = t + item.clips[index]
        return d.play

    def behind(self, now: float) -> float:
        """Age of the oldest call made but not yet started (0 when none); a call already past
        the bound is not counted: the speaker's next decision drops it."""
        waiting = [i.made for i in self.queue
                   if not i.said and now - self.rules.bound <= i.made <= now]
        return max(0.0, now - min(waiting)) if waiting else 0.0


def simulate(items: Iterable[Item], rules: Rules) -> Speaker:
    """Replay calls (made at ``item.made``) through one speaker until it falls silent."""
    speaker = Speaker(rules)
    pending = sorted(items, key=lambda i: (i.made, i.seq))
    t, n = 0.0, 0
    while n < len(pending) or speaker.queue:
        if n < len(pending) and not speaker.queue:
            t = max(t, pending[n].made)
        while n < len(pending) and pending[n].made <= t:
            speaker.add(pending[n])
            n += 1
        if speaker.step(t) is None:
            if n >= len(pending):
                break
            t = max(t, pending[n].made)
            continue
        t = speaker.free_at
    return speaker
