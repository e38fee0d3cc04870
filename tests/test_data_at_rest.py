"""The data at rest stays with its owner and the exports cannot attack whoever opens them.

A box started by hand (outside systemd, whose unit sets ``UMask``) keeps its state folder
0700 and its database, WAL, shared memory and backups 0600; what an earlier start left open
is tightened at the next start; the central's SQLite database is 0600 as well. Text that a
spreadsheet would run as a formula (an asesor's full name, an entity or centre code) is
written to the reports' CSV and the central's export with a leading apostrophe, while the
figures stay numbers."""

from __future__ import annotations

import csv
import gzip
import io
import json
import logging
import os
import stat
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from appliance import parts
from appliance.app import create_app
from appliance.runtime import DB_NAME, open_store, state_dir
from config import load_settings
from config.csv_cells import safe
from config.model import Settings
from harness.sync_support import viewer_client
from sync.central.app import create_central_app
from sync.central.db import Database
from sync.central.indicators import Cell
from sync.central.ingest import add_centre
from tests.central_oracle import add_wait
from tests.test_reports import CENTRE, START, play_day
from turnero import accounts, backup, reports
from turnero.clock import ManualClock
from turnero.reports import tabular
from turnero.store import Store

FORMULA = '=HYPERLINK("http://x","y")'
PIN = "482916"
DAY = "2026-11-27"
WHEN = datetime(2026, 11, 28, 2, 30)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def db_files(db: Path) -> dict[str, int]:
    """The modes of a database and of its WAL and shared memory, by file name."""
    return {p.name: mode(p) for p in (db, Path(f"{db}-wal"), Path(f"{db}-shm"))}


def private(db: Path) -> dict[str, int]:
    return {f"{db.name}{suffix}": 0o600 for suffix in ("", "-wal", "-shm")}


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The umask of a server started by hand: new files 0644, new folders 0755."""
    before = os.umask(0o022)
    yield
    os.umask(before)


# --- the box's state folder, database and backups ------------------------------------------


def test_a_store_started_by_hand_keeps_its_folder_database_wal_and_shm_for_the_owner_only(
        open_umask: None, tmp_path: Path, settings: Settings) -> None:
    directory = state_dir(tmp_path / "estado", tmp_path / "no-usado")
    store = open_store(settings, directory)
    try:
        store.reader().execute("SELECT COUNT(*) FROM events").fetchone()
        assert mode(directory) == 0o700
        assert db_files(store.path) == private(store.path)
    finally:
        store.close()


def test_an_open_state_folder_and_database_left_by_an_earlier_start_are_tightened_and_logged(
        open_umask: None, tmp_path: Path, settings: Settings,
        caplog: pytest.LogCaptureFixture) -> None:
    directory = tmp_path / "estado"
    open_store(settings, state_dir(directory, tmp_path)).close()
    directory.chmod(0o755)
    (directory / DB_NAME).chmod(0o644)
    with caplog.at_level(logging.WARNING):
        store = open_store(settings, state_dir(directory, tmp_path))
    try:
        assert mode(directory) == 0o700
        assert db_files(store.path) == private(store.path)
        said = [r.getMessage() for r in caplog.records if "owner only" in r.getMessage()]
        assert any(f"{directory} (was 0755)" in line for line in said), said
        assert any(f"{store.path} (was 0644)" in line for line in said), said
    finally:
        store.close()


@pytest.mark.parametrize("folder_before", [None, 0o755], ids=["new-folder", "open-folder"])
def test_a_backup_is_written_for_the_owner_only_in_a_folder_for_the_owner_only(
        open_umask: None, store: Store, tmp_path: Path, folder_before: int | None) -> None:
    folder = tmp_path / "copias"
    if folder_before is not None:
        folder.mkdir(mode=folder_before)
        folder.chmod(folder_before)
    copy = backup.take(store.path, folder, WHEN, "centro")
    assert (mode(folder), mode(copy)) == (0o700, 0o600)


def test_a_restored_database_and_the_folder_of_the_replaced_one_are_for_the_owner_only(
        open_umask: None, store: Store, tmp_path: Path) -> None:
    copy = backup.take(store.path, tmp_path / "copias", WHEN, "centro")
    target = tmp_path / "otra" / DB_NAME
    target.parent.mkdir(mode=0o700)
    target.write_bytes(b"")  # a database to replace, so there is a folder of replaced files
    target.chmod(0o600)
    aside = backup.restore(target, copy, WHEN)
    assert (mode(target), mode(aside)) == (0o600, 0o700)
    lock = target.with_name(target.name + ".lock")
    assert mode(lock) == 0o600  # it holds the server's process id


# --- the central's SQLite database ---------------------------------------------------------


def test_the_central_sqlite_database_is_for_the_owner_only_and_an_open_one_is_tightened(
        open_umask: None, tmp_path: Path) -> None:
    path = tmp_path / "central" / "central.sqlite"
    db = Database(f"sqlite:///{path}")
    try:
        db.migrate()
        assert db_files(path) == private(path)
    finally:
        db.close()
    path.chmod(0o644)
    again = Database(f"sqlite:///{path}")
    try:
        again.conn().query("SELECT 1 AS ok")
        assert mode(path) == 0o600
    finally:
        again.close()


# --- CSV cells -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [FORMULA, "+51 999", "-2+3", "@SUM(A1:A9)", "\t=1", "\r=1"])
def test_text_that_begins_like_a_formula_gets_an_apostrophe(text: str) -> None:
    assert safe(text) == "'" + text


def test_numbers_and_ordinary_text_are_left_as_they_are() -> None:
    assert [safe(v) for v in (-1.5, -3, 0, None, "RENIEC", "Ana = 2")] == [
        -1.5, -3, 0, None, "RENIEC", "Ana = 2"]


@pytest.fixture
def played(tmp_path: Path) -> Iterator[tuple[Store, Settings]]:
    """The hand-computed day of the reports, with asesor a1's full name a formula."""
    settings = load_settings(data=CENTRE, environ={})
    clock = ManualClock(START)
    store = open_store(settings, tmp_path, clock=clock)
    play_day(store, clock)
    clock.set(datetime(2026, 11, 28, 14, 0, tzinfo=UTC))
    accounts.create_user(store, "a1", "agent", PIN, security=settings.security, entity="E1",
                         full_name=FORMULA)
    yield store, settings
    store.close()


def table(text: str, separator: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text), delimiter=separator))


def test_an_asesor_whose_full_name_is_a_formula_appears_as_text_in_the_reports_csv(
        played: tuple[Store, Settings]) -> None:
    store, settings = played
    accounts.create_user(store, "jefa", "supervisor", PIN, security=settings.security)
    app = create_app(settings, store, TESTING=True)
    try:
        client = app.test_client()
        client.post("/api/v1/auth/login", json={"username": "jefa", "password": PIN})
        response = client.get(f"/api/v1/reports?from={DAY}&group=agent&format=csv")
        assert response.status_code == 200
        rows = table(response.data.decode("utf-8-sig"), ";")
        names = {row[0]: row[1] for row in rows[1:]}
        assert names["a1"] == "'" + FORMULA
        assert not [cell for row in rows for cell in row if cell.startswith(("=", "@", "+"))]
    finally:
        parts.of(app).printing.stop()


def test_a_formula_label_is_neutralised_in_the_reports_csv_and_a_negative_figure_stays_a_number(
        played: tuple[Store, Settings]) -> None:
    store, _ = played
    report = reports.build_report(store, date(2026, 11, 27), date(2026, 11, 27), "agent")
    row = next(r for r in report["rows"] if r["key"] == "a1")
    row["wait"]["mean"] = -90.0  # a figure the report computed as negative: -1.5 minutes
    header, *rows = table(tabular.to_csv(report).decode("utf-8-sig"), ";")
    cells = dict(zip(header, next(r for r in rows if r[0] == "a1"), strict=True))
    assert cells["Nombre"] == "'" + FORMULA
    assert cells["Espera media (min)"] == "-1,5"


# --- the central's export ------------------------------------------------------------------


def test_a_crafted_centre_and_entity_code_appear_as_text_in_the_central_export(
        tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path}/central.sqlite")
    db.migrate()
    try:
        token = add_centre(db, "-calc", "MAC de prueba")
        events: list[dict[str, Any]] = [{
            "uid": uuid.uuid4().hex, "seq": 1, "kind": "ticket.issued",
            "at": "2026-11-27T14:00:00.000000Z", "actor": None, "counter": None,
            "ticket": "t1", "payload": {"queue": "RN", "day": DAY, "step": 1,
                                        "entity": FORMULA}}]
        body = {"centre": "-calc", "batch_id": uuid.uuid4().hex, "events": events}
        sent = create_central_app(db).test_client().post(
            "/api/v1/ingest", data=gzip.compress(json.dumps(body).encode()),
            headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip",
                     "Content-Type": "application/json"})
        assert sent.get_json()["accepted"] == [events[0]["uid"]]
        response = viewer_client(db).get(f"/export.csv?from={DAY}&to={DAY}")
        rows = table(response.get_data(as_text=True).lstrip("\ufeff"), ",")
        assert [row[:2] for row in rows[1:]] == [["'-calc", "(total)"],
                                                 ["'-calc", "'" + FORMULA]]
    finally:
        db.close()


def test_a_negative_figure_in_the_central_export_stays_a_number() -> None:
    from sync.central.csv_export import indicators_csv  # the export's writer, on its own

    cell = Cell()
    add_wait(cell, -1.5)
    cells = {("-calc", FORMULA): cell}
    rows = table(indicators_csv(cells, DAY, DAY).lstrip("\ufeff"), ",")
    assert rows[1] == ["'-calc", "'" + FORMULA, DAY, DAY, "0", "0", "0", "0", "0", "1",
                       "-1.5", "-1.5", "", "0", "", "", "0", "", ""]
