"""The "ding-dong" played before a call, and plain tones, written with the standard library.

The chime turns heads before the voice starts, so the first words of the phrase are not
lost. Two bell-like notes, a major third apart and falling (E5 then C5), each with a quick
attack and a decay that rings under the next one. Short (0.7 s): in a burst of calls every
tenth of a second of chime is time the voice falls behind the screen. 16-bit mono 22 050 Hz,
the same format espeak-ng produces, so a player never has to switch formats.
"""

from __future__ import annotations

import math
import os
import wave
from array import array
from collections.abc import Sequence
from functools import cache
from pathlib import Path

SAMPLE_RATE = 22050
CHIME_FILE = "chime.wav"
CHIME_SECONDS = 0.7


def _write(path: str | os.PathLike[str], samples: Sequence[float]) -> None:
    """Samples in -1..1 to a 16-bit mono WAV file."""
    frames = array("h", (int(max(-1.0, min(1.0, s)) * 32767) for s in samples))
    with wave.open(os.fspath(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(frames.tobytes())


def _bell(buffer: list[float], start: float, frequency: float, decay: float,
          volume: float) -> None:
    """Add one struck note to `buffer`: a few partials under an exponential decay."""
    first = int(start * SAMPLE_RATE)
    attack = 0.008 * SAMPLE_RATE
    partials = ((1.0, 1.0), (2.0, 0.35), (3.0, 0.12), (4.2, 0.05))
    for i in range(first, len(buffer)):
        t = (i - first) / SAMPLE_RATE
        envelope = min(1.0, (i - first) / attack) * math.exp(-t / decay)
        tone = sum(weight * math.sin(2 * math.pi * frequency * ratio * t)
                   for ratio, weight in partials)
        buffer[i] += volume * envelope * tone / 1.52


def chime_samples(seconds: float = CHIME_SECONDS) -> list[float]:
    buffer = [0.0] * int(seconds * SAMPLE_RATE)
    _bell(buffer, 0.0, 659.26, decay=0.16, volume=0.55)   # ding: E5
    _bell(buffer, 0.24, 523.25, decay=0.20, volume=0.55)  # dong: C5
    fade = int(0.05 * SAMPLE_RATE)  # end at silence, never on a click
    for k in range(fade):
        buffer[-1 - k] *= k / fade
    return buffer


def write_chime(path: str | os.PathLike[str]) -> None:
    _write(path, chime_samples())


def ensure_chime(directory: str | os.PathLike[str]) -> str:
    """Write `chime.wav` into `directory` unless it is there with the current length (an
    older, longer chime is replaced); returns its file name."""
    path = Path(directory) / CHIME_FILE
    if not _current(path):
        partial = path.with_suffix(f".{os.getpid()}.part")
        write_chime(partial)
        os.replace(partial, path)
    return CHIME_FILE


def _current(path: Path) -> bool:
    try:
        with wave.open(os.fspath(path), "rb") as wav:
            return abs(wav.getnframes() / wav.getframerate() - CHIME_SECONDS) < 0.01
    except (OSError, EOFError, wave.Error):
        return False


@cache
def _second_of(frequency: float, volume: float) -> array[int]:
    return array("h", (int(volume * 32767 * math.sin(2 * math.pi * frequency * i / SAMPLE_RATE))
                       for i in range(SAMPLE_RATE)))


def write_tone(path: str | os.PathLike[str], tones: Sequence[tuple[float, float]],
               volume: float = 0.5) -> None:
    """Sine tones (frequency, seconds) one after another, with short ramps against clicks.
    One second of each tone is computed and repeated (whole-hertz tones repeat every second
    exactly): the virtual voice writes a burst of calls without keeping the server busy."""
    frames = array("h")
    ramp = int(0.01 * SAMPLE_RATE)
    for frequency, seconds in tones:
        count = int(seconds * SAMPLE_RATE)
        tone = (_second_of(frequency, volume) * (count // SAMPLE_RATE + 1))[:count]
        for i in range(min(ramp, count)):
            edge = i / ramp
            tone[i] = int(tone[i] * edge)
            tone[count - 1 - i] = int(tone[count - 1 - i] * edge)
        frames.extend(tone)
    with wave.open(os.fspath(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(frames.tobytes())
