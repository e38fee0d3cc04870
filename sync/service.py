"""The uplink as a part of the running box: its settings, its secret, its scheduler job,
"enviar ahora", and the status for health and the supervisor.

One APScheduler job (coalesced) runs a sending round every ``interval_seconds``; a lock
makes sure that two rounds ("enviar ahora", or one due while a send hangs) never send at the
same time. Nothing here runs inside a request that a citizen waits on: the routes only read the
status or wake the job.
"""

from __future__ import annotations

import logging
import secrets
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from config import private_files
from config.model import Settings
from config.model import Uplink as UplinkSettings
from sync import catalogue, citas
from sync.sender import Options, Sender
from sync.transport import Transport
from turnero import outbox
from turnero.clock import SystemClock
from turnero.store import Store

log = logging.getLogger("sync.uplink")
SECRET_NAME = "uplink-secret"
KEY_NAME = "box-key"  # sync.identity's file, named here so backups need no cryptography
JOB_ID = "uplink"
STALE_FACTOR = 6  # failing longer than this many intervals turns health to "warning"
ROUND_SHARE = 0.9  # of the interval a round may spend draining before it yields
STOP_WAIT_S = 2.0  # for a cut round to end (it reads or writes the local store only)


def load_secret(config: UplinkSettings, state_dir: Path) -> bytes:
    """The pseudonymization key: given, from a file, or created once in the state dir (it
    must stay the same for the pseudonyms to stay comparable)."""
    if config.secret:
        return config.secret.encode("utf-8")
    if config.secret_file:
        return Path(config.secret_file).read_text(encoding="utf-8").strip().encode("utf-8")
    made = private_files.create_once(state_dir / SECRET_NAME,
                                     lambda: (secrets.token_hex(32) + "\n").encode("ascii"))
    return made.strip()


def secret_files(config: UplinkSettings, state_dir: Path) -> dict[str, Path]:
    """The files of secrets that backups carry: the box's key and the pseudonymization key
    (unless that one is written in the configuration itself, which the operator keeps)."""
    files = {KEY_NAME: state_dir / KEY_NAME}  # the box's identity: a restored box is the box
    if not config.secret:
        files[SECRET_NAME] = Path(config.secret_file) if config.secret_file \
            else state_dir / SECRET_NAME
    return files


def load_token(config: UplinkSettings) -> str:
    if config.token_file:
        return Path(config.token_file).read_text(encoding="utf-8").strip()
    return config.token


def problems(settings: Settings) -> list[tuple[tuple, str]]:
    """Config checks that span keys (for ``check-config``)."""
    c = settings.uplink
    found: list[tuple[tuple, str]] = []
    if c.enabled and not c.central_url:
        found.append((("uplink", "central_url"), "is required when the uplink is enabled"))
    if c.enabled and not (c.token or c.token_file):
        found.append((("uplink", "token"), "token or token_file is required when the uplink "
                                           "is enabled"))
    for name in ("token_file", "ca_file", "secret_file"):
        value = getattr(c, name)
        if c.enabled and value and not Path(value).is_file():
            found.append((("uplink", name), f"no such file: {value}"))
    return found


class Uplink:
    def __init__(self, store: Store, settings: Settings, *,
                 transport: Transport | None = None, **sender_kw: Any) -> None:
        self.store, self.config = store, settings.uplink
        self.sender: Sender | None = None
        self.catalogue: catalogue.Puller | None = None
        self.citas: citas.Puller | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._busy = threading.Lock()
        if self.config.enabled:
            from sync.identity import load_identity  # cryptography, only with an uplink

            c = self.config
            options = Options(
                centre=settings.centre.code, url=c.central_url, token=load_token(c),
                secret=load_secret(c, store.path.parent), ca_file=c.ca_file,
                batch_events=c.batch_events, batch_bytes=c.batch_bytes,
                timeout=c.timeout_seconds, backoff_cap=c.backoff_cap_seconds,
                identity=load_identity(store.path.parent))
            self.sender = Sender(store, options, transport=transport, **sender_kw)
            self.catalogue = catalogue.Puller(store, settings, self.sender.transport,
                                              options.token)
            self.citas = citas.Puller(store, self.sender.transport, options.token)

    @property
    def enabled(self) -> bool:
        return self.sender is not None

    def run_round(self, *, drain: bool = False) -> str:
        """One round, unless one is already running (then it has nothing to add). The
        scheduled round yields after most of its interval, so that a long drain never
        overlaps the next one; ``drain`` goes on until nothing is pending or a failure."""
        if self.sender is None or not self._busy.acquire(blocking=False):
            return "busy"
        try:
            outcome = self.sender.round(
                budget=None if drain else ROUND_SHARE * self.config.interval_seconds)
            if (self.catalogue is not None and not self.sender.stopping
                    and self.catalogue.due(self.sender.catalogue_offered)):
                self.catalogue.pull()
            if (self.citas is not None and not self.sender.stopping
                    and self.citas.due(self.sender.citas_offered)):
                self.citas.pull(lambda: self.sender is not None and self.sender.stopping)
            return outcome
        except Exception:  # a bug must not kill the job: log it and try next interval
            if self.sender.stopping:
                return "stopped"  # the store closed under a round cut short: not a bug
            log.exception("uplink round failed")
            return "failed"
        finally:
            self._busy.release()

    def start(self) -> None:
        if self.sender is None or self._scheduler is not None:
            return
        self._scheduler = BackgroundScheduler(timezone=UTC)
        self._scheduler.add_job(self.run_round, "interval", id=JOB_ID,
                                seconds=self.config.interval_seconds, coalesce=True,
                                # a round due while a send hangs runs and finds the lock
                                # taken ("busy", at once): APScheduler would otherwise warn
                                # of a skipped run at every interval
                                max_instances=2, misfire_grace_time=None,
                                next_run_time=datetime.now(UTC))
        self._scheduler.start()
        if isinstance(self.store.clock, SystemClock):  # a simulated day has its own time
            self.store.time_witness = self.sender.central_time
        log.info("uplink to %s every %d s", self.config.central_url,
                 self.config.interval_seconds)

    def stop(self) -> None:
        """Stop without waiting for the network: the request in flight is cut, so the
        round ends at once and writes nothing after the store is closed."""
        if self.sender is not None:
            self.sender.stop()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self.sender is not None and self._busy.acquire(timeout=STOP_WAIT_S):
            self.sender.close()
            self._busy.release()

    def send_now(self) -> None:
        """"Enviar ahora": forget the backoff and run a round soon, off the request thread."""
        if self.sender is None:
            return
        self.sender.reset_backoff()
        if self._scheduler is not None:
            self._scheduler.modify_job(JOB_ID, next_run_time=datetime.now(UTC))
        else:
            threading.Thread(target=self.run_round, name="uplink-now", daemon=True).start()

    def status(self, conn: Any = None) -> dict[str, Any]:
        data: dict[str, Any] = {"enabled": self.enabled, "central_url": self.config.central_url,
                                "interval_seconds": self.config.interval_seconds}
        data.update(outbox.status(conn or self.store.reader(), "central"))
        identity = self.sender.options.identity if self.sender else None
        data["box_key"] = identity.fingerprint if identity else None  # as the central shows it
        data["catalogue"] = catalogue.state(conn or self.store.reader())
        data["citas"] = citas.state(conn or self.store.reader())
        data.update(self.sender.state() if self.sender else
                    {"failures": 0, "failing_since": None, "last_attempt": None,
                     "next_attempt_in_seconds": 0.0})
        return data

    def health(self) -> dict[str, Any]:
        data = self.status()
        status = "ok"
        if self.enabled and data["failures"]:
            since = data["last_error_at"] or data["failing_since"]
            stale = since is not None and (
                self.store.now() - datetime.fromisoformat(since.replace("Z", "+00:00"))
            ).total_seconds() > STALE_FACTOR * self.config.interval_seconds
            status = "warning" if stale else "ok"
        rewound = data.get("rewound")
        if self.enabled and rewound and rewound["resending"]:
            status = "warning"  # the central lost events: they are on their way again
        running = data["catalogue"]
        if (running["refused_version"] or 0) > (running["version"] or 0):
            status = "warning"  # the central's newest catalogue does not fit this centre
        keep = ("enabled", "local_seq", "acked_seq", "backlog", "last_success", "last_error",
                "rejected", "failures", "rewound", "catalogue")
        return {"status": status, **{k: data.get(k) for k in keep}}
