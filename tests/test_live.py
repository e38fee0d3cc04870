"""A real server on 127.0.0.1: numbering survives kill -9 under concurrent load, and 60 módulos
calling at once never share a ticket. Bounded in count and time."""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path

import pytest

from appliance.runtime import DB_NAME, open_store
from config import load_settings
from harness.live_server import LiveServer, write_config
from turnero import day, tickets

pytestmark = pytest.mark.slow


class Client:
    """One keep-alive HTTP connection that reconnects after the server died."""

    def __init__(self, port: int, headers: dict[str, str]):
        self.port, self.headers = port, headers
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: dict, extra: dict[str, str] | None = None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            self.conn.request("POST", path, body=json.dumps(body),
                              headers={"Content-Type": "application/json", **self.headers,
                                       **(extra or {})})
            response = self.conn.getresponse()
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            return None, None


@pytest.fixture
def live(tmp_path: Path):
    def make(queues: int, counters: int) -> LiveServer:
        state = tmp_path / "state"
        state.mkdir()
        server = LiveServer(state, write_config(tmp_path / "centre.toml", queues, counters))
        servers.append(server)
        return server
    servers: list[LiveServer] = []
    yield make
    for s in servers:
        s.stop()


def test_20000_tickets_from_16_clients_survive_kill_9_without_repeats_or_losses(live):
    server = live(queues=4, counters=4)
    kiosk_token, _ = server.setup()
    server.start()
    assert server.request("POST", "/api/v1/day/open", {}, server.login())[0] == 200
    target, kill_at = 20_000, 8_000
    issued: dict[str, str] = {}  # uid -> label, every ticket the server confirmed
    lock = threading.Lock()
    deadline = time.monotonic() + 300

    def worker(n: int) -> None:
        client = Client(server.port, {"Authorization": f"Bearer {kiosk_token}"})
        while time.monotonic() < deadline:
            with lock:
                if len(issued) >= target:
                    return
            key = uuid.uuid4().hex  # the same key on every retry of one issue
            while time.monotonic() < deadline:
                status, body = client.post("/api/v1/tickets", {"service_id": 1 + n % 4},
                                           {"Idempotency-Key": key})
                if status in (200, 201):
                    with lock:
                        issued[body["uid"]] = body["label"]
                    break
                assert status is None, (status, body)  # only a dead server may fail us
                time.sleep(0.05)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    while len(issued) < kill_at and time.monotonic() < deadline:
        time.sleep(0.05)
    server.kill()
    server.start()
    for t in threads:
        t.join()
    server.stop()
    assert len(issued) >= target, f"only {len(issued)} confirmed before the deadline"

    db = sqlite3.connect(server.state / DB_NAME)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = dict(db.execute("SELECT uid, label FROM tickets"))
    missing = [uid for uid in issued if uid not in stored]
    assert not missing, f"{len(missing)} confirmed tickets lost"
    assert all(stored[uid] == label for uid, label in issued.items())
    repeats = db.execute("SELECT day, number_queue, number, COUNT(*) FROM tickets "
                         "GROUP BY 1, 2, 3 HAVING COUNT(*) > 1").fetchall()
    assert repeats == []
    for (queue,) in db.execute("SELECT DISTINCT number_queue FROM tickets"):
        numbers = [n for (n,) in db.execute("SELECT number FROM tickets WHERE number_queue = ? "
                                            "ORDER BY number", (queue,))]
        assert numbers == list(range(1, len(numbers) + 1))  # no gap, no repeat


def test_60_modulos_calling_at_once_never_get_the_same_ticket(live):
    server = live(queues=4, counters=60)
    server.setup()
    settings = load_settings(server.config, environ={})
    store = open_store(settings, server.state)
    day.open_day(store, actor="test")
    total = 10_000
    for i in range(total):
        tickets.issue_ticket(store, service_id=1 + i % 4,
                             priority="gestante" if i % 5 == 0 else None)
    store.close()
    server.start()
    headers = server.login()
    for n in range(1, 61):
        assert server.request("POST", f"/api/v1/counters/{n}/open", {}, headers)[0] == 200

    called: list[tuple[int, str]] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 300

    def modulo(n: int) -> None:
        client = Client(server.port, headers)
        while time.monotonic() < deadline:
            status, body = client.post(f"/api/v1/counters/{n}/call-next", {})
            if status == 204:
                return
            assert status == 200, (status, body)
            with lock:
                called.append((n, body["uid"]))
            action = ("no-show", "start")[len(called) % 2]
            assert client.post(f"/api/v1/counters/{n}/{action}", {})[0] == 200
            if action == "start":
                assert client.post(f"/api/v1/counters/{n}/finish", {})[0] == 200

    threads = [threading.Thread(target=modulo, args=(n,)) for n in range(1, 61)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(called) == total
    uids = [uid for _, uid in called]
    assert len(set(uids)) == len(uids), "a ticket was called by two módulos"
    status, closed = server.request("POST", "/api/v1/day/close", {}, headers)
    assert status == 200 and closed["open"] is False
    server.stop()

    db = sqlite3.connect(server.state / DB_NAME)
    per_ticket = db.execute("SELECT ticket, COUNT(*) FROM events WHERE kind = 'ticket.called' "
                            "GROUP BY ticket HAVING COUNT(*) > 1").fetchall()
    assert per_ticket == []
    statuses = db.execute(
        "SELECT a.status, COUNT(*) FROM attentions a WHERE a.step = (SELECT MAX(step) FROM "
        "attentions WHERE ticket = a.ticket) GROUP BY 1").fetchall()
    assert dict(statuses).keys() <= {"done", "no_show", "cancelled", "expired"}
    assert sum(n for _, n in statuses) == total
    assert db.execute("SELECT COUNT(*) FROM attentions WHERE status IN "
                      "('waiting', 'called', 'serving')").fetchone()[0] == 0


def test_server_starts_healthy_again_on_existing_state(live):
    server = live(queues=2, counters=2)
    server.setup()
    server.start()
    server.stop()
    server.start()
    status, health = server.request("GET", "/api/v1/health")
    assert status == 200 and health["status"] == "ok"
