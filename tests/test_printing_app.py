"""The appliance with a real serial printer on a pseudo-terminal: tickets issued over HTTP
reach the printer through pyserial; paper out becomes an alert (a ``printer.status`` event and
the ticket owed in ``GET /printers``) and the job prints once paper is back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from config.demo import demo_data
from config.loader import load_settings
from hardware.printer import decode_text
from tests.conftest import PIN
from tests.test_printer_transports import PAPER_OK, PAPER_OUT, FakeSerialPrinter, wait_for
from turnero import accounts, day
from turnero.clock import ManualClock
from turnero.store import Store

START_ISO = "2026-11-27T15:00:00+00:00"


@pytest.fixture
def centre(tmp_path: Path, serial_printer: FakeSerialPrinter) -> Iterator[tuple[Flask, Store]]:
    data = demo_data()
    data["printers"] = [{"name": "recepcion", "transport": "serial",
                         "target": serial_printer.path, "reception": True}]
    settings = load_settings(data=data, environ={})
    store = open_store(settings, tmp_path, clock=ManualClock(datetime.fromisoformat(START_ISO)))
    day.open_day(store, actor="test")
    accounts.create_user(store, "orientador", "receptionist", PIN, security=settings.security)
    app = create_app(settings, store, TESTING=True)
    yield app, store
    parts.of(app).printing.stop()
    store.close()


def staff(app: Flask):
    client = app.test_client()
    csrf = client.post("/api/v1/auth/login", json={"username": "orientador",
                                                   "password": PIN}).get_json()["csrf_token"]
    return client, {"X-CSRF-Token": csrf}


def statuses(store: Store) -> list[str]:
    rows = store.reader().execute("SELECT payload FROM events WHERE kind = 'printer.status' "
                                  "ORDER BY seq").fetchall()
    return [json.loads(r[0])["state"] for r in rows]


def test_a_ticket_issued_at_reception_reaches_the_serial_printer(centre, serial_printer):
    app, _ = centre
    client, headers = staff(app)
    ticket = client.post("/api/v1/tickets", json={"service_id": 76, "language": "es"},
                         headers=headers).get_json()
    assert ticket["print"]["printer"] == "recepcion"
    assert wait_for(lambda: ticket["label"].encode() in serial_printer.received)
    text = decode_text(serial_printer.received, "CP858")
    assert "MAC Lima Norte (demo)" in text and "Personas antes que usted" in text
    assert wait_for(lambda: client.get(f"/api/v1/print-jobs/{ticket['print']['id']}")
                    .get_json()["status"] == "printed")


def test_paper_out_raises_an_alert_and_the_ticket_prints_after_paper_is_back(centre,
                                                                             serial_printer):
    app, store = centre
    client, headers = staff(app)
    serial_printer.status = PAPER_OUT
    ticket = client.post("/api/v1/tickets", json={"service_id": 76},
                         headers=headers).get_json()
    job = ticket["print"]["id"]
    assert wait_for(lambda: client.get(f"/api/v1/print-jobs/{job}").get_json()["status"]
                    == "pending")
    assert wait_for(lambda: "paper_out" in statuses(store))
    [printer] = client.get("/api/v1/printers").get_json()["printers"]
    assert printer["state"] == "paper_out"
    assert [j["label"] for j in printer["pending_jobs"]] == [ticket["label"]]
    assert ticket["label"].encode() not in serial_printer.received

    serial_printer.status = PAPER_OK
    assert client.post("/api/v1/printers/recepcion/retry", json={},
                       headers=headers).status_code == 200
    assert wait_for(lambda: ticket["label"].encode() in serial_printer.received)
    assert wait_for(lambda: statuses(store)[-1] == "ok")
    [printer] = client.get("/api/v1/printers").get_json()["printers"]
    assert printer["state"] == "ok" and printer["pending_jobs"] == []
