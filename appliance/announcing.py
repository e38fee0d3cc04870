"""Announcements composed: a call on the bus becomes chime + phrases for the TVs.

The bus listener runs inside the engine's write (after commit, under the write lock), so it
only turns the event into a ``Call`` and queues it: synthesis happens on the announcer's own
thread, never in a request and never while a writer waits. The announcer handles one call
at a time in queue order, and queue order is commit order (the bus publishes under the write
lock), so announcements come out in call order and never overlap. Each ready announcement goes
to the display feed (the TVs' announcement streams) and, if enabled, to the box's own speaker.

Speech backends (``SPEECH`` in the app config): ``espeak`` (the real voice, used by
``mac-turnos serve`` and ``demo``), ``virtual`` (soft tones as long as the phrase; the
default for an app built in tests) and ``off``. Without espeak-ng the TVs get the chime
alone and the health component ``speaker`` says so.

The voice itself waits where it is played (each TV's sound queue, the box's own output): the
planner of ``hardware.speaker.planner`` decides there what is said, at most
``[display] voice_max_delay_seconds`` behind the screen. Here the same planner drives the
box's own output when it plays, and otherwise a model of a TV's speaker, so health can say
how far behind the voice is and how many calls it dropped (``behind_seconds``,
``dropped_last_10_min``).
"""

from __future__ import annotations

import ctypes.util
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from config.model import Settings
from display import pages as display_pages
from display.feed import AnnouncementFeed
from hardware.speaker import (
    CHIME_FILE,
    CHIME_SECONDS,
    IDLE_STOP_SECONDS,
    LANGUAGES,
    Announcement,
    Announcer,
    Call,
    EspeakWorker,
    Item,
    Pace,
    Rules,
    Speaker,
    SynthesisError,
    Synthesizer,
    Templates,
    VirtualVoice,
    play_local,
)
from turnero import announcements
from turnero.store import Event, Store

log = logging.getLogger(__name__)
CALL_KINDS = announcements.CALL_KINDS
RESUME_WITHIN = timedelta(minutes=5)  # an older call is not announced after a restart
MARK_EVERY = 0.25  # seconds between writes of the announced mark
DROPS_WINDOW = 600.0  # seconds of dropped calls health counts


class AnnouncedMark:
    """Writes how far the announcer got (``turnero.announcements``) on its own thread, at
    most every ``MARK_EVERY`` seconds, and once more when stopped."""

    def __init__(self, store: Store, every: float = MARK_EVERY) -> None:
        self.store, self.every = store, every
        self._wanted = self._written = 0
        self._changed = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="announced-mark",
                                            daemon=True)
            self._thread.start()

    def advance(self, seq: int) -> None:
        with self._changed:
            self._wanted = max(self._wanted, seq)
            self._changed.notify()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._wanted > self._written or self._stopping)
                wanted, stopping = self._wanted, self._stopping
            if wanted > self._written:
                self._write(wanted)
            if stopping:
                return
            with self._changed:  # a stop ends the pause at once
                self._changed.wait_for(lambda: self._stopping, timeout=self.every)

    def _write(self, seq: int) -> None:
        """Write the mark; a failure is logged and not retried until the next
        announcement (at worst those calls are said again after a restart)."""
        if self.store.closed:
            self._written = seq
            return
        try:
            announcements.mark_announced(self.store, seq)
        except Exception as exc:
            # One line, no traceback: Python 3.11 formats a traceback with ast.parse, which
            # can break another thread's parse at the same moment (a CPython bug).
            log.warning("could not record the announcements made: %r", exc)
        self._written = seq

    def stop(self, timeout: float = 2.0) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify()
        if self._thread is not None:
            self._thread.join(timeout)
DEFAULT_LANGUAGES = ("es", "qu")  # Spanish first, then Quechua (the centre's languages)


class NoVoice:
    """The backend when speech is unavailable: every phrase fails, so TVs play the chime."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def synthesize(self, text: str, voice: str, rate: int, path: str) -> None:
        raise SynthesisError(self.reason)

    def close(self) -> None:
        pass


def voice_templates() -> dict[str, Templates]:
    """The spoken sentences per language, from the display room's text catalogues
    (``voice_call``, ``voice_recall``): a translator edits them there, not in code."""
    found = {}
    for language in LANGUAGES:
        texts = display_pages.catalogue(language)
        found[language] = Templates(call=texts["voice_call"], recall=texts["voice_recall"])
    return found


def espeak_available() -> bool:
    """Whether libespeak-ng can be loaded (what pyttsx3's espeak driver needs)."""
    return bool(ctypes.util.find_library("espeak-ng") or ctypes.util.find_library("espeak"))


def make_backend(mode: str, idle_stop: float | None = IDLE_STOP_SECONDS
                 ) -> tuple[Any, str | None]:
    """(backend, problem) for a speech mode; the problem is what health reports. The espeak
    child is stopped after ``idle_stop`` seconds without a phrase (see hardware.speaker)."""
    if mode == "virtual":
        return VirtualVoice(), None
    if mode == "espeak":
        if espeak_available():
            return EspeakWorker(idle_stop=idle_stop), None
        return NoVoice("espeak-ng no está instalado"), "espeak-ng no está instalado: " \
                                                       "solo se oye la campanilla"
    return NoVoice("voz desactivada"), None


class Announcing:
    """Bus → announcer → display feed (and the local speaker). Starts its thread on the first
    call, so an app that never calls anybody (most tests) costs nothing."""

    def __init__(self, store: Store, cache_dir: Path, languages: tuple[str, ...],
                 mode: str = "virtual", local_playback: bool = False,
                 feed: AnnouncementFeed | None = None,
                 speech_idle: float | None = IDLE_STOP_SECONDS,
                 rules: Rules | None = None, zones: Mapping[int, str] | None = None) -> None:
        unknown = [lang for lang in languages if lang not in LANGUAGES]
        if not languages or unknown:
            raise ValueError(f"announcement languages must be some of {LANGUAGES}")
        self.store = store
        self.mode = mode
        self.feed = feed or AnnouncementFeed()
        backend, self.problem = make_backend(mode, speech_idle)
        self.synthesizer = Synthesizer(cache_dir, backend=backend)
        self.languages = tuple(languages)
        self.announcer: Announcer | None = None
        self.local_playback = local_playback
        self.last_error: str | None = None
        self.announced = 0
        self._lock = threading.Lock()
        self._calls: dict[int, dict[str, Any]] = {}
        self._stopped = False
        self._local_thread: threading.Thread | None = None
        self._queued_seq = 0  # the last call event handed to the announcer
        self.mark = AnnouncedMark(store)
        self.rules = rules or Rules()
        self.zones = dict(zones or {})  # módulo -> its zone, for the voice's pace
        self.speaker = Speaker(self.rules)  # the box's output, or a model of a TV's
        self._made: dict[int, float] = {}  # announcer seq -> when the call was made
        self._drops: deque[float] = deque()
        self._files: dict[int, list[Path]] = {}  # what the box's own output plays
        self._wake = threading.Condition(self._lock)

    @property
    def cache_dir(self) -> Path:
        return self.synthesizer.cache_dir

    def attach(self) -> None:
        self.store.bus.listen(self.on_event)

    def on_event(self, event: Event) -> None:
        """The bus listener: queue a call, nothing more (it runs under the write lock)."""
        if event.kind not in CALL_KINDS or self._stopped:
            return
        with self._lock:
            self.announcer or self._start()
            self._queue(event)

    def _queue(self, event: Event) -> None:
        """Hand one call to the announcer (under ``_lock``); a call already queued by the
        resumption at start is not queued twice."""
        assert self.announcer is not None
        if event.seq <= self._queued_seq:
            return
        self._queued_seq = event.seq
        p = event.payload
        # the TVs that hear a call: those of its módulo's zone and of its entity (or all)
        group = f"{self.zones.get(event.counter or 0, '')}|{p.get('entity') or ''}"
        call = Call(str(p.get("label", "")), str(event.counter),
                    recall=event.kind == "ticket.recalled", group=group)
        seq = self.announcer.submit(call)
        self._made[seq] = time.monotonic()
        self._calls[seq] = {
            "ticket": event.ticket, "event": event.seq, "at": event.at,
            "label": call.label, "counter": event.counter,
            "counter_name": p.get("counter_name"), "entity": p.get("entity"),
            "recall": call.recall, "preferential": bool(p.get("preferential"))}

    def start(self) -> None:
        """Start the workers now, on a thread of their own at start-up: with espeak, so the
        first call is not the one that writes the chime; always, if calls are owed."""
        with self._lock:
            if self.announcer is None:
                self._start()
        self.store.return_reader()

    def start_early(self) -> None:
        """Start the workers now, on a thread of their own, when they will be needed before
        the first call: with espeak, or when calls made before a cut are owed. Otherwise the
        first call starts them (so an app that never calls anybody costs nothing)."""
        if self.mode == "espeak" or self.owed():
            threading.Thread(target=self.start, name="announcer-start", daemon=True).start()

    def _start(self) -> Announcer:
        """Start the workers (under ``_lock``) and queue first the calls owed since before
        the start (``turnero.announcements``)."""
        # A call the TVs would drop for sure is not synthesized (hardware.speaker.announcer):
        # in a burst of calls the voice's work stays what the TVs can say.
        announcer = Announcer(self.synthesizer, self.languages, self._ready,
                              templates=voice_templates(), max_age=self.rules.bound,
                              supersede=True, pace=Pace.for_rules(self.rules))
        announcer.start()
        self.announcer = announcer
        self.mark.start()
        if self.local_playback:
            self._local_thread = threading.Thread(target=self._play_locally,
                                                  name="local-speaker", daemon=True)
            self._local_thread.start()
        owed = self.owed()
        for event in owed:
            self._queue(event)
        if owed:
            log.info("%d calls made before the start are announced now", len(owed))
        return announcer

    def owed(self) -> list[Event]:
        """Calls committed but not announced when the box last stopped (or lost power)."""
        try:
            return announcements.owed(self.store, self.store.now() - RESUME_WITHIN)
        except Exception:  # the TVs still get every new call
            log.exception("could not read the calls owed since before the start")
            return []

    def _ready(self, announcement: Announcement) -> None:
        """On the announcer's thread: hand the announcement to the TVs and return."""
        if announcement.skipped:
            self._skipped(announcement)
            return
        files = dict(zip(announcement.languages, announcement.files, strict=True))
        durations = {"chime": CHIME_SECONDS, **{
            lang: self._seconds(name) for lang, name in files.items()}}
        with self._lock:
            meta = self._calls.pop(announcement.seq, {})
            self._listen(announcement, meta, files, durations)
        if meta:
            self.mark.advance(meta["event"])
        self.last_error = announcement.error
        self.announced += 1
        self.feed.publish({**meta, "seq": announcement.seq, "label": announcement.call.label,
                           "chime": CHIME_FILE, "files": files,
                           "texts": dict(zip(announcement.languages, announcement.texts,
                                             strict=True)),
                           "seconds": announcement.seconds, "durations": durations,
                           "error": announcement.error})

    def _skipped(self, announcement: Announcement) -> None:
        """A call the announcer did not synthesize (no TV could say it): counted as dropped,
        the mark moves past it (a restart does not owe it), and the TVs are told, without
        files, so each accounts for every call it shows."""
        with self._lock:
            meta = self._calls.pop(announcement.seq, {})
            self._made.pop(announcement.seq, None)
            self._drops.append(time.monotonic())
        if meta:
            self.mark.advance(meta["event"])
        self.feed.publish({**meta, "seq": announcement.seq, "label": announcement.call.label,
                           "chime": CHIME_FILE, "files": {}, "texts": {}, "seconds": 0.0,
                           "durations": {}, "error": None, "skipped": announcement.skipped})

    def _seconds(self, name: str) -> float:
        try:
            return round(self.synthesizer.seconds(name), 3)
        except Exception:  # a file gone from the cache: the TV skips it anyway
            return 0.0

    def _listen(self, announcement: Announcement, meta: dict[str, Any],
                files: dict[str, str], durations: dict[str, float]) -> None:
        """Hand a ready announcement to the speaker (under ``_lock``), in the languages'
        order: chime, first language, the others."""
        langs = [lang for lang in self.languages if lang in files]
        made = self._made.pop(announcement.seq, time.monotonic())
        self.speaker.add(Item(announcement.seq, str(meta.get("ticket") or announcement.seq),
                              announcement.call.counter, made,
                              (CHIME_SECONDS, *(durations[lang] for lang in langs))))
        self._files[announcement.seq] = [self.cache_dir / CHIME_FILE,
                                         *(self.cache_dir / files[lang] for lang in langs)]
        self._wake.notify_all()

    def _settle(self, now: float) -> None:
        """Move the model of a TV's speaker to ``now`` and forget what is over (under
        ``_lock``); the box's own output moves it itself, as it plays."""
        if not self.local_playback:
            self.speaker.advance(now)
        self._forget(now)

    def _forget(self, now: float) -> None:
        for seq, outcome in list(self.speaker.outcomes.items()):
            if outcome.fate == "dropped":
                self._drops.append(now)
            if outcome.fate != "waiting" and seq not in {i.seq for i in self.speaker.queue}:
                del self.speaker.outcomes[seq]
                self._files.pop(seq, None)
        while self._drops and self._drops[0] < now - DROPS_WINDOW:
            self._drops.popleft()

    def _play_locally(self) -> None:
        """The box's own output: the planner says which clip comes next, one at a time."""
        while not self._stopped:
            with self._lock:
                now = time.monotonic()
                self._forget(now)
                played = self.speaker.step(now) if self.speaker.queue else None
                path = self._files[played[0]][played[1]] if played else None
                if path is None:
                    self._wake.wait(0.5)
                    continue
            if not play_local([path]):
                log.warning("local playback failed for %s", path.name)
            with self._lock:
                self.speaker.free_at = time.monotonic()

    def health(self) -> dict[str, Any]:
        problem = self.problem or (f"último anuncio con error: {self.last_error}"
                                   if self.last_error else None)
        status = "warning" if problem else "ok"
        if self.mode == "off":
            status, problem = "ok", None
        now = time.monotonic()
        with self._lock:
            self._settle(now)
            behind = max([self.speaker.behind(now),
                          *(now - made for made in self._made.values())])
            dropped = len(self._drops)
        return {"status": status, "mode": self.mode, "languages": list(self.languages),
                "announced": self.announced, "tvs": self.feed.listeners,
                "local_playback": self.local_playback,
                "behind_seconds": round(behind, 3),
                "max_delay_seconds": float(self.rules.bound),
                "dropped_last_10_min": dropped,
                **({"detail": problem} if problem else {})}

    def stop(self) -> None:
        """Stop taking calls, end the workers and the TVs' announcement streams."""
        self._stopped = True
        self.feed.close()
        if self.announcer is not None:
            self.announcer.stop()
        self.mark.stop()
        self.synthesizer.close()
        if self._local_thread is not None:
            with self._lock:
                self._wake.notify_all()
            self._local_thread.join(5)


def build(settings: Settings, store: Store, config: Mapping[str, Any]) -> Announcing:
    """The announcer of an app, not yet on the bus (``create_app`` attaches and wires it).

    App config: ``SPEECH`` (espeak, virtual, off; default virtual), ``LOCAL_PLAYBACK``
    (also play on the box's own output), ``SPEECH_IDLE_SECONDS`` (stop the espeak child after
    that long without a phrase; default 60). An optional ``[display]`` settings section may
    give ``languages``, ``local_playback``, ``voice_max_delay_seconds`` and
    ``voice_second_language``.
    """
    section = getattr(settings, "display", None)
    languages = tuple(getattr(section, "languages", DEFAULT_LANGUAGES))
    local = bool(config.get("LOCAL_PLAYBACK", getattr(section, "local_playback", False)))
    return Announcing(store, store.path.parent / "speech", languages,
                      mode=config.get("SPEECH", "virtual"), local_playback=local,
                      speech_idle=config.get("SPEECH_IDLE_SECONDS", IDLE_STOP_SECONDS),
                      rules=Rules(float(getattr(section, "voice_max_delay_seconds", 30)),
                                  str(getattr(section, "voice_second_language", "when_time"))),
                      zones={c.number: c.zone for c in settings.counters if c.zone})
