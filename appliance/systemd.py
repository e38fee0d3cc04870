"""systemd integration without a dependency: ``sd_notify`` over the stdlib socket module,
and a watchdog that pings only while the box is really healthy.

With ``Type=notify`` systemd waits for ``READY=1`` before starting what comes after the
server (the kiosk and TV browsers). With ``WatchdogSec=`` it kills and restarts the server
when the pings stop, so a ping must mean more than "the process exists": each one follows a
round trip through the single writer (a stuck write lock blocks it) and an HTTP request to
the server's own health endpoint (no free worker thread, a wedged loop or a database that
does not answer fail it).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Mapping
from typing import Any

from turnero.store import Store

log = logging.getLogger(__name__)
HTTP_TIMEOUT_S = 5.0


def notify(message: str, environ: Mapping[str, str] | None = None) -> bool:
    """Send ``message`` (e.g. ``READY=1``) to the service manager; False when not under
    systemd or the socket is gone (never an error: the box also runs by hand)."""
    environ = os.environ if environ is None else environ
    address = environ.get("NOTIFY_SOCKET", "")
    if not address or address[0] not in "/@":
        return False
    if address[0] == "@":  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode("utf-8"))
    except OSError as exc:
        log.warning("sd_notify failed: %s", exc)
        return False
    return True


def watchdog_interval(environ: Mapping[str, str] | None = None) -> float | None:
    """Seconds between pings (half of ``WatchdogSec``), or None without a watchdog."""
    environ = os.environ if environ is None else environ
    usec, pid = environ.get("WATCHDOG_USEC"), environ.get("WATCHDOG_PID")
    if not usec or not usec.isdigit() or int(usec) == 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None  # meant for another process
    return int(usec) / 2_000_000


def writer_problem(store: Store) -> str | None:
    """A round trip through the single writer; blocks while the write lock is stuck, so no
    ping goes out then."""
    try:
        store.write(lambda tx: None)
    except Exception as exc:
        return f"database: {exc}"
    return None


def http_problem(url: str) -> str | None:
    """The server's own health endpoint answers, and its database is not in error."""
    host_port = url.split("://", 1)[-1].split("/", 1)[0]
    host, _, port = host_port.rpartition(":")
    conn = http.client.HTTPConnection(host.strip("[]"), int(port), timeout=HTTP_TIMEOUT_S)
    try:
        conn.request("GET", "/api/v1/health")
        response = conn.getresponse()
        body: dict[str, Any] = json.loads(response.read() or b"{}")
    except (OSError, ValueError, http.client.HTTPException) as exc:
        return f"http: {exc}"
    finally:
        conn.close()
    if response.status != 200:
        return f"http: status {response.status}"
    if body.get("components", {}).get("db", {}).get("status") == "error":
        return "database: the health check reports an error"
    return None


def health_problem(store: Store, url: str) -> str | None:
    """None when the writer and the HTTP server both answer, else what is wrong."""
    return writer_problem(store) or http_problem(url)


class Watchdog:
    """Pings ``WATCHDOG=1`` every ``interval`` seconds while ``check`` finds no problem."""

    def __init__(self, interval: float, check: Callable[[], str | None],
                 environ: Mapping[str, str] | None = None) -> None:
        self.interval, self.check, self.environ = interval, check, environ
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sd-watchdog", daemon=True)
        self.last_problem: str | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            problem = self.check()
            if problem != self.last_problem:  # one log line per change, not per ping
                if problem:
                    log.error("health check failed, watchdog not fed: %s", problem)
                else:
                    log.info("health check passes again")
            self.last_problem = problem
            if problem is None:
                notify("WATCHDOG=1", self.environ)
            else:
                notify(f"STATUS=Falla: {problem}", self.environ)


def local_url(host: str, port: int) -> str:
    """Where the server itself can be reached from inside the box."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def start(store: Store, host: str, port: int,
          environ: Mapping[str, str] | None = None) -> Callable[[], None]:
    """Tell systemd the server is ready and start the watchdog; returns the stop call."""
    url = local_url(host, port)
    notify(f"READY=1\nSTATUS=Atendiendo en {url}\nMAINPID={os.getpid()}", environ)
    interval = watchdog_interval(environ)
    watchdog = None
    if interval is not None:
        watchdog = Watchdog(interval, lambda: health_problem(store, url), environ)
        watchdog.start()

    def stop() -> None:
        notify("STOPPING=1", environ)
        if watchdog is not None:
            watchdog.stop()
    return stop
