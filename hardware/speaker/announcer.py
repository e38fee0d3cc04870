"""The announcement queue: calls in, ready-to-play announcements out, one at a time, in order.

One worker thread takes calls in the order they were submitted, synthesizes the phrase of
each configured language and hands the result to `on_ready` before touching the next call.
So announcements never overlap and each carries only its own files: a failure (a label that
cannot be read aloud, a synthesis error) becomes an announcement with `error` set, and the
next call goes on. `on_ready` runs on the worker thread; it should hand the announcement on
(to the displays' feed) and return, since the next call waits for it.

When calls come faster than the voices can say them, work no display could use is skipped
(if the announcer is built with ``max_age`` / ``supersede`` / ``pace``): a call that waited
longer than the voice's bound (every display's planner drops a call it cannot start within
the bound of being made), a call whose módulo or ticket already has a later call waiting
here (the planner keeps the latest call per módulo and per ticket), and, past the budget of
what a voice could say (``hardware.speaker.pacing``), a call of a group that has a later
call waiting (the planner keeps the newest). The newest call of a group past its budget
waits for the budget (the calls behind it too: announcements stay in call order). A skipped
call still reaches ``on_ready``, as an announcement with ``skipped`` set and no files, so
its caller can count it and move its mark on. In a centre's normal pace nothing waits and
nothing is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hardware.speaker.chime import ensure_chime
from hardware.speaker.pacing import Pace
from hardware.speaker.phrases import LANGUAGES, Call, Templates, parse_label, phrase
from hardware.speaker.tts import Synthesizer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Announcement:
    """What a display plays for one call: chime, then `files` in order.

    `files` are names relative to the synthesizer's cache directory, one per language that
    could be synthesized (`languages` and `texts` line up with them); `error` says what went
    wrong with the others, if anything. `seconds` is the length of `files` without the chime.
    """

    seq: int
    call: Call
    files: tuple[str, ...]
    languages: tuple[str, ...]
    texts: tuple[str, ...]
    seconds: float
    error: str | None = None
    skipped: str | None = None  # "expired" or "superseded": not synthesized (module doc)

    @property
    def ok(self) -> bool:
        return self.error is None


class Announcer:
    """Turns submitted calls into announcements on a worker thread (see the module doc)."""

    def __init__(self, synthesizer: Synthesizer, languages: Sequence[str],
                 on_ready: Callable[[Announcement], None],
                 templates: Mapping[str, Templates] | None = None, *,
                 max_age: float | None = None, supersede: bool = False,
                 pace: Pace | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        unknown = [language for language in languages if language not in LANGUAGES]
        if not languages or unknown:
            raise ValueError(f"languages must be some of {LANGUAGES}, got {list(languages)}")
        self.synthesizer = synthesizer
        self.languages = tuple(languages)
        self.on_ready = on_ready
        self.templates = templates
        self.max_age, self.supersede, self.pace, self.clock = max_age, supersede, pace, clock
        self.skipped = 0
        self.chime = ensure_chime(synthesizer.cache_dir)
        self._changed = threading.Condition()
        self._pending: deque[tuple[int, Call, float]] = deque()
        # the latest waiting call per módulo and per ticket (``supersede``), per group (``pace``)
        self._latest: dict[tuple[str, str], int] = {}
        self._busy = False
        self._running = False
        self._last_seq = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._changed:
            if self._thread is None:
                self._running = True
                self._thread = threading.Thread(target=self._run, name="announcer",
                                                daemon=True)
                self._thread.start()

    def submit(self, call: Call) -> int:
        """Queue a call; returns its sequence number. Never waits for synthesis."""
        with self._changed:  # numbering and queueing together: seq order is queue order
            self._last_seq += 1
            self._pending.append((self._last_seq, call, self.clock()))
            for key in self._keys(call):
                self._latest[key] = self._last_seq
            self._changed.notify_all()
            return self._last_seq

    def wait_idle(self, timeout: float | None = None) -> bool:
        """True once every submitted call has been announced (or has failed)."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending and not self._busy,
                                          timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the call in hand, drop the ones still waiting, and end the worker."""
        with self._changed:
            thread, self._thread = self._thread, None
            self._running = False
            self._pending.clear()
            self._latest.clear()
            self._changed.notify_all()
        if thread is not None:
            thread.join(timeout)

    def announce(self, seq: int, call: Call) -> Announcement:
        """Synthesize every language of one call now (what the worker does per call)."""
        files: list[str] = []
        done: list[str] = []
        texts: list[str] = []
        errors: list[str] = []
        seconds = 0.0
        try:
            parse_label(call.label)
        except ValueError as error:
            return Announcement(seq, call, (), (), (), 0.0, str(error))
        for language in self.languages:
            try:
                text = phrase(call, language, self.templates)
                name = self.synthesizer.synthesize(text, language)
                seconds += self.synthesizer.seconds(name)
            except Exception as error:  # one bad call must not stop the queue
                errors.append(f"{language}: {error}")
                continue
            files.append(name)
            done.append(language)
            texts.append(text)
        return Announcement(seq, call, tuple(files), tuple(done), tuple(texts),
                            round(seconds, 3), "; ".join(errors) or None)

    def _keys(self, call: Call) -> list[tuple[str, str]]:
        keys = [("counter", call.counter), ("ticket", call.label)] if self.supersede else []
        return keys + ([("group", call.group)] if self.pace is not None else [])

    def _later_waits(self, seq: int, kinds: tuple[str, ...], call: Call) -> bool:
        """Whether a call after ``seq`` waits with the same key of one of ``kinds``."""
        return any(self._latest.get(key, seq) != seq
                   for key in self._keys(call) if key[0] in kinds)

    def _take(self) -> tuple[int, Call, str | None] | None:
        """The next call and why it is skipped, if it is (under ``_changed``); None when the
        first call waits for its group's budget (see the module doc)."""
        seq, call, submitted = self._pending[0]
        now = self.clock()
        skip = None
        if self._later_waits(seq, ("counter", "ticket"), call):
            skip = "superseded"
        elif self.max_age is not None and now - submitted > self.max_age:
            skip = "expired"
        elif self.pace is not None:
            if self.pace.wait(call.group, now) == 0:
                self.pace.take(call.group, now)
            elif self._later_waits(seq, ("group",), call):
                skip = "superseded"
            else:
                return None
        self._pending.popleft()
        for key in self._keys(call):
            if self._latest.get(key) == seq:
                del self._latest[key]
        return seq, call, skip

    def _next(self) -> tuple[int, Call, str | None] | None:
        """Wait for the next call to hand on (None: stopped); see ``_take``."""
        with self._changed:
            while True:
                self._changed.wait_for(lambda: self._pending or not self._running)
                if not self._running:
                    return None
                taken = self._take()
                if taken is not None:
                    self._busy = True
                    return taken
                # the group's budget is spent: wait for it, or for a later call to come
                group = self._pending[0][1].group
                assert self.pace is not None
                self._changed.wait(max(0.01, self.pace.wait(group, self.clock())))

    def _run(self) -> None:
        while True:
            taken = self._next()
            if taken is None:
                return
            seq, call, skip = taken
            try:
                if skip:
                    self.skipped += 1
                    announcement = Announcement(seq, call, (), (), (), 0.0, skipped=skip)
                else:
                    announcement = self.announce(seq, call)
                if announcement.error:
                    log.warning("announcement %d (%s): %s", seq, call.label, announcement.error)
                try:
                    self.on_ready(announcement)
                except Exception:
                    log.exception("on_ready failed for announcement %d", seq)
            finally:
                with self._changed:
                    self._busy = False
                    self._changed.notify_all()
