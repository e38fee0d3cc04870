"""The server's scheduler: open, stop issuing and close the jornada by the centre's calendar,
back up the database every night, prune what is past its retention.

APScheduler's ``BackgroundScheduler`` (in the centre's time zone, one worker thread so two
jobs never overlap) only decides *when*; what each job does is an engine call in
``turnero``. Every run is recorded (when, how long, what it did or why it failed) and shown
by ``GET /api/v1/scheduler`` and the health component ``scheduler``. The moments of the
jornada come from :class:`turnero.schedule.Calendar`, so holidays and closures move them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from appliance import parts
from config.model import Settings
from sync.service import secret_files
from turnero import backup, retention, schedule
from turnero.clock import to_iso
from turnero.errors import TurneroError
from turnero.store import Store

log = logging.getLogger(__name__)

TITLES = {
    "catch_up": "Puesta al día al arrancar",
    "open_day": "Apertura de la jornada",
    "stop_issuing": "Fin de la emisión de turnos",
    "close_day": "Cierre de la jornada",
    "backup": "Copia de seguridad",
    "retention": "Depuración de datos personales y eventos",
}
RETENTION_AFTER = timedelta(minutes=15)


class MomentTrigger(BaseTrigger):
    """Fires at each ``open``/``stop``/``close`` moment of the centre's calendar."""

    def __init__(self, calendar: schedule.Calendar, kind: str) -> None:
        self.calendar, self.kind = calendar, kind

    def get_next_fire_time(self, previous_fire_time: datetime | None,
                           now: datetime) -> datetime | None:
        after = now if previous_fire_time is None else max(
            now, previous_fire_time + timedelta(seconds=1))
        return self.calendar.next_moment(self.kind, after)

    def __str__(self) -> str:
        return f"calendar[{self.kind}]"


@dataclass
class JobRecord:
    name: str
    status: str = "never"  # never, ok, error
    last_run: str | None = None
    duration_ms: float | None = None
    result: dict[str, Any] | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": TITLES[self.name], "status": self.status,
                "last_run": self.last_run, "duration_ms": self.duration_ms,
                "result": self.result, "error": self.error}


@dataclass
class Jobs:
    """What each job does, with its last run; callable without APScheduler (tests drive
    these with a manual clock)."""

    settings: Settings
    store: Store
    opening_checks: Callable[[], dict[str, Any]] = dict
    records: dict[str, JobRecord] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.settings
        self.calendar = schedule.Calendar(s.hours, s.schedule, s.centre.timezone, self.store)
        self.records = {name: JobRecord(name) for name in TITLES}
        self._lock = threading.Lock()

    @property
    def backup_dir(self) -> Path:
        given = self.settings.schedule.backup_dir
        return Path(given) if given else self.store.path.parent / "backups"

    def run(self, name: str) -> dict[str, Any]:
        """Run one job and record how it went; a failure is recorded, never raised."""
        began, at = time.monotonic(), to_iso(self.store.now())
        try:
            result: dict[str, Any] = getattr(self, name)()
            status, error = "ok", None
        except TurneroError as exc:  # refused by the rules (a clock in doubt): no traceback
            if self.records[name].error != exc.message:
                log.warning("scheduler job %s refused: %s", name, exc.message)
            result, status, error = {}, "error", exc.message
        except Exception as exc:  # a job's failure must show in health, not kill the thread
            log.exception("scheduler job %s failed", name)
            result, status = {}, "error"
            error = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        with self._lock:
            self.records[name] = JobRecord(name, status, at,
                                           round((time.monotonic() - began) * 1000, 1),
                                           result, error)
        if status == "ok" and result.get("action", "none") != "none":
            log.info("scheduler: %s: %s", name, result)
        return result

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: rec.as_dict() for name, rec in self.records.items()}

    def catch_up(self) -> dict[str, Any]:
        return schedule.catch_up(self.store, self.calendar, self.opening_checks())

    def open_day(self) -> dict[str, Any]:
        return schedule.open_if_due(self.store, self.calendar, self.opening_checks())

    def stop_issuing(self) -> dict[str, Any]:
        return schedule.stop_if_due(self.store, self.calendar)

    def close_day(self) -> dict[str, Any]:
        return schedule.close_if_due(self.store, self.calendar)

    def backup(self) -> dict[str, Any]:
        local = self.store.now().astimezone(self.calendar.tz).replace(tzinfo=None)
        path = backup.take(self.store.path, self.backup_dir, local, self.settings.centre.code,
                           secret_files(self.settings.uplink, self.store.path.parent))
        removed = backup.prune(self.backup_dir, self.settings.schedule.backup_keep_days, local)
        return {"action": "backup", "file": path.name, "bytes": path.stat().st_size,
                "removed": [p.name for p in removed]}

    def retention(self) -> dict[str, Any]:
        s = self.settings.schedule
        personal = retention.prune_personal_data(self.store, keep_days=s.personal_data_days,
                                                 actor=schedule.ACTOR)
        events = retention.prune_events(
            self.store, keep_days=s.events_days,
            acknowledged_through=retention.acknowledged_seq(self.store), actor=schedule.ACTOR)
        return {"action": "retention", "personal_data": personal, "events": events}


class Scheduler:
    """The running scheduler of a server process."""

    def __init__(self, jobs: Jobs) -> None:
        self.jobs = jobs
        self.started = False  # by the server; an app without one has a scheduler never started
        self._aps = BackgroundScheduler(
            timezone=jobs.calendar.tz, executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600})
        for name, trigger in self.triggers().items():
            self._aps.add_job(jobs.run, trigger, args=[name], id=name, name=TITLES[name])

    def triggers(self) -> dict[str, BaseTrigger]:
        cal, s = self.jobs.calendar, self.jobs.settings.schedule
        hour, minute = (int(x) for x in s.backup_time.split(":"))
        later = datetime(2000, 1, 1, hour, minute) + RETENTION_AFTER
        return {"open_day": MomentTrigger(cal, "open"), "stop_issuing": MomentTrigger(cal, "stop"),
                "close_day": MomentTrigger(cal, "close"),
                "backup": CronTrigger(hour=hour, minute=minute, timezone=cal.tz),
                "retention": CronTrigger(hour=later.hour, minute=later.minute, timezone=cal.tz)}

    def start(self, *, catch_up: bool = True) -> None:
        self.started = True
        if catch_up:
            self._aps.add_job(self.jobs.run, args=["catch_up"], id="catch_up",
                              name=TITLES["catch_up"])
        self._aps.start()
        log.info("scheduler started (%s)", self.jobs.settings.centre.timezone)

    def stop(self) -> None:
        if self._aps.running:
            self._aps.shutdown(wait=True)

    @property
    def running(self) -> bool:
        return bool(self._aps.running)

    def view(self) -> dict[str, Any]:
        jobs = self.jobs.snapshot()
        for job in self._aps.get_jobs():
            if job.id in jobs:
                nxt = getattr(job, "next_run_time", None)
                jobs[job.id]["next_run"] = nxt.isoformat(timespec="minutes") if nxt else None
        failed = [j["name"] for j in jobs.values() if j["status"] == "error"]
        status = "error" if not self.running else ("warning" if failed else "ok")
        return {"status": status, "running": self.running, "failed": failed, "jobs": jobs}

    def health(self) -> dict[str, Any]:
        view = self.view()
        return {"status": view["status"], "failed": view["failed"],
                "jobs": {name: {"status": j["status"], "last_run": j["last_run"]}
                         for name, j in view["jobs"].items()}}


def opening_checks_from(health: Mapping[str, Callable[[], dict[str, Any]]]
                        ) -> Callable[[], dict[str, Any]]:
    """The automatic part of the daily check, recorded with a day the scheduler opens: the
    state of each health component at that moment (people check the rest)."""
    def checks() -> dict[str, Any]:
        found: dict[str, Any] = {}
        # a copy: components still register while the first catch-up runs at start
        for name, check in list(health.items()):
            if name == "scheduler":
                continue
            try:
                found[name] = check().get("status", "unknown")
            except Exception as exc:  # recorded as it is: the day still opens
                found[name] = f"error: {exc}"
        return {"automatic": True, "components": found}
    return checks


def build(settings: Settings, store: Store,
          health: Mapping[str, Callable[[], dict[str, Any]]]) -> Scheduler:
    """The app's scheduler, not started (``create_app`` builds it, the server starts it)."""
    return Scheduler(Jobs(settings, store, opening_checks_from(health)))


def start(app: Flask, *, catch_up: bool = True) -> Scheduler:
    """Start a server's scheduler, with its health component and its stop."""
    app_parts = parts.of(app)
    sched = app_parts.scheduler
    app_parts.health["scheduler"] = sched.health
    app_parts.on_stop.append(sched.stop)
    sched.start(catch_up=catch_up)
    return sched
