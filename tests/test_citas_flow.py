# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
"""Citas flow from the central to the boxes and their outcomes back: two boxes and a
central (SQLite and PostgreSQL). A cita booked at the central is checked in at its centre's
box by DNI and by booking code, called in its window ahead of walk-ins, and its outcome is
on the central; a cancelled cita cannot be checked in; a box offline for a while catches
up; a pull that fails applies nothing, and the next applies every change once."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance import parts
from appliance.app import create_app
from config.model import Settings
from harness.box_uplink import Box
from harness.sync_support import (  # noqa: F401
    Central,
    FaultProxy,
    assert_exactly_once,
    central,
    central_db,
    pg_kind,
    proxy,
    viewer_client,
)
from sync.central import citas as citas_central
from sync.central.db import Database
from sync.central.ingest import add_centre
from tests.conftest import START
from turnero import accounts, calls, citas, day, floor, tickets
from turnero.errors import Conflict

PASSPORT = 93  # queue MG (módulos 13-15), takes citas in the demo
TODAY = "2026-11-27"  # START is 09:00 in Lima that day


def _book(client: Any, centre: str, code: str, document: str, time: str = "09:10",
          **more: Any) -> dict[str, Any]:
    answer = client.post("/api/v1/citas", json={
        "centre": centre, "service": PASSPORT, "date": TODAY, "time": time,
        "document_type": "DNI", "document": document, "name": "Rosa Quispe Mamani",
        "code": code, **more})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _central_citas(client: Any, centre: str) -> dict[str, dict[str, Any]]:
    answer = client.get(f"/api/v1/citas?centre={centre}&from={TODAY}&to={TODAY}")
    assert answer.status_code == 200, answer.get_json()
    return {c["code"]: c for c in answer.get_json()["citas"]}


def _box_citas(box: Box) -> dict[str, dict[str, Any]]:
    rows = box.store.reader().execute("SELECT * FROM citas").fetchall()
    return {r["code"]: dict(r) for r in rows}


@contextlib.contextmanager
def _kiosk(box: Box) -> Iterator[Callable[[dict[str, Any]], dict[str, Any]]]:
    """The box's app with an enrolled kiosk: check-ins posted as the kiosk posts them."""
    app = create_app(box.settings, box.store, TESTING=True)
    token = accounts.enrol_device(box.store, "kiosko-1", "kiosk")
    client = app.test_client()

    def check_in(body: dict[str, Any]) -> dict[str, Any]:
        answer = client.post("/api/v1/citas/check-in", json=body,
                             headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code in (200, 201), answer.get_json()
        return answer.get_json()
    try:
        yield check_in
    finally:
        parts.of(app).printing.stop()


@pytest.fixture
def boxes(settings: Settings, central: Central, central_db: Database,
          tmp_path: Path) -> Iterator[tuple[Box, Box]]:
    made = [Box(settings, code, central.url, add_centre(central_db, code), tmp_path / code,
                start=START) for code in ("lima-norte", "callao")]
    yield made[0], made[1]
    for box in made:
        box.close()


def test_a_cita_is_checked_in_by_dni_and_by_code_called_first_and_its_outcome_is_central(
        boxes: tuple[Box, Box], central_db: Database) -> None:
    north, callao = boxes
    pcm = viewer_client(central_db, "pcm.citas", role="editor")
    _book(pcm, "lima-norte", "LN-0001", "12345678")
    _book(pcm, "lima-norte", "LN-0002", "87654321", time="09:15")
    _book(pcm, "callao", "CA-0001", "44443333")
    for box in boxes:
        box.round()  # the answer says there are citas; the pull brings them
    assert set(_box_citas(north)) == {"LN-0001", "LN-0002"}
    assert set(_box_citas(callao)) == {"CA-0001"}
    walk_in, _ = tickets.issue_ticket(north.store, service_id=PASSPORT, actor="kiosko")
    with _kiosk(north) as kiosk:  # as the kiosk's "Tengo cita" posts them
        by_dni = kiosk({"document_type": "DNI", "document": "12345678"})
        by_code = kiosk({"code": "ln-0002"})
        assert kiosk({"code": "LN-0002"})["ticket"]["uid"] == by_code["ticket"]["uid"]
    for counter in (13, 14, 15):
        floor.change_counter(north.store, counter, "open", actor="asesor")
    order = [calls.call_next(north.store, c, actor="asesor")["uid"] for c in (13, 14, 15)]
    assert order == [by_dni["ticket"]["uid"], by_code["ticket"]["uid"], walk_in["uid"]]
    calls.start(north.store, 13, actor="asesor")
    calls.finish(north.store, 13, actor="asesor")
    day.close_day(north.store, actor="supervisor")  # LN-0002 was called, never attended
    north.round()
    seen = _central_citas(pcm, "lima-norte")
    assert seen["LN-0001"]["arrival"] == "kept" and seen["LN-0002"]["arrival"] == "kept"
    assert seen["LN-0001"]["label"] == by_dni["ticket"]["label"]
    assert (seen["LN-0001"]["outcome"], seen["LN-0002"]["outcome"]) == ("served", "expired")
    assert_exactly_once(north.store, central_db, centre="lima-norte")


def test_a_cita_cancelled_at_the_central_cannot_be_checked_in(
        boxes: tuple[Box, Box], central_db: Database) -> None:
    north, _ = boxes
    pcm = viewer_client(central_db, "pcm.citas", role="editor")
    _book(pcm, "lima-norte", "LN-0101", "12345678")
    north.round()
    assert pcm.post("/api/v1/citas/LN-0101/cancel").status_code == 200
    north.round()
    with pytest.raises(Conflict) as refused:
        citas.check_in(north.store, citas.find(north.store, code="LN-0101"))
    assert refused.value.code == "cita_cancelled"
    day.close_day(north.store, actor="supervisor")
    north.round()
    assert _central_citas(pcm, "lima-norte")["LN-0101"]["status"] == "cancelled"


def test_a_box_offline_while_citas_are_booked_changed_and_cancelled_catches_up_once(
        boxes: tuple[Box, Box], central_db: Database, central: Central) -> None:
    north, _ = boxes
    pcm = viewer_client(central_db, "pcm.citas", role="editor")
    central.stop()
    north.round()  # the central is down: nothing, and no error for the citizens
    central.start()
    for n in range(30):
        _book(pcm, "lima-norte", f"LN-1{n:03d}", f"{10000000 + n}")
    assert pcm.patch("/api/v1/citas/LN-1000", json={"time": "09:40"}).status_code == 200
    assert pcm.post("/api/v1/citas/LN-1001/cancel").status_code == 200
    north.round()
    north.round()
    held = _box_citas(north)
    assert len(held) == 30
    assert held["LN-1000"]["slot"] == "09:40" and held["LN-1001"]["status"] == "cancelled"
    assert citas.cursor(north.store.reader()) == max(r["change"] for r in held.values())


@pytest.mark.parametrize("pg_kind", ["sqlite"])  # the box's side: one receiver is enough
@pytest.mark.parametrize("fault", ["500", "captive", "down", "bare_json", "lost_answer",
                                   "timeout"])
def test_a_failed_pull_keeps_nothing_half_and_the_next_round_brings_each_cita_once(
        settings: Settings, proxy: FaultProxy, central_db: Database, tmp_path: Path,
        fault: str) -> None:
    box = Box(settings, "lima-norte", proxy.url, add_centre(central_db, "lima-norte"),
              tmp_path / "box", timeout=2.0 if fault == "timeout" else 5.0, start=START)
    try:
        pcm = viewer_client(central_db, "pcm.citas", role="editor")
        for n in range(3):
            _book(pcm, "lima-norte", f"LN-2{n:03d}", f"{20000000 + n}")
        proxy.get_modes.append(fault)  # the batches go through, the pull fails
        box.round()
        assert proxy.gets
        assert _box_citas(box) == {} and citas.cursor(box.store.reader()) == 0
        box.round()
        held = _box_citas(box)
        assert len(held) == 3
        assert citas.cursor(box.store.reader()) == max(r["change"] for r in held.values())
    finally:
        box.close()


def test_a_central_restored_from_an_older_copy_sends_its_citas_again_and_the_box_follows(
        boxes: tuple[Box, Box], central_db: Database) -> None:
    north, _ = boxes
    pcm = viewer_client(central_db, "pcm.citas", role="editor")
    for n in range(3):
        _book(pcm, "lima-norte", f"LN-3{n:03d}", f"{30000000 + n}")
    north.round()
    assert citas.cursor(north.store.reader()) == citas_central.newest(central_db.conn(),
                                                                       "lima-norte")
    with central_db.transaction() as tx:  # the copy held only the first booking
        tx.execute("DELETE FROM citas WHERE code <> ?", ("LN-3000",))
    assert pcm.post("/api/v1/citas/LN-3000/cancel").status_code == 200
    _book(pcm, "lima-norte", "LN-3100", "31000000")  # as many changes as the box had read
    north.round()
    north.round()
    held = _box_citas(north)
    assert held["LN-3000"]["status"] == "cancelled" and "LN-3100" in held
    assert {"LN-3001", "LN-3002"} <= set(held)  # what the copy lost stays booked here
