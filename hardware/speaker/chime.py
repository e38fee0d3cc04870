"""The "ding-dong" played before a call, and plain tones, written with the standard library.

The chime turns heads before the voice starts, so the first words of the phrase are not
lost. Two bell-like notes, a major third apart and falling (E5 then C5), each with a quick
attack and a long decay that rings under the next one: about 1.2 s, 16-bit mono 22 050 Hz,
the same format espeak-ng produces, so a player never has to switch formats.
"""

from __future__ import annotations

import math
import os
import wave
from array import array
from collections.abc import Sequence
from pathlib import Path

SAMPLE_RATE = 22050
CHIME_FILE = "chime.wav"


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


def chime_samples(seconds: float = 1.2) -> list[float]:
    buffer = [0.0] * int(seconds * SAMPLE_RATE)
    _bell(buffer, 0.0, 659.26, decay=0.30, volume=0.55)   # ding: E5
    _bell(buffer, 0.42, 523.25, decay=0.38, volume=0.55)  # dong: C5
    fade = int(0.05 * SAMPLE_RATE)  # end at silence, never on a click
    for k in range(fade):
        buffer[-1 - k] *= k / fade
    return buffer


def write_chime(path: str | os.PathLike[str]) -> None:
    _write(path, chime_samples())


def ensure_chime(directory: str | os.PathLike[str]) -> str:
    """Write `chime.wav` into `directory` unless it is there; returns its file name."""
    path = Path(directory) / CHIME_FILE
    if not path.exists():
        partial = path.with_suffix(f".{os.getpid()}.part")
        write_chime(partial)
        os.replace(partial, path)
    return CHIME_FILE


def write_tone(path: str | os.PathLike[str], tones: Sequence[tuple[float, float]],
               volume: float = 0.5) -> None:
    """Sine tones (frequency, seconds) one after another, with short ramps against clicks."""
    samples: list[float] = []
    ramp = 0.01 * SAMPLE_RATE
    for frequency, seconds in tones:
        count = int(seconds * SAMPLE_RATE)
        for i in range(count):
            edge = min(1.0, i / ramp, (count - 1 - i) / ramp)
            samples.append(volume * edge * math.sin(2 * math.pi * frequency * i / SAMPLE_RATE))
    _write(path, samples)
