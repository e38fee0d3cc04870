"""No personal data where it does not belong: a day of the centre is run over real HTTP
(waitress on 127.0.0.1) with citizens who gave their document number and name at the kiosk
and at reception, through call, recall, start, finish, transfer, rating, no-show, cancel,
reactivation, reprint, look-ups and the closing of the day. Then everything the box wrote
outside the tickets table is searched for those numbers and names: every log record at DEBUG
level and anything written to stdout/stderr, every column of the event log, what a TV gets,
and the exact bytes the uplink sends to a real central receiver (and what that receiver
stored). The tickets table must still hold them (so the search is not looking for data that
was never given)."""

from __future__ import annotations

import gzip
import http.client
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from stdnum.pe import cui

from appliance import parts
from appliance.app import create_app
from config.model import Settings
from harness.live_server import free_port
from harness.sync_support import Central, FakeTime, drain
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.sender import Options, Sender
from sync.transport import Answer, Transport
from tests.conftest import PIN, USERS
from tests.waiting import wait_until
from tests.wsgi_thread import ServedApp
from turnero import accounts, views
from turnero.store import Store


def _dni(eight: str) -> str:
    """The number as printed on the card: 8 digits and the check digit."""
    return eight + cui.calc_check_digits(eight)[0]


DNI_KIOSK = _dni("73915482")
DNI_DESK = _dni("41862079")
CE = "CE0012345"
NAME_KIOSK = "Rosa Quispe Mamani"
NAME_DESK = "José Ñahui Huamán"
NAME_CE = "Giuseppe Rossetti Bianchi"
# What must never leave the tickets table: every number and name, whole and by parts.
SECRETS = [DNI_KIOSK, DNI_KIOSK[:8], DNI_DESK, DNI_DESK[:8], CE, NAME_KIOSK, NAME_DESK,
           NAME_CE, "Quispe", "Mamani", "Ñahui", "Huamán", "Rossetti", "Bianchi"]


def _found(text: str) -> list[str]:
    """The personal data in ``text``, also as JSON escapes would write it."""
    forms = {s: {s, json.dumps(s)[1:-1], json.dumps(s, ensure_ascii=False)[1:-1]}
             for s in SECRETS}
    return [s for s, variants in forms.items() if any(v in text for v in variants)]


class Http:
    """A browser of the centre: a kiosk's bearer token, or a staff session and its CSRF."""

    def __init__(self, port: int, headers: dict[str, str] | None = None) -> None:
        self.port, self.headers = port, dict(headers or {})

    def call(self, method: str, path: str, body: Any = None,
             expect: tuple[int, ...] = (200, 201)) -> Any:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data,
                         headers={"Content-Type": "application/json", **self.headers})
            response = conn.getresponse()
            raw = response.read()
            cookie = response.getheader("Set-Cookie")
        finally:
            conn.close()
        assert response.status in expect, (method, path, response.status, raw[:300])
        if cookie and cookie.startswith("mt_session="):
            self.headers["Cookie"] = cookie.split(";")[0]
        return json.loads(raw) if raw and raw[:1] in b"{[" else raw

    def login(self, username: str) -> Http:
        me = self.call("POST", "/api/v1/auth/login", {"username": username, "password": PIN})
        self.headers["X-CSRF-Token"] = me["csrf_token"]
        return self


class Recording:
    """The real transport to the central, keeping a copy of every body it sends."""

    def __init__(self, inner: Transport) -> None:
        self.inner, self.bodies = inner, []

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        self.bodies.append(gzip.decompress(body).decode("utf-8"))
        return self.inner.post(path, body, headers)


@pytest.fixture
def served(settings: Settings, open_store_day: Store) -> Iterator[ServedApp]:
    for name, (role, entity) in USERS.items():
        accounts.create_user(open_store_day, name, role, PIN, security=settings.security,
                             entity=entity)
    app = create_app(settings, open_store_day, TESTING=True, SSE_HEARTBEAT_SECONDS=0.2)
    server = ServedApp(app)
    yield server
    for stop in parts.of(app).on_stop:
        stop()
    server.stop()
    parts.of(app).printing.stop()


def _run_a_day(port: int, kiosk_token: str) -> dict[str, Any]:
    """A day with three citizens who gave their data; returns what the day produced."""
    kiosk = Http(port, {"Authorization": f"Bearer {kiosk_token}"})
    orientador = Http(port).login("orientador")
    asesor = Http(port).login("asesor.reniec")
    supervisor = Http(port).login("supervisor")

    a = kiosk.call("POST", "/api/v1/tickets", {"service_id": 76, "document": DNI_KIOSK,
                                               "name": NAME_KIOSK})
    kiosk.call("POST", "/api/v1/tickets", {"service_id": 76, "document": DNI_KIOSK[:8] + "0"},
               expect=(400,))  # a typo in the check digit is refused, and not logged
    b = orientador.call("POST", "/api/v1/tickets", {
        "service_id": 76, "document": f"{DNI_DESK[:2]}.{DNI_DESK[2:5]}.{DNI_DESK[5:8]}-"
                                      f"{DNI_DESK[8]}", "name": NAME_DESK,
        "priority": "gestante"})
    c = orientador.call("POST", "/api/v1/tickets", {"service_id": 76, "document": CE,
                                                    "document_type": "ce", "name": NAME_CE})
    found = supervisor.call("GET", f"/api/v1/tickets?document={DNI_KIOSK[:8]}")
    assert [t["uid"] for t in found["tickets"]] == [a["uid"]]
    assert supervisor.call("GET", f"/api/v1/tickets/{b['uid']}")["name"] == NAME_DESK
    public = Http(port).call("GET", f"/api/v1/public/tickets/{a['token']}")

    asesor.call("POST", "/api/v1/counters/1/open")
    first = asesor.call("POST", "/api/v1/counters/1/call-next")
    assert first["uid"] == b["uid"]  # the preferential one first
    asesor.call("POST", "/api/v1/counters/1/recall")
    asesor.call("POST", "/api/v1/counters/1/start")
    asesor.call("POST", "/api/v1/counters/1/transfer", {"queue": "RC"})
    served = asesor.call("POST", "/api/v1/counters/1/call-next")
    asesor.call("POST", "/api/v1/counters/1/start")
    asesor.call("POST", "/api/v1/counters/1/finish", {"outcome": "attended"})
    asesor.call("POST", f"/api/v1/tickets/{served['uid']}/rating", {"score": 5})

    orientador.call("POST", f"/api/v1/tickets/{c['uid']}/priority",
                    {"priority": "adulto_mayor"}, expect=(200, 400))
    orientador.call("POST", f"/api/v1/tickets/{c['uid']}/transfer", {"queue": "RC"})
    orientador.call("POST", f"/api/v1/tickets/{c['uid']}/reprint")
    orientador.call("POST", f"/api/v1/tickets/{c['uid']}/cancel",
                    {"reason": "duplicate", "note": f"{NAME_CE} CE {CE} pidió dos"})
    orientador.call("POST", f"/api/v1/tickets/{c['uid']}/reactivate")
    asesor.call("POST", "/api/v1/counters/1/call-next")
    asesor.call("POST", "/api/v1/counters/1/start")
    asesor.call("POST", "/api/v1/counters/1/finish", {"outcome": "pending"})
    asesor.call("POST", "/api/v1/counters/1/call-next")
    asesor.call("POST", "/api/v1/counters/1/no-show")
    supervisor.call("POST", "/api/v1/messages", {"text": "Gracias por su paciencia",
                                                 "minutes": 10})
    asesor.call("POST", "/api/v1/counters/1/close")
    supervisor.call("POST", "/api/v1/day/close", {"expire_waiting": True})
    job = a["print"]["job"] if isinstance(a.get("print"), dict) else None
    return {"tickets": (a, b, c), "public": public, "print_job": job, "kiosk": kiosk}


def _wait_printed(kiosk: Http, job: Any) -> None:
    """Let the print worker finish the kiosk's ticket, so its log lines are in the scan."""
    if job is None:
        return
    wait_until(lambda: kiosk.call("GET", f"/api/v1/print-jobs/{job}").get("status")
               == "printed", interval=0.05, what="the kiosk's ticket printed")


def test_a_day_with_document_numbers_and_names_leaves_them_only_in_the_tickets_table(
        served: ServedApp, open_store_day: Store, kiosk_token: str, tmp_path: Path,
        caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]):
    caplog.set_level(logging.DEBUG)
    day = _run_a_day(served.port, kiosk_token)
    _wait_printed(day["kiosk"], day["print_job"])

    # The data was given and kept where it belongs: the scan below looks for real values.
    kept = " ".join(repr(tuple(r)) for r in open_store_day.reader().execute(
        "SELECT document, name FROM tickets"))
    assert set(_found(kept)) >= {DNI_KIOSK[:8], DNI_DESK[:8], CE, NAME_KIOSK, NAME_DESK,
                                 NAME_CE}

    # The uplink: the exact bytes sent to a real central, and what it stored. The central
    # is down at first, so the sender's failure and recovery lines are in the log too.
    db = Database(f"sqlite:///{tmp_path}/central.sqlite")
    db.migrate()
    central = Central(db, free_port())
    clock = FakeTime()
    try:
        options = Options(centre="demo-lima-norte", url=central.url,
                          token=add_centre(db, "demo-lima-norte", "MAC de prueba"),
                          secret=b"secret-of-the-centre", batch_events=20)
        sender = Sender(open_store_day, options, clock=clock)
        sender.transport = recording = Recording(sender.transport)  # type: ignore[assignment]
        assert sender.round() == "failed"
        central.start()
        assert drain(sender, clock) == "idle"
        sender.close()
        stored = json.dumps([dict(r) for r in db.conn().query("SELECT * FROM events")],
                            ensure_ascii=False, default=str)
    finally:
        central.stop()
        db.close()
    sent = "\n".join(recording.bodies)
    kinds = {e["kind"] for body in recording.bodies for e in json.loads(body)["events"]}
    assert {"ticket.issued", "ticket.called", "ticket.transferred", "ticket.finished",
            "ticket.rated", "ticket.cancelled", "ticket.no_show", "day.closed"} <= kinds
    assert '"has_document":true' in sent

    events = " ".join(repr(tuple(r)) for r in open_store_day.reader().execute(
        "SELECT * FROM events"))
    assert events.count("ticket.issued") == 3
    tv = json.dumps(views.snapshot(open_store_day, staff=False), ensure_ascii=False)
    out, err = capfd.readouterr()
    logs = "\n".join([caplog.text, *(r.getMessage() for r in caplog.records),
                      *(repr(r.args) for r in caplog.records)])
    uplink_lines = [r.getMessage() for r in caplog.records if r.name == "sync.uplink"]
    assert any("failing" in m for m in uplink_lines) and any("recovered" in m
                                                             for m in uplink_lines)

    assert {"log records": _found(logs), "stdout and stderr": _found(out + err),
            "event log": _found(events), "uplink bodies": _found(sent),
            "central's database": _found(stored), "TV snapshot": _found(tv),
            "citizen's status page": _found(json.dumps(day["public"], ensure_ascii=False))
            } == {"log records": [], "stdout and stderr": [], "event log": [],
                  "uplink bodies": [], "central's database": [], "TV snapshot": [],
                  "citizen's status page": []}


def _service_of(settings, entity: str) -> int:
    queues = {q.code for q in settings.queues if q.entity == entity}
    return next(s.id for s in settings.services if s.queue in queues)


def test_an_asesor_sees_document_and_name_only_of_tickets_with_their_entity(
        login, settings):
    orientador, asesor = login("orientador"), login("asesor.reniec")
    mine, other = (orientador.post("/api/v1/tickets", {
        "service_id": _service_of(settings, entity), "document_type": "dni",
        "document": "12345678", "name": "Rosa Quispe Mamani"}).get_json()
        for entity in ("RENIEC", "BN"))
    assert "uid" in mine and "uid" in other, (mine, other)
    seen = asesor.get(f"/api/v1/tickets/{mine['uid']}").get_json()
    assert seen["name"] == "Rosa Quispe Mamani" and seen["document"] == "12345678"
    hidden = asesor.get(f"/api/v1/tickets/{other['uid']}").get_json()
    assert hidden["label"] == other["label"]
    assert not {"name", "document", "document_type"} & hidden.keys()
    by_label = asesor.get(f"/api/v1/tickets?label={other['label']}").get_json()["tickets"]
    assert by_label and "name" not in by_label[0]
    assert orientador.get(f"/api/v1/tickets/{other['uid']}").get_json()["name"]


def test_only_reception_and_supervision_look_tickets_up_by_document(login):
    refused = login("asesor.reniec").get("/api/v1/tickets?document=12345678")
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    assert login("orientador").get("/api/v1/tickets?document=12345678").status_code == 200
