"""The announcement queue: calls in, ready-to-play announcements out, one at a time, in order.

One worker thread takes calls in the order they were submitted, synthesizes the phrase of
each configured language and hands the result to `on_ready` before touching the next call.
So announcements never overlap and each carries only its own files: a failure (a label that
cannot be read aloud, a synthesis error) becomes an announcement with `error` set, and the
next call goes on. `on_ready` runs on the worker thread; it should hand the announcement on
(to the displays' feed) and return, since the next call waits for it.

When calls come faster than they can be synthesized, work no display could use is skipped
(if the announcer is built with ``max_age`` / ``supersede``): a call that waited longer than
the voice's bound (every display's planner drops a call it cannot start within the bound
of being made), and a call whose módulo or ticket already has a later call waiting here
(the planner keeps the latest call per módulo and per ticket). A skipped call still reaches
``on_ready``, as an announcement with ``skipped`` set and no files, so its caller can count
it and move its mark on. In a centre's normal pace nothing waits and nothing is skipped.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from hardware.speaker.chime import ensure_chime
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
                 clock: Callable[[], float] = time.monotonic) -> None:
        unknown = [language for language in languages if language not in LANGUAGES]
        if not languages or unknown:
            raise ValueError(f"languages must be some of {LANGUAGES}, got {list(languages)}")
        self.synthesizer = synthesizer
        self.languages = tuple(languages)
        self.on_ready = on_ready
        self.templates = templates
        self.max_age, self.supersede, self.clock = max_age, supersede, clock
        self.skipped = 0
        self.chime = ensure_chime(synthesizer.cache_dir)
        self._changed = threading.Condition()
        self._pending: deque[tuple[int, Call, float]] = deque()
        # the latest waiting call per módulo and per ticket, for ``supersede``
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
            if self.supersede:
                self._latest[("counter", call.counter)] = self._last_seq
                self._latest[("ticket", call.label)] = self._last_seq
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

    def _skip(self, seq: int, call: Call, submitted: float) -> str | None:
        """Why a call just taken from the queue is not worth synthesizing, if it is not
        (under ``_changed``; see the module doc)."""
        superseded = False
        for key in (("counter", call.counter), ("ticket", call.label)):
            latest = self._latest.get(key)
            if latest == seq:
                del self._latest[key]
            elif latest is not None:
                superseded = True
        if superseded:
            return "superseded"
        if self.max_age is not None and self.clock() - submitted > self.max_age:
            return "expired"
        return None

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._pending or not self._running)
                if not self._running:
                    return
                seq, call, submitted = self._pending.popleft()
                skip = self._skip(seq, call, submitted)
                self._busy = True
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
