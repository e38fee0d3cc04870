"""Phrases to WAV files, offline, with a cache so a phrase said before is not synthesized again.

A cached file is named by a hash of everything that changes its sound (engine version,
language, voice, rate, text), so a change of voice or rate never serves a stale file. Files
are written under a temporary name and renamed into place: a display fetching a file never
gets half of one, and a crash never leaves a broken entry. The cache holds at most
`max_files` phrases; the least recently used go first. Which files it holds, in order of
use, is kept in memory (read from the folder once, at start): listing a folder of hundreds
of files after every phrase cost the server a fifth of its processor in a burst of calls.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
import wave
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from hardware.speaker.chime import CHIME_FILE, write_tone
from hardware.speaker.espeak import EspeakWorker, SynthesisError

log = logging.getLogger(__name__)

# espeak-ng 1.51 ships a Quechua voice "qu" (status "testing"): it stresses the penultimate
# syllable and says q as a uvular, as Quechua wants, where the Spanish voice stresses
# "pusaq" and "pachak" on the last syllable and says q as k. Spanish voices remain the
# fallback for an espeak without it (configurable per centre).
VOICES: dict[str, str] = {"es": "es-419", "qu": "qu", "en": "en"}
RATE = 150  # words per minute; espeak's default of 175 is quick for a noisy waiting room
ENGINE = "pyttsx3-2.99/espeak-ng/1"  # part of the cache key: bump when the sound changes


class Backend(Protocol):
    """Turns a text into a WAV file at `path`; raises SynthesisError."""

    def synthesize(self, text: str, voice: str, rate: int, path: str) -> None: ...

    def close(self) -> None: ...


class VirtualVoice:
    """A voice for demos and tests without espeak: a soft tone as long as the text would be."""

    def synthesize(self, text: str, voice: str, rate: int, path: str) -> None:
        seconds = max(0.5, len(text.split()) * 60 / max(rate, 60))
        write_tone(path, [(440.0, seconds)], volume=0.2)

    def close(self) -> None:
        pass


def cache_key(language: str, voice: str, rate: int, text: str) -> str:
    """The file name a phrase is cached under."""
    material = "\x1f".join((ENGINE, language, voice, str(rate), text)).encode("utf-8")
    return f"{language}-{hashlib.sha256(material).hexdigest()[:24]}.wav"


def wav_seconds(path: str | os.PathLike[str]) -> float:
    """Duration of a WAV file; raises on a file that is not one."""
    with wave.open(os.fspath(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


class Synthesizer:
    """Synthesizes phrases into `cache_dir` and answers repeated phrases from it.

    Thread-safe, but meant to be used by one worker thread: synthesis blocks for a fraction
    of a second per phrase. `synthesized` and `cache_hits` count what it did.
    """

    def __init__(self, cache_dir: str | os.PathLike[str], *, rate: int = RATE,
                 voices: Mapping[str, str] | None = None, max_files: int = 500,
                 backend: Backend | None = None) -> None:
        if max_files < 16:
            raise ValueError("max_files must be at least 16")
        self.cache_dir = Path(cache_dir)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.rate = rate
        self.voices = {**VOICES, **(voices or {})}
        self.max_files = max_files
        self.backend: Backend = backend or EspeakWorker()
        self.synthesized = 0
        self.cache_hits = 0
        self._lock = threading.Lock()
        self._last_use = 0
        for stale in self.cache_dir.glob("*.part"):
            stale.unlink(missing_ok=True)
        self._held = self._listing()
        self._seconds: dict[str, float] = {}  # durations read so far, by file name

    def _listing(self) -> OrderedDict[str, None]:
        """The cached phrases on disk, least recently used first."""
        found = []
        for path in self.cache_dir.glob("*.wav"):
            if path.name != CHIME_FILE:
                try:
                    found.append((path.stat().st_mtime_ns, path.name))
                except FileNotFoundError:
                    continue
        return OrderedDict((name, None) for _, name in sorted(found))

    def voice_for(self, language: str) -> str:
        try:
            return self.voices[language]
        except KeyError:
            raise SynthesisError(f"no voice configured for language {language!r}") from None

    def synthesize(self, text: str, language: str) -> str:
        """The cached WAV's file name (relative to `cache_dir`) for `text` in `language`."""
        voice = self.voice_for(language)
        name = cache_key(language, voice, self.rate, text)
        path = self.cache_dir / name
        with self._lock:
            if path.exists():
                self._touch(path)
                self.cache_hits += 1
                return name
            partial = path.with_suffix(f".{os.getpid()}.part")
            try:
                self.backend.synthesize(_for_espeak(text), voice, self.rate, str(partial))
                seconds = wav_seconds(partial)
                if seconds <= 0:
                    raise SynthesisError(f"empty audio for {text!r}")
                os.replace(partial, path)
                self._seconds[name] = seconds
                self._touch(path)
            except (OSError, EOFError, wave.Error) as error:
                raise SynthesisError(f"no usable WAV for {text!r}: {error}") from error
            finally:
                partial.unlink(missing_ok=True)
            self.synthesized += 1
            self._evict()
        return name

    def seconds(self, name: str) -> float:
        """How long the cached phrase ``name`` lasts, read from its file once."""
        with self._lock:
            if name not in self._seconds:
                self._seconds[name] = wav_seconds(self.cache_dir / name)
            return self._seconds[name]

    def _touch(self, path: Path) -> None:
        """Mark a file as just used, in memory and on disk (for the order after a restart).
        Explicit, strictly increasing times: the file system's own clock ticks coarsely and
        two phrases written together would tie."""
        self._held[path.name] = None
        self._held.move_to_end(path.name)
        self._last_use = max(time.time_ns(), self._last_use + 1)
        os.utime(path, ns=(self._last_use, self._last_use))

    def _evict(self) -> None:
        excess = len(self._held) - self.max_files
        for _ in range(max(0, excess)):
            name, _ = self._held.popitem(last=False)
            self._seconds.pop(name, None)
            (self.cache_dir / name).unlink(missing_ok=True)
        if excess > 0:
            log.debug("speech cache: removed %d old phrases", excess)

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _for_espeak(text: str) -> str:
    """espeak spells an apostrophe out; Quechua's ejective mark (ch'usaq) cannot be voiced."""
    return text.replace("'", "").replace("\u2019", "")
