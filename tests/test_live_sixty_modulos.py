"""60 módulos calling at once against a real server on 127.0.0.1 never get the same ticket.
A module of its own (not in test_live.py), so that the suite's workers run it and the
5,000-ticket kill -9 run at the same time."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from appliance.runtime import DB_NAME, open_store
from config import load_settings
from harness.live_server import KeepAliveClient as Client
from turnero import day, tickets

pytestmark = pytest.mark.slow


def test_60_modulos_calling_at_once_never_get_the_same_ticket(live):
    server = live(queues=4, counters=60)
    server.setup()
    settings = load_settings(server.config, environ={})
    store = open_store(settings, server.state)
    day.open_day(store, actor="test")
    # The queue is set up before the server starts: no power cut to survive, so its 5,000
    # commits need not each wait for the disk (the server opens its own connection, FULL).
    store._writer.execute("PRAGMA synchronous=OFF")
    # 2,500 calls (it was 10,000, then 5,000), about 42 per módulo, all 60 calling at once
    # throughout, to keep the whole suite within six minutes on the two cores of CI;
    # bench/call_next.py makes 60 módulos call 3,000 times per phase at full speed.
    total = 2_500
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
    status, closed = server.request("POST", "/api/v1/day/close", {"expire_waiting": True}, headers)
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
