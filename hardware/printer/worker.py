"""The print worker: one thread per printer that renders, checks the paper, sends, and
keeps every job that did not print until it does, in the order it came.

The web request that issues a ticket only calls ``submit()``, which takes a lock for a
moment and returns: no rendering, no device call, no waiting on the caller's thread. A job
that fails stays at the head of the queue and is retried after growing waits, so a later
ticket never comes out before an earlier one. Every change of state is reported through
``on_status`` (and each job's fate through ``on_job``) from the worker's thread; a
callback that raises is logged and the worker goes on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hardware.printer.model import PrintableTicket, PrinterState, PrintJob, StateName
from hardware.printer.render import render
from hardware.printer.settings import PrinterSettings
from hardware.printer.status import PaperOut, PaperStatus
from hardware.printer.transport import Transport, open_transport

log = logging.getLogger("hardware.printer")

RETRY_WAITS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0)  # seconds; the last one repeats
POLL_SECONDS = 30.0  # paper check while idle, so staff learn of an empty roll early
MESSAGES: dict[str, str] = {
    "ok": "Impresora lista",
    "near_end": "Queda poco papel",
    "paper_out": "Sin papel",
    "offline": "Impresora desconectada",
    "error": "Error de impresión",
    "unrenderable": "No se pudo preparar un ticket; se descartó",
}

StatusCallback = Callable[[PrinterState], None]
JobCallback = Callable[[str, bool], None]
Renderer = Callable[[PrintableTicket, PrinterSettings], bytes]


@dataclass
class _Entry:
    job: PrintJob
    data: bytes | None = None
    reported_failure: bool = False


class PrintWorker:
    """Prints the jobs of one printer on a background thread; see the module docstring.

    ``retry_waits`` are the waits after the 1st, 2nd, ... failure in a row (the last one
    repeats); ``poll_seconds`` is how often the paper is checked while idle (None: never).
    """

    def __init__(self, settings: PrinterSettings, transport: Transport | None = None, *,
                 on_status: StatusCallback | None = None, on_job: JobCallback | None = None,
                 retry_waits: Sequence[float] = RETRY_WAITS,
                 poll_seconds: float | None = POLL_SECONDS,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 renderer: Renderer = render) -> None:
        if not retry_waits:
            raise ValueError("retry_waits needs at least one wait")
        self.settings = settings
        self.transport = transport if transport is not None else open_transport(settings)
        self._on_status, self._on_job = on_status, on_job
        self._waits = tuple(retry_waits)
        self._poll_seconds = poll_seconds
        self._clock, self._render = clock, renderer
        self._cond = threading.Condition()
        self._jobs: deque[_Entry] = deque()
        self._busy: _Entry | None = None  # the job being attempted, which stays put
        self._stopping = False
        self._failures = 0
        self._retry_at = 0.0
        self._poll_at = 0.0  # poll once right after start
        # Written by the worker thread only; read under the lock by state().
        self._state: StateName = "ok"
        self._message = MESSAGES["ok"]
        self._since = clock()
        self._last_printed: str | None = None
        self._published: tuple[object, ...] | None = None
        self._thread = threading.Thread(target=self._run, name=f"printer-{settings.name}",
                                        daemon=True)

    # ------------------------------------------------------------------ caller's side

    def start(self) -> PrintWorker:
        self._thread.start()
        return self

    def submit(self, job: PrintJob) -> None:
        """Queue ``job`` and return at once; a job id already pending is not queued twice."""
        with self._cond:
            if any(e.job.job_id == job.job_id for e in self._jobs):
                return
            self._jobs.append(_Entry(job))
            self._cond.notify()

    def discard(self, job_id: str) -> bool:
        """Drop a pending job (e.g. reprinted elsewhere, or too old to matter); False if it
        is not pending or is being attempted right now."""
        with self._cond:
            for entry in self._jobs:
                if entry.job.job_id == job_id and entry is not self._busy:
                    self._jobs.remove(entry)
                    self._cond.notify()
                    return True
        return False

    def retry_now(self) -> None:
        """Try the pending job (or check the paper) now instead of after the wait: staff
        have just loaded paper or plugged the printer in."""
        with self._cond:
            self._retry_at = self._poll_at = 0.0
            self._cond.notify()

    def pending_jobs(self) -> list[str]:
        with self._cond:
            return [e.job.job_id for e in self._jobs]

    def state(self) -> PrinterState:
        with self._cond:
            return self._snapshot()

    def stop(self, timeout: float = 5.0) -> bool:
        """Ask the thread to end after the attempt in progress; True if it ended in time.
        Pending jobs stay pending (the caller keeps them, e.g. in print_jobs)."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)
        return not self._thread.is_alive()

    # ------------------------------------------------------------------ worker thread

    def _snapshot(self) -> PrinterState:
        return PrinterState(self.settings.name, self._state, self._message, len(self._jobs),
                            self._last_printed, self._since)

    def _run(self) -> None:
        try:
            while True:
                try:
                    self._publish()
                    action = self._next()
                    if action == "stop":
                        return
                    if isinstance(action, _Entry):
                        try:
                            self._attempt(action)
                        finally:
                            with self._cond:
                                self._busy = None
                    elif action == "poll":
                        self._poll()
                except Exception:  # a bug here must not end printing for the day
                    log.exception("printer %s: worker loop", self.settings.name)
                    with self._cond:
                        self._cond.wait(1.0)
        finally:
            try:
                self.transport.close()
            except Exception:
                log.exception("closing printer %s", self.settings.name)

    def _next(self) -> _Entry | str | None:
        """What to do now: a job, "poll", "stop", or None after a wake-up (to publish)."""
        with self._cond:
            if self._stopping:
                return "stop"
            now = time.monotonic()
            if self._jobs and now >= self._retry_at:
                self._busy = self._jobs[0]
                return self._busy
            polling = self._poll_seconds is not None and not self._jobs
            if polling and now >= self._poll_at:
                return "poll"
            due = [t for t, on in ((self._retry_at, bool(self._jobs)),
                                   (self._poll_at, polling)) if on]
            self._cond.wait(min(due) - now if due else None)
            return None

    def _attempt(self, entry: _Entry) -> None:
        job_id = entry.job.job_id
        if entry.data is None:
            try:
                data = self._render(entry.job.ticket, self.settings)
            except Exception:
                # Retrying cannot help and would hold every later ticket back.
                log.exception("printer %s: cannot render job %s", self.settings.name, job_id)
                self._finish(entry, printed=False)
                self._set("error", MESSAGES["unrenderable"])
                return
            entry.data = data
        try:
            paper = self.transport.paper_status()
            if paper is PaperStatus.OUT:
                raise PaperOut("paper end sensor")
            self.transport.send(entry.data)
        except PaperOut:
            self._failed(entry, "paper_out", MESSAGES["paper_out"])
        except OSError as exc:  # PrinterOffline, and any socket or port error
            self._failed(entry, "offline", MESSAGES["offline"], exc)
        except Exception as exc:
            self._failed(entry, "error", f"{MESSAGES['error']}: {exc}", exc)
        else:
            with self._cond:
                self._failures, self._retry_at = 0, 0.0
                self._last_printed = job_id
            self._finish(entry, printed=True)
            near_end = paper is PaperStatus.NEAR_END
            self._set("ok", MESSAGES["near_end" if near_end else "ok"])

    def _failed(self, entry: _Entry, state: StateName, message: str,
                exc: BaseException | None = None) -> None:
        with self._cond:
            wait = self._waits[min(self._failures, len(self._waits) - 1)]
            self._failures += 1
            self._retry_at = time.monotonic() + wait
        if state != self._state:
            log.warning("printer %s: %s (%s); job %s kept, retry in %g s",
                        self.settings.name, message, exc or state, entry.job.job_id, wait)
        self._set(state, message)
        if not entry.reported_failure:
            entry.reported_failure = True
            self._call(self._on_job, entry.job.job_id, False)

    def _finish(self, entry: _Entry, printed: bool) -> None:
        with self._cond:
            if self._jobs and self._jobs[0] is entry:
                self._jobs.popleft()
        if printed or not entry.reported_failure:
            self._call(self._on_job, entry.job.job_id, printed)

    def _poll(self) -> None:
        """Check the paper while idle; an unknown answer leaves the state as it was."""
        with self._cond:
            self._poll_at = time.monotonic() + (self._poll_seconds or 0.0)
        try:
            paper = self.transport.paper_status()
        except OSError:
            self._set("offline", MESSAGES["offline"])
            return
        except Exception as exc:
            self._set("error", f"{MESSAGES['error']}: {exc}")
            return
        if paper is PaperStatus.OUT:
            self._set("paper_out", MESSAGES["paper_out"])
        elif paper is not PaperStatus.UNKNOWN:
            self._set("ok", MESSAGES["near_end" if paper is PaperStatus.NEAR_END else "ok"])

    def _set(self, state: StateName, message: str) -> None:
        with self._cond:
            if state != self._state:
                self._since = self._clock()
                if state == "ok":
                    log.info("printer %s: %s", self.settings.name, message)
            self._state, self._message = state, message

    def _publish(self) -> None:
        """Tell ``on_status`` when anything but ``since`` differs from the last report."""
        with self._cond:
            current = self._snapshot()
        key = (current.state, current.message, current.pending, current.last_printed_job)
        if key != self._published:
            self._published = key
            self._call(self._on_status, current)

    def _call(self, callback: Callable[..., None] | None, *args: object) -> None:
        if callback is None:
            return
        try:
            callback(*args)
        except Exception:
            log.exception("printer %s: callback %r failed", self.settings.name, callback)
