"""Starting the server so that a crash loop ends in a box that still issues tickets.

Each start appends its time to ``start-attempts.json`` in the state directory; the list is
emptied once a server has run for ``STABLE_SECONDS`` or stopped cleanly. So the file holds
only the starts that died early, one after the other. After ``MAX_FAILED`` of them within
``WINDOW_MINUTES`` the next start is in *safe mode*: no printers, serial devices, speaker,
uplink or scheduler — the parts that talk to hardware and the network, where a crash usually
comes from — and the health check says so. The kiosk and módulos keep working; printing
comes back with a normal restart once the cause is fixed.

Logging: under systemd (``JOURNAL_STREAM`` names our stderr) each line carries its syslog
level as a ``<N>`` prefix, which journald turns into the entry's priority, and no time stamp
(the journal keeps its own).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from appliance import parts, scheduler
from config.model import Settings
from turnero import backup

ATTEMPTS_FILE = "start-attempts.json"
MAX_FAILED = 3
WINDOW_MINUTES = 10
STABLE_SECONDS = 60.0
SYSLOG_LEVELS = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3,
                 logging.CRITICAL: 2}


class JournalFormatter(logging.Formatter):
    """``<N>logger: message`` with N the syslog priority of the record's level."""

    def __init__(self) -> None:
        super().__init__("%(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        level = SYSLOG_LEVELS.get(record.levelno, 6 if record.levelno < logging.WARNING else 3)
        text = super().format(record)
        return "\n".join(f"<{level}>{line}" for line in text.splitlines() or [""])


def under_journal(environ: Mapping[str, str] | None = None) -> bool:
    """Whether stderr is the journal's stream (systemd sets JOURNAL_STREAM=dev:inode)."""
    environ = os.environ if environ is None else environ
    value = environ.get("JOURNAL_STREAM", "")
    if not value:
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return value == f"{st.st_dev}:{st.st_ino}"


def configure_logging(environ: Mapping[str, str] | None = None) -> None:
    if under_journal(environ):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JournalFormatter())
        logging.basicConfig(level=logging.INFO, handlers=[handler])
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                       "%(message)s")
    # APScheduler says two INFO lines each time a job runs (the uplink's every few seconds:
    # ~17,000 a day); our jobs log their own changes of state. Its warnings stay.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


class StartGuard:
    """The crash-loop bookkeeping of one state directory (see the module's docstring)."""

    def __init__(self, directory: Path, *, max_failed: int = MAX_FAILED,
                 window_minutes: float = WINDOW_MINUTES,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = directory / ATTEMPTS_FILE
        self.max_failed, self.window = max_failed, window_minutes * 60
        self.clock = clock
        self._mine: float | None = None
        self._lock = threading.Lock()

    def _read(self) -> list[float]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return [float(x) for x in data.get("starts", [])]
        except (OSError, ValueError, AttributeError, TypeError):
            return []

    def _write(self, starts: list[float]) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps({"starts": starts}), encoding="utf-8")
        tmp.replace(self.path)

    def begin(self) -> bool:
        """Record this start; True if it must be in safe mode."""
        now = self.clock()
        with self._lock:
            failed = [t for t in self._read() if now - t < self.window]
            self._mine = now
            self._write([*failed, now])
        return len(failed) >= self.max_failed

    def failed_starts(self) -> int:
        now = self.clock()
        return sum(1 for t in self._read() if now - t < self.window and t != self._mine)

    def succeeded(self) -> None:
        """This start ran long enough, or stopped cleanly: whatever looped before is over,
        and the next start is a normal one."""
        with self._lock:
            if self._mine is None:
                return
            self._write([])
            self._mine = None


def safe_settings(settings: Settings) -> Settings:
    """The settings of a safe-mode start: no printers, no serial devices, no uplink (the
    voice is turned off by the app option ``SPEECH="off"``, the scheduler is not started)."""
    return dataclasses.replace(settings, printers=(), desk_devices=(),
                               uplink=dataclasses.replace(settings.uplink, enabled=False))


def safe_mode_health(failed: int) -> Callable[[], dict[str, Any]]:
    def check() -> dict[str, Any]:
        return {"status": "warning", "detail": (
            f"Modo seguro tras {failed} arranques fallidos seguidos: impresoras, dispositivos "
            "serie, voz, envío a la sede central y tareas programadas están detenidos. "
            "Revise el registro (journalctl -u mac-turnos) y reinicie el servicio.")}
    return check


def watch_stability(guard: StartGuard, seconds: float = STABLE_SECONDS) -> Callable[[], None]:
    """After ``seconds`` of running, this start no longer counts as failed; returns the
    call for a clean stop (which does not count either)."""
    timer = threading.Timer(seconds, guard.succeeded)
    timer.daemon = True
    timer.start()

    def clean_stop() -> None:
        timer.cancel()
        guard.succeeded()
    return clean_stop


class AlreadyRunning(Exception):
    """Another server holds this state directory's database."""


@dataclasses.dataclass
class Boot:
    """One server start: its safe-mode decision and its hold on the database."""

    guard: StartGuard
    lock: backup.ServerLock
    safe: bool
    failed: int

    def app_settings(self, settings: Settings) -> Settings:
        return safe_settings(settings) if self.safe else settings

    def app_options(self) -> dict[str, Any]:
        return {"SPEECH": "off", "MAC_TURNOS_SAFE_MODE": True} if self.safe else {}

    def attach(self, app: Flask, *, catch_up: bool = True) -> None:
        """Start the scheduler (not in safe mode) and register what a stop must undo. In
        safe mode the uplink is disabled by the settings (``safe_settings``), so the server's
        start of it does nothing."""
        app_parts = parts.of(app)
        app_parts.on_stop.append(self.lock.release)
        app_parts.on_stop.append(watch_stability(self.guard))
        if self.safe:
            logging.getLogger(__name__).warning(
                "SAFE MODE after %d failed starts: no printers, serial devices, voice, "
                "uplink or scheduler", self.failed)
            app_parts.health["safe_mode"] = safe_mode_health(self.failed)
            return
        scheduler.start(app, catch_up=catch_up)


def begin(directory: Path, db_name: str, *, force_safe: bool = False) -> Boot:
    """Take the database's server lock and decide on safe mode."""
    lock = backup.ServerLock(directory / db_name)
    if not lock.acquire():
        raise AlreadyRunning(f"Otro servidor ya usa {directory / db_name}.")
    guard = StartGuard(directory)
    failed = guard.failed_starts()
    safe = guard.begin() or force_safe
    return Boot(guard, lock, safe, failed)
