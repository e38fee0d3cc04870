"""Print jobs survive a power cut: written with the ticket, printed after the restart if the
paper had not come out, never printed twice once printed, dropped when the ticket no longer
needs them. The printer is a file printer whose folder is missing (offline) until the test
makes it; the "power cut" abandons an app without letting it finish, and a new app opens the
same database, as ``mac-turnos serve`` does after a restart."""

from __future__ import annotations

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
from config.model import Settings
from hardware.printer import decode_text
from tests.conftest import PIN
from tests.test_printer_transports import wait_for
from tests.test_printing_app import staff
from turnero import accounts, day, print_jobs, tickets
from turnero.clock import ManualClock
from turnero.errors import Conflict
from turnero.print_jobs import PrintRequest
from turnero.store import Store

START = datetime.fromisoformat("2026-11-27T15:00:00+00:00")
SERVICE = 76


class Centre:
    """One state dir; each ``start`` is a boot of the box on it."""

    def __init__(self, root: Path) -> None:
        self.root, self.paper = root, root / "printer" / "paper.bin"
        data = demo_data()
        data["printers"] = [{"name": "recepcion", "transport": "file",
                             "target": str(self.paper), "reception": True}]
        self.settings: Settings = load_settings(data=data, environ={})
        self.clock = ManualClock(START)
        self.apps: list[tuple[Flask, Store]] = []

    def start(self) -> tuple[Flask, Store]:
        store = open_store(self.settings, self.root, clock=self.clock)
        app = create_app(self.settings, store, TESTING=True)
        self.apps.append((app, store))
        return app, store

    def cut_power(self, app: Flask) -> None:
        """The printer's worker stops where it is: nothing more printed, nothing marked."""
        parts.of(app).printing.stop()

    def printed(self) -> str:
        return decode_text(self.paper.read_bytes(), "CP858") if self.paper.exists() else ""


@pytest.fixture
def centre(tmp_path: Path) -> Iterator[Centre]:
    c = Centre(tmp_path)
    store = open_store(c.settings, tmp_path, clock=c.clock)
    day.open_day(store, actor="test")
    accounts.create_user(store, "orientador", "receptionist", PIN, security=c.settings.security)
    store.close()
    yield c
    for app, store in c.apps:
        parts.of(app).printing.stop()
        store.close()


def issue(app: Flask, key: str | None = None) -> dict:
    client, headers = staff(app)
    if key:
        headers["Idempotency-Key"] = key
    response = client.post("/api/v1/tickets", json={"service_id": SERVICE}, headers=headers)
    assert response.status_code in (200, 201), response.get_json()
    return response.get_json()


def job_status(app: Flask, job_id: str) -> str:
    client, _ = staff(app)
    return client.get(f"/api/v1/print-jobs/{job_id}").get_json()["status"]


def test_a_job_pending_at_a_power_cut_prints_after_the_restart(centre):
    app, store = centre.start()
    ticket = issue(app)  # the printer's folder is missing: offline
    assert ticket["print"]["status"] in ("queued", "pending")
    assert print_jobs.get(store, ticket["print"]["id"])["printed_at"] is None
    centre.cut_power(app)
    centre.paper.parent.mkdir()  # the technician plugs the printer in during the outage
    app2, store2 = centre.start()
    assert wait_for(lambda: ticket["label"] in centre.printed())
    assert wait_for(lambda: job_status(app2, ticket["print"]["id"]) == "printed")
    assert print_jobs.get(store2, ticket["print"]["id"])["printed_at"] is not None
    assert "Personas antes que usted" in centre.printed()


def test_a_printed_job_is_not_printed_again_after_a_restart(centre):
    centre.paper.parent.mkdir()
    app, store = centre.start()
    ticket = issue(app)
    assert wait_for(lambda: print_jobs.get(store, ticket["print"]["id"])["printed_at"])
    centre.cut_power(app)
    size = centre.paper.stat().st_size
    app2, _ = centre.start()
    assert parts.of(app2).printing.resume() == 0
    assert centre.paper.stat().st_size == size
    assert job_status(app2, ticket["print"]["id"]) == "printed"


def test_a_replayed_request_after_the_restart_gets_the_job_not_a_second_copy(centre):
    app, _ = centre.start()
    first = issue(app, key="kiosk-replay-1")
    centre.cut_power(app)
    centre.paper.parent.mkdir()
    app2, _ = centre.start()
    assert wait_for(lambda: job_status(app2, first["print"]["id"]) == "printed")
    again = issue(app2, key="kiosk-replay-1")
    assert again["uid"] == first["uid"] and again["print"]["id"] == first["print"]["id"]
    assert again["print"]["status"] == "printed"
    assert centre.printed().count(first["label"]) == 1


def test_a_reprint_is_a_new_job_written_with_the_request(centre):
    centre.paper.parent.mkdir()
    app, store = centre.start()
    ticket = issue(app)
    client, headers = staff(app)
    reprint = client.post(f"/api/v1/tickets/{ticket['uid']}/reprint", json={},
                          headers=headers).get_json()
    assert reprint["print"]["id"] == f"{ticket['uid']}-2"
    assert wait_for(lambda: centre.printed().count(ticket["label"]) == 2)
    assert print_jobs.latest_for(store, ticket["uid"])["id"] == f"{ticket['uid']}-2"


def test_a_job_whose_ticket_was_cancelled_before_the_restart_is_not_printed(centre):
    app, store = centre.start()
    kept, cancelled = issue(app), issue(app)
    tickets.cancel(store, cancelled["uid"], reason="left_centre", actor="test")
    centre.cut_power(app)
    centre.paper.parent.mkdir()
    app2, _ = centre.start()
    assert wait_for(lambda: kept["label"] in centre.printed())
    assert cancelled["label"] not in centre.printed()
    assert job_status(app2, cancelled["print"]["id"]) == "pending"


def test_a_refused_ticket_leaves_no_print_job(centre):
    _, store = centre.start()
    request = PrintRequest("recepcion", "es", "http://caja.local")
    store.write(lambda tx: tx.execute("UPDATE queues SET is_open = 0, closed_reason = 'x'"))
    with pytest.raises(Conflict):
        tickets.issue_ticket(store, service_id=SERVICE, print_on=request)
    assert store.reader().execute("SELECT COUNT(*) FROM print_jobs").fetchone()[0] == 0


def test_print_jobs_of_earlier_days_are_forgotten_when_a_new_day_opens(centre):
    _, store = centre.start()
    ticket, _ = tickets.issue_ticket(store, service_id=SERVICE,
                                     print_on=PrintRequest("recepcion", "es", "http://caja"))
    assert print_jobs.get(store, f"{ticket['uid']}-1") is not None
    centre.clock.advance(days=1)
    day.open_day(store, actor="test")
    assert print_jobs.get(store, f"{ticket['uid']}-1") is None
