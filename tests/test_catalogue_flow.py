# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
"""The central office's catalogue flows down to the boxes: two boxes and a central (SQLite
and PostgreSQL), each version applied once and whole, a box offline for two versions
catching up in one step, a version a box cannot run refused with its reason while the box
goes on with the one it had, and the central showing what each centre runs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from appliance.cli import main
from appliance.runtime import open_store
from config.annex import national_document
from config.catalogue_document import TABLES, as_raw
from config.model import Settings
from harness.box_uplink import Box
from harness.sync_support import (  # noqa: F401
    Central,
    FakeTime,
    FaultProxy,
    assert_exactly_once,
    central,
    central_db,
    pg_kind,
    proxy,
    viewer_client,
)
from sync import catalogue as box_catalogue
from sync.central import catalogue
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.service import Uplink
from tests.conftest import START
from turnero import ans, calls, catalog, floor, schedule, tickets
from turnero.clock import ManualClock

NEW_SERVICE = 9001
BN_SERVICE = 3  # a Banco de la Nación trámite of the demo catalogue
START_DAY = START.astimezone(ZoneInfo("America/Lima")).date().isoformat()


def _document(settings: Settings, **change: Any) -> dict[str, Any]:
    """The national catalogue as the demo centre's own tables, with ``change``."""
    raw = as_raw(settings)
    return {**{name: raw[name] for name in TABLES}, **change}


def _with_new_service(settings: Settings) -> dict[str, Any]:
    raw = as_raw(settings)
    services = [*raw["services"], {"id": NEW_SERVICE, "queue": "RN",
                                   "name": "Duplicado de DNI electrónico (nuevo)"}]
    targets = [{"queue": "BN", "max_wait_minutes": 12, "max_attention_minutes": 9,
                "valid_from": "2026-11-01"}]
    return _document(settings, services=services, ans=targets)


@pytest.fixture
def boxes(settings: Settings, central: Central, central_db: Database,
          tmp_path: Path) -> Iterator[tuple[Box, Box]]:
    made = [Box(settings, code, central.url, add_centre(central_db, code), tmp_path / code,
                start=START)
            for code in ("lima-norte", "callao")]
    yield made[0], made[1]
    for box in made:
        box.close()


def test_a_version_reaches_both_boxes_and_each_applies_it_once(
        settings: Settings, boxes: tuple[Box, Box], central_db: Database) -> None:
    north, callao = boxes
    assert north.round() == "idle"  # the central has no catalogue yet: nothing to fetch
    assert north.events("catalogue.applied") == []
    version = catalogue.publish(central_db, _with_new_service(settings), by="pcm.catalogo")
    for box in boxes:
        box.round()
        box.round()  # a later round does not apply it again
        assert [e["version"] for e in box.events("catalogue.applied")] == [version]
        assert NEW_SERVICE in box.offered_services()
        issued, _ = tickets.issue_ticket(box.store, service_id=NEW_SERVICE, actor="kiosko")
        assert issued["label"].startswith("RN")
        targets = ans.targets_for_day(box.store.reader(), START_DAY)
        assert targets[BN_SERVICE] == (12 * 60, 9 * 60)  # the BN target of the version
        assert box_catalogue.state(box.store.reader())["version"] == version
    for box in boxes:
        box.round()  # the applied events reach the central
        assert_exactly_once(box.store, central_db, centre=box.code)
    assert catalogue.states(central_db) == {"lima-norte": f"v{version}",
                                            "callao": f"v{version}"}


def test_a_box_offline_for_two_versions_catches_up_in_one_step_and_serves_what_waited(
        settings: Settings, boxes: tuple[Box, Box], central_db: Database) -> None:
    north, callao = boxes
    first = catalogue.publish(central_db, _with_new_service(settings), by="pcm")
    for box in boxes:
        box.round()
    waiting, _ = tickets.issue_ticket(callao.store, service_id=NEW_SERVICE, actor="kiosko")
    renamed = _with_new_service(settings)
    renamed["services"][-1]["name"] = "Duplicado de DNI (renombrado)"
    second = catalogue.publish(central_db, renamed, by="pcm")
    north.round()
    third = catalogue.publish(central_db, _document(settings), by="pcm", note="sin el nuevo")
    north.round()
    assert [e["version"] for e in north.events("catalogue.applied")] == [first, second, third]

    callao.round()  # back online: straight to the newest
    assert [e["version"] for e in callao.events("catalogue.applied")] == [first, third]
    assert NEW_SERVICE not in callao.offered_services()
    counter = callao.store.reader().execute(
        "SELECT MIN(counter) FROM counter_queues WHERE queue = 'RN'").fetchone()[0]
    floor.change_counter(callao.store, counter, "open", actor="test")
    called = calls.call_next(callao.store, counter)
    assert called is not None and called["uid"] == waiting["uid"]  # issued before: served


def test_a_version_a_box_cannot_run_is_refused_with_its_reason_and_the_old_one_stays(
        settings: Settings, boxes: tuple[Box, Box], central_db: Database) -> None:
    north, _ = boxes
    good = catalogue.publish(central_db, _with_new_service(settings), by="pcm")
    north.round()
    doc = _with_new_service(settings)
    doc["centres"] = {"lima-norte": {"queues": [q["code"] for q in doc["queues"]
                                                if q["code"] != "BN"]}}
    bad = catalogue.publish(central_db, doc, by="pcm")  # valid nationally: not for its módulos
    north.round()
    north.round()  # not asked for again
    refused = north.events("catalogue.refused")
    assert [e["version"] for e in refused] == [bad]
    assert "counters" in refused[0]["problems"] and "'BN'" in refused[0]["problems"]
    assert [e["version"] for e in north.events("catalogue.applied")] == [good]
    assert NEW_SERVICE in north.offered_services()
    issued, _ = tickets.issue_ticket(north.store, service_id=BN_SERVICE, actor="kiosko")
    assert issued["label"].startswith("BN")
    north.round()
    state = catalogue.states(central_db)["lima-norte"]
    assert state.startswith(f"v{good}; rechazó v{bad}") and "'BN'" in state
    page = viewer_client(central_db).get("/").get_data(as_text=True)
    assert f"rechazó v{bad}" in page and "Catálogo" in page


def test_a_box_restarted_runs_the_version_it_applied(
        settings: Settings, boxes: tuple[Box, Box], central_db: Database,
        tmp_path: Path) -> None:
    north, _ = boxes
    catalogue.publish(central_db, _with_new_service(settings), by="pcm")
    north.round()
    north.store.close()
    again = open_store(north.settings, tmp_path / "lima-norte",
                       clock=ManualClock(START))
    try:
        assert NEW_SERVICE in {s["id"] for s in catalog.read_catalog(again.reader())["services"]}
    finally:
        north.store = again


def test_a_document_that_is_not_a_catalogue_is_not_published(
        settings: Settings, central_db: Database) -> None:
    broken = _with_new_service(settings)
    broken["services"].append({"id": 9002, "queue": "NOPE", "name": "Sin cola"})
    with pytest.raises(catalogue.Invalid) as refused:
        catalogue.publish(central_db, broken, by="pcm")
    assert "NOPE" in str(refused.value)
    with pytest.raises(catalogue.Invalid):
        catalogue.publish(central_db, {"entities": []}, by="pcm")
    assert catalogue.versions(central_db) == []


@pytest.mark.parametrize("pg_kind", ["sqlite"])  # the box's side: one receiver is enough
@pytest.mark.parametrize("fault", ["500", "captive", "down", "bare_json", "lost_answer",
                                   "timeout"])
def test_a_failed_pull_applies_nothing_and_the_next_round_applies_the_version_once(
        settings: Settings, proxy: FaultProxy, central_db: Database, tmp_path: Path,
        fault: str) -> None:
    box = Box(settings, "lima-norte", proxy.url, add_centre(central_db, "lima-norte"),
              tmp_path / "box",  # a pull the central never answers is cut at the deadline
              timeout=2.0 if fault == "timeout" else 5.0, start=START)
    try:
        version = catalogue.publish(central_db, _with_new_service(settings), by="pcm")
        proxy.get_modes.append(fault)  # the batches go through, the pull fails
        box.round()
        assert proxy.gets and box.events("catalogue.applied") == []
        assert NEW_SERVICE not in box.offered_services()
        box.round()
        assert [e["version"] for e in box.events("catalogue.applied")] == [version]
        assert NEW_SERVICE in box.offered_services()
    finally:
        box.close()


def test_the_central_command_publishes_a_centre_file_or_says_what_is_wrong(
        settings: Settings, tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path}/central.sqlite"
    good = tmp_path / "catalogo.json"
    good.write_text(json.dumps(_with_new_service(settings)), encoding="utf-8")
    broken = tmp_path / "centro.toml"
    broken.write_text('[[entities]]\ncode = "RENIEC"\nname = "RENIEC"\n\n'
                      '[[services]]\nid = 1\nqueue = "RN"\nname = "DNI"\n', encoding="utf-8")
    runner = CliRunner()

    refused = runner.invoke(main, ["central", "catalogue", "publish", str(broken), "--by",
                                   "pcm", "--db", db_url])
    assert refused.exit_code == 2 and "no queue 'RN'" in refused.output
    done = runner.invoke(main, ["central", "catalogue", "publish", str(good), "--by",
                                "pcm.catalogo", "--note", "nuevo DNI", "--db", db_url])
    assert done.exit_code == 0 and "Versión 1 publicada" in done.output
    listed = runner.invoke(main, ["central", "catalogue", "list", "--db", db_url])
    assert listed.exit_code == 0 and "v1" in listed.output and "nuevo DNI" in listed.output


def test_the_box_says_which_version_it_runs_and_warns_of_one_it_refused(
        settings: Settings, boxes: tuple[Box, Box], central_db: Database) -> None:
    north, _ = boxes
    good = catalogue.publish(central_db, _with_new_service(settings), by="pcm")
    north.round()
    health = north.uplink.health()
    assert health["status"] == "ok" and health["catalogue"]["version"] == good
    doc = _document(settings, centres={"lima-norte": {"queues": ["RN"]}})
    bad = catalogue.publish(central_db, doc, by="pcm")
    north.round()
    health = north.uplink.health()
    assert health["status"] == "warning"
    assert health["catalogue"]["refused_version"] == bad
    assert health["catalogue"]["version"] == good and health["catalogue"]["refused_reason"]


def test_holidays_and_closures_of_a_version_move_each_centre_s_calendar_at_once(
        settings: Settings, boxes: tuple[Box, Box], central_db: Database,
        tmp_path: Path) -> None:
    north, callao = boxes
    closed, decreed = date(2026, 11, 30), date(2026, 12, 1)  # a Monday and a Tuesday

    def kind(box: Box, day: date) -> str:
        calendar = schedule.Calendar(settings.hours, settings.schedule,
                                     settings.centre.timezone, box.store)
        return calendar.on(day).kind

    assert kind(north, closed) == kind(north, decreed) == "weekday"
    doc = _document(settings, holidays=[decreed.isoformat()],
                    centres={"lima-norte": {"closed": [closed.isoformat()]}})
    catalogue.publish(central_db, doc, by="pcm")
    for box in boxes:
        box.round()
    assert (kind(north, closed), kind(north, decreed)) == ("closure", "holiday")
    assert (kind(callao, closed), kind(callao, decreed)) == ("weekday", "holiday")

    north.store.close()  # a restart keeps them
    north.store = open_store(north.settings, tmp_path / "lima-norte", clock=ManualClock(START))
    assert (kind(north, closed), kind(north, decreed)) == ("closure", "holiday")

    catalogue.publish(central_db, _document(settings), by="pcm", note="sin cierres")
    north.uplink = Uplink(north.store, north.settings, clock=north.time, jitter=lambda: 0.5)
    north.round()
    assert (kind(north, closed), kind(north, decreed)) == ("weekday", "weekday")


def test_a_version_with_a_day_that_is_not_a_date_is_not_published(
        settings: Settings, central_db: Database) -> None:
    doc = _document(settings, centres={"callao": {"closed": ["2026-02-30"]}})
    with pytest.raises(catalogue.Invalid) as refused:
        catalogue.publish(central_db, doc, by="pcm")
    assert "centres.callao.closed" in str(refused.value) and "2026-02-30" in str(refused.value)


def test_the_annex_gives_every_entity_and_service_as_a_version_the_central_accepts(
        tmp_path: Path) -> None:
    document = national_document()
    assert catalogue.check(document) == []
    assert len(document["entities"]) == 50 and len(document["services"]) == 572
    assert sorted(s["id"] for s in document["services"]) == list(range(1, 573))
    prefixes = [q["prefix"] for q in document["queues"]]
    assert len(set(prefixes)) == len(prefixes)
    reniec = next(e for e in document["entities"] if e["code"] == "RENIEC")
    assert reniec["short_name"] == "RENIEC"  # as the demo centre names it
    assert {"code": "RN", "entity": "RENIEC"}.items() <= next(
        q for q in document["queues"] if q["entity"] == "RENIEC").items()

    runner = CliRunner()
    printed = runner.invoke(main, ["central", "catalogue", "annex"])
    assert printed.exit_code == 0 and json.loads(printed.output) == document
    source = tmp_path / "catalogo.json"
    source.write_text(printed.output, encoding="utf-8")
    done = runner.invoke(main, ["central", "catalogue", "publish", str(source), "--by", "pcm",
                                "--db", f"sqlite:///{tmp_path}/central.sqlite"])
    assert done.exit_code == 0 and "Versión 1" in done.output


def test_a_version_s_keywords_let_the_kiosk_find_a_service_by_them(
        settings: Settings, boxes: tuple[Box, Box], central_db: Database) -> None:
    north, _ = boxes
    doc = _with_new_service(settings)
    doc["services"][-1]["keywords"] = ["Duplicado", "DNI azul", "perdí mi DNI"]
    catalogue.publish(central_db, doc, by="pcm")
    north.round()
    found = next(s for s in catalog.read_catalog(north.store.reader())["services"]
                 if s["id"] == NEW_SERVICE)
    assert "dni azul" in found["keywords"] and "perdi mi dni" in found["keywords"]
