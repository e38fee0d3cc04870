"""espeak-ng through pyttsx3, run in a child process that the server can kill and restart.

Why a child process: libespeak-ng is a C library driven through ctypes with process-wide
state (one voice, one synthesis callback); a crash or a hang in it must not take down the
server that owns the database, and pyttsx3 prints a line on stdout for every file it saves.
The child is this file run as a plain script in isolated mode (``python -I espeak.py``),
talking JSON lines on its stdin and stdout (not multiprocessing, whose "spawn" re-imports
the parent's main script). As a script it loads this module and pyttsx3 alone, not the
speaker package around it (measured: 20 MiB resident instead of 25); it imports nothing of
ours, so it needs no PYTHONPATH.

Why it stops when idle: the child holds about 20 MiB for as long as it lives, and a centre
calls nobody for most of the night and much of a quiet afternoon. After `IDLE_STOP_SECONDS`
without a phrase it is stopped; the next phrase starts a fresh one, which takes less than a
tenth of a second (Python start-up and espeak-ng's initialisation), small beside the chime
that the TVs play first.

Why not pyttsx3's engine loop: its espeak driver (2.99) handles the events of each audio
callback before it appends that callback's samples, so when espeak delivers the last samples
together with the end-of-message event they are dropped and the file is cut short (measured
here: one file in four of "Turno dos." lasted 0.88 s instead of 1.24 s, the "dos" clipped),
and its asynchronous mode lets a second job take over the driver's one buffer. So the child
uses pyttsx3's own ctypes binding of libespeak-ng (``pyttsx3.drivers._espeak``) in
synchronous mode with a callback that keeps every sample: ``Synth`` returns when the phrase
is complete, and one job runs at a time.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import subprocess
import sys
import threading
import time
import wave
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

IDLE_STOP_SECONDS = 60.0  # the child is stopped after this long without a phrase
# Speech is background work: the child runs at this niceness, so in a burst of calls the
# requests (a módulo's button, a kiosk's ticket) get the processor first and the voice
# takes what is left. On an idle box it changes nothing: a phrase still takes milliseconds.
NICENESS = 10


class SynthesisError(RuntimeError):
    """A phrase could not be turned into a WAV file."""


@dataclass(frozen=True)
class Job:
    text: str
    voice: str
    rate: int
    path: str


_sample_rate: int | None = None


def synthesize_here(job: Job, timeout: float) -> None:
    """Synthesize in this process (the worker's side); raises SynthesisError. ``timeout``
    is enforced by the parent, which kills a child that does not answer in time."""
    from pyttsx3.drivers import _espeak  # here: the server process never loads libespeak-ng

    global _sample_rate
    if _sample_rate is None:
        rate = _espeak.Initialize(_espeak.AUDIO_OUTPUT_SYNCHRONOUS, 500)
        if rate <= 0:
            raise SynthesisError("espeak-ng could not start")
        _sample_rate = rate
    samples = bytearray()

    def keep(wav: Any, count: int, events: Any) -> int:
        if count > 0:
            samples.extend(ctypes.string_at(wav, count * 2))
        return 0  # go on

    _espeak.SetSynthCallback(keep)
    if _espeak.SetVoiceByName(job.voice.encode()) != _espeak.EE_OK:
        raise SynthesisError(f"espeak-ng has no voice {job.voice!r}")
    _espeak.SetParameter(_espeak.RATE, job.rate, 0)
    _espeak.Synth(job.text, flags=_espeak.CHARS_UTF8 | _espeak.ENDPAUSE)
    _espeak.Synchronize()
    if not samples:
        raise SynthesisError(f"espeak-ng produced no audio for {job.text!r}")
    with wave.open(job.path, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(_sample_rate)
        out.writeframes(bytes(samples))


def serve() -> None:
    """The child's loop: a JSON job per line on stdin, a JSON answer per line on stdout."""
    os.nice(NICENESS)
    answers = os.fdopen(os.dup(1), "w", encoding="utf-8")
    quiet = os.open(os.devnull, os.O_WRONLY)
    os.dup2(quiet, 1)  # stdout is now /dev/null: pyttsx3's "Audio saved to" lines go nowhere
    timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    for line in sys.stdin:
        try:
            synthesize_here(Job(**json.loads(line)), timeout)
            answer: dict[str, str | None] = {"error": None}
        except Exception as error:  # reported to the parent; the child lives on
            answer = {"error": f"{type(error).__name__}: {error}"}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


class EspeakWorker:
    """The real voice: pyttsx3 + espeak-ng in a child process, started on first use.

    `synthesize` blocks the calling thread (the announcer's worker, never a web request)
    until the WAV is written. A child that dies or overruns `timeout` is killed; the next
    job starts a fresh one. A child left without jobs for `idle_stop` seconds is stopped
    (None keeps it for good); `started` counts the children started so far.
    """

    def __init__(self, timeout: float = 30.0,
                 idle_stop: float | None = IDLE_STOP_SECONDS) -> None:
        self.timeout = timeout
        self.idle_stop = idle_stop
        self.started = 0
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._last_job = 0.0
        self._idle_timer: threading.Timer | None = None

    @property
    def running(self) -> bool:
        """Whether a child process is alive now."""
        process = self._process
        return process is not None and process.poll() is None

    def _start(self) -> subprocess.Popen[bytes]:
        # -I also keeps this file's folder off sys.path: its numbers.py would shadow the
        # standard library's.
        self._process = subprocess.Popen(
            [sys.executable, "-I", str(Path(__file__).resolve()), str(self.timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
        self.started += 1
        return self._process

    def synthesize(self, text: str, voice: str, rate: int, path: str) -> None:
        """Write `text` spoken by espeak voice `voice` at `rate` words/minute to `path`."""
        with self._lock:
            process = self._process
            if process is None or process.poll() is not None:  # not running
                process = self._start()
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(json.dumps(asdict(Job(text, voice, rate, path))).encode()
                                    + b"\n")
                # The child enforces `timeout` on espeak; the margin covers its start-up.
                line = _read_line(process.stdout, self.timeout + 15)
                answer = json.loads(line)
            except (OSError, ValueError, SynthesisError) as error:
                self._stop_process()
                raise SynthesisError(f"speech worker failed ({error}); restarting it") from error
            finally:
                self._last_job = time.monotonic()
                self._watch_idle(self.idle_stop)
        if answer.get("error"):
            raise SynthesisError(answer["error"])

    def _watch_idle(self, delay: float | None) -> None:
        """Arm the one timer that stops an idle child (with the lock held). One timer per
        idle spell, not one per phrase: it re-arms itself while phrases keep coming."""
        if delay is None or self._idle_timer is not None or self._process is None:
            return
        self._idle_timer = threading.Timer(max(delay, 0.0), self._stop_if_idle)
        self._idle_timer.name = "speech-idle"
        self._idle_timer.daemon = True
        self._idle_timer.start()

    def _stop_if_idle(self) -> None:
        """On the timer's thread: stop the child if no job came during `idle_stop`."""
        with self._lock:
            self._idle_timer = None
            if self._process is None or self.idle_stop is None:
                return
            left = self._last_job + self.idle_stop - time.monotonic()
            if left > 0:
                self._watch_idle(left)
            else:
                self._stop_process()

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()  # the child's loop ends at end of input
        try:
            process.wait(2)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(2)

    def close(self) -> None:
        """Stop the child process; a later job would start a new one."""
        with self._lock:
            timer, self._idle_timer = self._idle_timer, None
            if timer is not None:
                timer.cancel()
            self._stop_process()


def _read_line(stream: IO[bytes], timeout: float) -> bytes:
    """One line from the child, or SynthesisError when it stays silent or hangs up."""
    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([stream], [], [], remaining)[0]:
            raise SynthesisError(f"no answer within {timeout:.0f} s")
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            raise SynthesisError("the speech worker exited")
        data += chunk
    return data


if __name__ == "__main__":  # the child: ``python -I espeak.py TIMEOUT`` (see the module doc)
    serve()
