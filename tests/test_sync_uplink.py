# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
"""The uplink inside the box: nothing personal leaves it in clear, its status is in health
and in /api/v1/sync, "enviar ahora" wakes it, and its scheduler job (coalesced, one instance)
brings a new event to the central within the interval."""

from __future__ import annotations

import dataclasses
import json

from flask import Flask

from appliance import parts
from appliance.app import create_app
from config.model import Settings
from harness.sync_support import (  # noqa: F401
    SECRET,
    Central,
    FakeTime,
    FaultProxy,
    assert_exactly_once,
    central,
    central_db,
    drain,
    make_sender,
    pg_kind,
    proxy,
    token,
)
from sync import pseudonym
from sync.service import JOB_ID, Uplink
from tests.waiting import wait_until
from turnero import accounts, floor, messages, tickets
from turnero.store import Store

PEOPLE = [("40000001", "Ana Quispe Mamani"), ("45678912", "José Ñahui Huamán"),
          ("10203040", "María Condori")]


def test_no_document_number_or_name_leaves_the_box_in_clear(
        open_store_day: Store, proxy: FaultProxy, central_db, token: str) -> None:
    store = open_store_day
    for document, name in PEOPLE:
        issued, _ = tickets.issue_ticket(store, service_id=76, document=document, name=name,
                                         channel="reception", actor="orientador")
    # People type names into free texts too: a cancel note, a queue closed, a TV message.
    tickets.cancel(store, issued["uid"], actor="orientador", reason="duplicate",
                   note=f"Duplicado, {PEOPLE[2][1]} DNI {PEOPLE[2][0]}")
    floor.change_queue(store, "BN", False, actor="supervisor",
                       reason=f"Atiende solo a {PEOPLE[0][1]}")
    messages.broadcast(store, f"{PEOPLE[1][1]} acérquese a informes", actor="supervisor")
    clock = FakeTime()
    assert drain(make_sender(store, proxy.url, token, clock=clock), clock) == "idle"
    assert_exactly_once(store, central_db)
    sent = b"\n".join(proxy.bodies)
    assert sent
    for document, name in PEOPLE:
        for secret in (document, *name.split()):
            for form in (secret.encode(), json.dumps(secret).strip('"').encode()):
                assert form.lower() not in sent.lower(), secret
    events = [e for body in proxy.bodies for e in json.loads(body)["events"]]
    issued_events = [e for e in events if e["kind"] == "ticket.issued"]
    assert all(e["payload"]["has_document"] for e in issued_events)
    assert {e["actor"] for e in issued_events} == {pseudonym.actor(SECRET, "orientador")}
    cancelled = next(e for e in events if e["kind"] == "ticket.cancelled")
    assert cancelled["payload"]["reason"] == "duplicate"  # a code from the list, in clear
    assert "note" not in cancelled["payload"]


def test_machines_keep_their_names_and_codes_stay_readable() -> None:
    assert pseudonym.actor(SECRET, "device:kiosk-1") == "device:kiosk-1"
    assert pseudonym.actor(SECRET, "asesor.reniec") != pseudonym.actor(b"other", "asesor.reniec")
    out = pseudonym.payload(SECRET, {"queue": "RN", "reason": "break", "visit": [3, 4],
                                     "checks": {"internet": True}, "document": "40000001"})
    assert out["queue"] == "RN" and out["reason"] == "break" and out["visit"] == [3, 4]
    assert out["checks"].startswith("h:") and out["document"].startswith("h:")


def _enabled(settings: Settings, url: str, token: str, interval: int = 1) -> Settings:
    uplink = dataclasses.replace(settings.uplink, enabled=True, central_url=url, token=token,
                                 secret="s", interval_seconds=interval, timeout_seconds=2.0,
                                 backoff_cap_seconds=0.5)
    return dataclasses.replace(settings, uplink=uplink)


def test_the_scheduler_job_is_coalesced_single_and_delivers_on_its_own(
        settings: Settings, open_store_day: Store, central: Central, central_db,
        token: str) -> None:
    link = Uplink(open_store_day, _enabled(settings, central.url, token))
    link.start()
    try:
        job = link._scheduler.get_job(JOB_ID)
        # A run due while a send hangs may start, and finds the round in flight: one send
        # at a time is the lock's work.
        assert job.coalesce is True and job.max_instances == 2
        with link._busy:
            assert link.run_round() == "busy"
        _wait_acked(open_store_day, timeout=10)
        issued, _ = tickets.issue_ticket(open_store_day, service_id=76, actor="orientador")
        _wait_acked(open_store_day, timeout=30)  # sent by the schedule, nobody asked
    finally:
        link.stop()
    assert_exactly_once(open_store_day, central_db)


def _wait_acked(store: Store, timeout: float) -> None:
    def acked() -> bool:
        conn = store.reader()
        local = conn.execute("SELECT MAX(seq) FROM events").fetchone()[0]
        row = conn.execute("SELECT acked_seq FROM sync_state").fetchone()
        return bool(row and row[0] == local)
    wait_until(acked, timeout=timeout, interval=0.05, what="every event acknowledged")


def test_health_and_the_sync_route_show_local_acknowledged_backlog_and_errors(
        settings: Settings, open_store_day: Store, proxy: FaultProxy, token: str) -> None:
    app = create_app(_enabled(settings, proxy.url, token), open_store_day, TESTING=True)
    try:
        _as_supervisor(app, open_store_day, settings)
        client = app.test_client()
        health = client.get("/api/v1/health").get_json()["components"]["uplink"]
        assert health["enabled"] is True and health["backlog"] == health["local_seq"] > 0
        assert health["acked_seq"] == 0 and health["last_success"] is None
        proxy.modes.append("captive")
        link: Uplink = parts.of(app).uplink
        assert link.run_round() == "failed"
        staff = _login(app)
        status = staff.get("/api/v1/sync").get_json()
        assert "no es la respuesta del central" in status["last_error"]
        assert status["failures"] == 1 and status["rejects"] == []
        answer = staff.post("/api/v1/sync/send-now", json={},
                            headers={"X-CSRF-Token": staff.csrf})
        assert answer.status_code == 202
        _wait_acked(open_store_day, timeout=10)
        health = client.get("/api/v1/health").get_json()["components"]["uplink"]
        assert health["backlog"] == 0 and health["last_success"] and not health["last_error"]
    finally:
        parts.of(app).uplink.stop()
        parts.of(app).printing.stop()


def test_send_now_is_refused_when_the_uplink_is_not_enabled(app: Flask, login) -> None:
    staff = login("supervisor")
    answer = staff.post("/api/v1/sync/send-now")
    assert answer.status_code == 409 and answer.get_json()["error"] == "uplink_disabled"
    assert staff.get("/api/v1/sync").get_json()["enabled"] is False
    assert login("orientador").get("/api/v1/sync").status_code == 403


def _as_supervisor(app: Flask, store: Store, settings: Settings) -> None:
    accounts.create_user(store, "jefa", "supervisor", "482916", security=settings.security)


def _login(app: Flask):
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": "jefa", "password": "482916"})
    client.csrf = response.get_json()["csrf_token"]
    return client


def test_the_sender_keeps_the_central_time_as_a_witness_for_the_clock(
        settings: Settings, open_store_day: Store, central: Central, central_db,
        token: str) -> None:
    from datetime import UTC, datetime, timedelta

    from turnero.clock import SystemClock

    link = Uplink(open_store_day, _enabled(settings, central.url, token))
    assert link.sender is not None and link.sender.central_time() is None
    assert link.run_round(drain=True) == "idle"
    said = link.sender.central_time()
    assert said is not None and abs(said - datetime.now(UTC)) < timedelta(minutes=1)
    # The witness is the box's only with the real clock: a simulated day keeps its own.
    link.start()
    link.stop()
    assert open_store_day.time_witness is None  # the tests' store runs a manual clock
    open_store_day.clock = SystemClock()
    link = Uplink(open_store_day, _enabled(settings, central.url, token))
    link.start()
    link.stop()
    assert open_store_day.time_witness is not None
