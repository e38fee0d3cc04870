"""What the uplink tests share: the central receiver on both databases (in-process waitress or
a subprocess that can be killed), a fault-injecting proxy on 127.0.0.1, a fake monotonic
clock for the sender's backoff, and the "exactly once" check."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Set
from pathlib import Path
from typing import Any

import pytest
from waitress.server import create_server

from harness.fault_proxy import FaultProxy
from harness.live_server import free_port
from harness.pg_cluster import PgCluster
from sync.central.app import create_central_app
from sync.central.auth import LOGIN_COOKIE
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.central.viewers import add_viewer
from sync.sender import Options, Sender
from sync.transport import SendError, Transport
from turnero.events import KINDS
from turnero.store import Store

CENTRE = "demo-lima-norte"
VIEWER_PASSWORD = "clave-de-prueba-larga"


def login_token(client: Any, environ_base: dict[str, str] | None = None) -> str:
    """The central's login-form token for this client, read from the form as a browser
    does (or from its cookie when the client, logged in already, is not shown the form)."""
    page = client.get("/login", environ_base=environ_base or {})
    found = re.search(r'name="csrf" value="([^"]+)"', page.get_data(as_text=True))
    if found:
        return found.group(1)
    cookie = client.get_cookie(LOGIN_COOKIE)
    assert cookie is not None, page.status_code
    return str(cookie.value)


def post_login(client: Any, name: str, password: str, *,
               environ_base: dict[str, str] | None = None,
               headers: dict[str, str] | None = None, **fields: str) -> Any:
    """POST the central's login form as its page does: the form first, then its token back."""
    data = {"usuario": name, "contrasena": password,
            "csrf": login_token(client, environ_base), **fields}
    return client.post("/login", data=data, environ_base=environ_base or {},
                       headers=headers or {})


def viewer_client(db: Database, name: str = "analista", role: str = "viewer") -> Any:
    """A test client of the central app logged in as a dashboard viewer (``role``)."""
    add_viewer(db, name, VIEWER_PASSWORD, role)
    client = create_central_app(db).test_client()
    response = post_login(client, name, VIEWER_PASSWORD)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client
SECRET = b"centre-secret-for-tests"


@pytest.fixture(scope="session")
def pg() -> Iterator[PgCluster]:
    cluster = PgCluster().start()
    yield cluster
    cluster.stop()


def database_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path}/central.sqlite"
    return request.getfixturevalue("pg").new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def pg_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def central_db(pg_kind: str, request: pytest.FixtureRequest,
               tmp_path: Path) -> Iterator[Database]:
    db = Database(database_url(pg_kind, tmp_path, request))
    db.migrate()
    yield db
    db.close()


class Central:
    """The real receiver, served by waitress on 127.0.0.1 in this process."""

    def __init__(self, db: Database, port: int | None = None) -> None:
        self.db, self.port = db, port or free_port()
        self.server: Any = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Central:
        self.server = create_server(create_central_app(self.db), host="127.0.0.1",
                                    port=self.port, threads=8,
                                    asyncore_loop_timeout=0.05)
        self.stopping = False
        self.thread = threading.Thread(target=self._run, args=(self.server,), daemon=True)
        self.thread.start()
        return self

    def _run(self, server: Any) -> None:
        try:
            server.run()
        except (OSError, ValueError):  # its sockets closed under the loop by stop()
            if not self.stopping:
                raise

    def stop(self) -> None:
        """Close the listening socket and every open channel, as a dead server would."""
        if self.server is not None:
            self.stopping = True
            for channel in list(self.server._map.values()):
                channel.handle_close()
            self.server.task_dispatcher.shutdown()
            if self.thread is not None:
                self.thread.join(5)
            self.server = None


@pytest.fixture
def central(central_db: Database) -> Iterator[Central]:
    c = Central(central_db).start()
    yield c
    c.stop()


@pytest.fixture
def token(central_db: Database) -> str:
    return add_centre(central_db, CENTRE, "MAC de prueba")


class CentralProcess:
    """The receiver as ``mac-turnos central serve`` in a subprocess, to be SIGKILLed."""

    def __init__(self, url: str, log: Path) -> None:
        self.url_db, self.log, self.port = url, log, free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "appliance", "central", "serve", "--db", self.url_db,
                 "--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(self.log.read_text())

    def kill(self) -> None:
        if self.proc is not None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None


@pytest.fixture
def proxy(central: Central) -> Iterator[FaultProxy]:
    p = FaultProxy(central.port).start()
    yield p
    p.stop()


class FakeTime:
    """A monotonic clock the test moves: hours of outage pass in microseconds."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def make_sender(store: Store, url: str, token: str, *, clock: Any = None,
                batch_events: int = 50, timeout: float = 2.0, backoff_cap: float = 60.0,
                batch_bytes: int = 1_000_000, identity: Any = None) -> Sender:
    options = Options(centre=CENTRE, url=url, token=token, secret=SECRET,
                      batch_events=batch_events, batch_bytes=batch_bytes, timeout=timeout,
                      backoff_cap=backoff_cap, identity=identity)
    return Sender(store, options, clock=clock or FakeTime(), jitter=lambda: 0.5)


def post_in_thread(transport: Transport, path: str) -> tuple[threading.Thread, list[SendError]]:
    """Post an empty batch to ``path`` from a thread of its own, as the uplink's round does,
    so that a test can cut it (``abort``) while it waits; the list gets its error."""
    failed: list[SendError] = []

    def send() -> None:
        try:
            transport.post(path, b"{}", {})
        except SendError as exc:
            failed.append(exc)

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    return sender, failed


def add_events(store: Store, n: int, kind: str = "ticket.issued") -> None:
    """``n`` events in one transaction (faster than issuing ``n`` tickets). ``Tx.emit``
    refuses a kind that is not declared, so such events (ones the receiver must refuse) are
    written to the log directly, as a box of another version could have written them."""
    def op(tx: Any) -> None:
        for i in range(n):
            fields: dict[str, Any] = {
                "label": f"RN-{i + 1:03d}", "queue": "RN", "service": 76, "priority": "normal",
                "preferential": False, "step": 1, "day": "2026-11-27", "entity": "RENIEC",
                "has_document": False}
            if kind in KINDS:
                tx.emit(kind, actor="orientador", ticket=f"t{i:06d}", **fields)
            else:
                tx.execute("INSERT INTO events(uid, kind, at, actor, counter, ticket, payload) "
                           "VALUES (?,?,?,?,?,?,?)", (os.urandom(16).hex(), kind, tx.at,
                                                      "orientador", None, f"t{i:06d}",
                                                      json.dumps(fields, sort_keys=True)))
    store.write(op)


def drain(sender: Sender, clock: FakeTime, rounds: int = 200) -> str:
    """Run rounds (skipping backoff waits on the fake clock) until all is sent."""
    outcome = "failed"
    for _ in range(rounds):
        outcome = sender.round()
        if outcome == "idle":
            return outcome
        clock.advance(sender.options.backoff_cap + 1)
    return outcome


def box_uids(store: Store) -> set[str]:
    return {r[0] for r in store.reader().execute("SELECT uid FROM events")}


def assert_exactly_once(store: Store, db: Database, rejected: Set[str] = frozenset(),
                        centre: str = CENTRE) -> None:
    """Every event of the box is at the central once, and the box knows it."""
    stored = [r["uid"] for r in db.conn().query("SELECT uid FROM events WHERE centre = ?",
                                                (centre,))]
    assert len(stored) == len(set(stored))
    assert set(stored) == box_uids(store) - set(rejected)
    conn = store.reader()
    local = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
    acked = conn.execute("SELECT acked_seq FROM sync_state WHERE destination = 'central'"
                         ).fetchone()[0]
    assert acked == local
