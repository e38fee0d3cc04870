"""espeak-ng through pyttsx3, run in a child process that the server can kill and restart.

Why a child process: libespeak-ng is a C library driven through ctypes with process-wide
state (one voice, one synthesis callback); a crash or a hang in it must not take down the
server that owns the database, and pyttsx3 prints a line on stdout for every file it saves.
The child is a plain `python -c "...serve()"` talking JSON lines on its stdin and
stdout (not multiprocessing, whose "spawn" re-imports the parent's main script).

Why the explicit wait: with pyttsx3 2.99's espeak driver, `runAndWait()` returns as soon as
synthesis has *started*. Its loop ends when the end-of-loop command queued by `runAndWait`
is pumped, which happens before the driver calls `espeak_Synth`; espeak is initialised in
AUDIO_OUTPUT_RETRIEVAL mode, which is asynchronous, so the WAV is written later from
espeak's own thread. Reading the file right after `runAndWait()` finds it missing, and a
second job started then takes over the driver's one output name and buffer: tried with two
jobs back to back, the first file never appeared and the second held no audio. So a job
waits for the engine's "finished-utterance" notification (sent after the file is written)
and then for espeak to go idle, and only one job runs at a time.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any


class SynthesisError(RuntimeError):
    """A phrase could not be turned into a WAV file."""


@dataclass(frozen=True)
class Job:
    text: str
    voice: str
    rate: int
    path: str


def synthesize_here(job: Job, timeout: float) -> None:
    """Synthesize in this process (the worker's side); raises SynthesisError."""
    import pyttsx3  # imported here: the server process never loads libespeak-ng
    from pyttsx3.drivers import _espeak

    engine = pyttsx3.init("espeak")
    finished = threading.Event()
    errors: list[str] = []

    def on_finished(**_: Any) -> None:
        finished.set()

    def on_error(exception: BaseException | None = None, **_: Any) -> None:
        errors.append(str(exception))

    tokens = [engine.connect("finished-utterance", on_finished),
              engine.connect("error", on_error)]
    try:
        # Property changes are queued and applied by runAndWait; a bad voice name is
        # reported through the "error" notification, never raised.
        engine.setProperty("voice", job.voice)
        engine.setProperty("rate", job.rate)
        engine.save_to_file(job.text, job.path)
        engine.runAndWait()
        if not finished.wait(timeout):
            engine.stop()
            raise SynthesisError(f"espeak-ng did not finish within {timeout:.0f} s")
        _espeak.Synchronize()  # espeak's thread has left the callback: safe to start again
    finally:
        for token in tokens:
            engine.disconnect(token)
    if errors:
        raise SynthesisError("; ".join(errors))



def serve() -> None:
    """The child's loop: a JSON job per line on stdin, a JSON answer per line on stdout."""
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
    job starts a fresh one.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None

    def _start(self) -> subprocess.Popen[bytes]:
        root = str(Path(__file__).resolve().parents[2])  # the folder that holds `hardware`
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        self._process = subprocess.Popen(
            [sys.executable, "-c", "from hardware.speaker.espeak import serve; serve()",
             str(self.timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)
        return self._process

    def synthesize(self, text: str, voice: str, rate: int, path: str) -> None:
        """Write `text` spoken by espeak voice `voice` at `rate` words/minute to `path`."""
        with self._lock:
            process = self._process if self._process and self._process.poll() is None \
                else self._start()
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
        if answer.get("error"):
            raise SynthesisError(answer["error"])

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
