"""Backups, restore and retention: an online backup while kiosks issue tickets restores to a
sound database holding every ticket committed before it started; restore refuses while a
server owns the database and keeps what it replaced; old backups, personal data and
acknowledged events go when their retention ends."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import main
from appliance.runtime import DB_NAME, open_store
from config.demo import demo_settings
from sync import pseudonym
from sync.identity import load_identity
from sync.service import KEY_NAME, SECRET_NAME, load_secret
from tests.waiting import wait_until
from turnero import backup, outbox, retention, tickets
from turnero.clock import ManualClock
from turnero.store import Store

RN_SERVICE = 76
TAKEN = datetime(2026, 12, 7, 2, 30)


def uids_in(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT uid FROM tickets")}
    finally:
        conn.close()


def test_a_backup_taken_while_tickets_are_issued_restores_sound_with_every_earlier_ticket(
        open_store_day: Store, tmp_path: Path):
    store = open_store_day
    committed: list[tuple[float, str]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def kiosk() -> None:
        while not stop.is_set():
            ticket, _ = tickets.issue_ticket(store, service_id=RN_SERVICE)
            with lock:
                committed.append((time.monotonic(), ticket["uid"]))

    threads = [threading.Thread(target=kiosk) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(committed) >= 200, interval=0.005)
        started = time.monotonic()
        copy = backup.take(store.path, tmp_path / "backups", TAKEN, "demo")
        taken = len(committed)
        # more tickets after the copy: they may or may not be in it
        wait_until(lambda: len(committed) >= taken + 20, interval=0.005)
    finally:
        stop.set()
        for t in threads:
            t.join()
    before = {uid for at, uid in committed if at < started}
    assert len(before) >= 200 and len(committed) > len(before)
    assert backup.integrity(copy) == "ok"

    target = tmp_path / "restored" / DB_NAME
    target.parent.mkdir()
    backup.restore(target, copy, TAKEN)
    assert backup.integrity(target) == "ok"
    restored = uids_in(target)
    assert before <= restored
    assert restored <= {uid for _, uid in committed}


def test_restore_refuses_while_a_server_holds_the_database(store: Store, tmp_path: Path):
    copy = backup.take(store.path, tmp_path / "b", TAKEN, "demo")
    lock = backup.ServerLock(store.path)
    assert lock.acquire()
    try:
        with pytest.raises(backup.BackupError, match="servidor"):
            backup.restore(store.path, copy, TAKEN)
    finally:
        lock.release()


def test_restore_refuses_a_file_that_is_not_a_sound_database(store: Store, tmp_path: Path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x00" * 200)
    with pytest.raises(backup.BackupError):
        backup.restore(store.path, bad, TAKEN)
    assert backup.integrity(store.path) == "ok"


def test_old_backups_are_pruned_but_the_newest_always_stays(tmp_path: Path):
    folder = tmp_path / "b"
    folder.mkdir()
    for days_ago in (30, 20, 3, 1):
        when = TAKEN - timedelta(days=days_ago)
        (folder / f"mac-turnos-demo-{when:%Y%m%d-%H%M%S}.sqlite").write_bytes(b"x")
    removed = backup.prune(folder, 14, TAKEN)
    assert [p.name[16:24] for p in removed] == ["20261107", "20261117"]
    assert len(backup.listing(folder)) == 2
    assert len(backup.prune(folder, 1, TAKEN + timedelta(days=100))) == 1
    assert len(backup.listing(folder)) == 1


def test_the_backup_and_restore_commands_round_trip_and_keep_the_replaced_database(
        tmp_path: Path):
    state = tmp_path / "state"
    state.mkdir()
    store = open_store(demo_settings(), state)
    store.close()
    runner = CliRunner()
    out = runner.invoke(main, ["--state-dir", str(state), "backup", "--dir",
                               str(tmp_path / "copies")])
    assert out.exit_code == 0, out.output
    copy = next((tmp_path / "copies").glob("mac-turnos-*.sqlite"))
    assert "verificada" in out.output and backup.integrity(copy) == "ok"

    lock = backup.ServerLock(state / DB_NAME)
    assert lock.acquire()
    refused = runner.invoke(main, ["--state-dir", str(state), "restore", str(copy)])
    lock.release()
    assert refused.exit_code == 1 and "servidor" in refused.output

    done = runner.invoke(main, ["--state-dir", str(state), "restore", str(copy)])
    assert done.exit_code == 0, done.output
    aside = next(state.glob("reemplazada-*"))
    assert (aside / DB_NAME).exists()
    assert backup.integrity(state / DB_NAME) == "ok"


def test_a_restored_box_gets_its_secrets_back_pseudonymizes_and_signs_as_before(
        tmp_path: Path):
    state = tmp_path / "state"
    state.mkdir()
    store = open_store(demo_settings(), state)
    store.close()
    secret = load_secret(demo_settings().uplink, state)  # created once, in the state folder
    key = load_identity(state).public  # the box's own key, likewise
    before = pseudonym.describe(secret, _event("asesor.ana"))
    runner = CliRunner()
    out = runner.invoke(main, ["--state-dir", str(state), "backup", "--dir",
                               str(tmp_path / "copies")])
    assert out.exit_code == 0, out.output
    copy = next((tmp_path / "copies").glob("mac-turnos-*.sqlite"))
    (state / SECRET_NAME).unlink()  # a new SD card: the state folder is gone
    (state / KEY_NAME).unlink()
    done = runner.invoke(main, ["--state-dir", str(state), "restore", str(copy)])
    assert done.exit_code == 0, done.output
    assert (state / SECRET_NAME).stat().st_mode & 0o777 == 0o600
    again = load_secret(demo_settings().uplink, state)
    assert again == secret and pseudonym.describe(again, _event("asesor.ana")) == before
    assert load_identity(state).public == key  # the same box for the central
    with sqlite3.connect(state / DB_NAME) as conn:  # the secret stays out of the live data
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'backup_secrets'"
                            ).fetchone() is None


def _event(actor: str) -> outbox.Outgoing:
    return outbox.Outgoing(seq=1, uid="u1", kind="desk.paused", at="2026-12-07T13:00:00.000000Z",
                           actor=actor, counter=1, ticket=None, payload='{"reason": "break"}')


# --- retention ------------------------------------------------------------------------------

def test_personal_data_is_blanked_after_its_retention_and_the_ticket_stays(
        open_store_day: Store, clock: ManualClock):
    ticket, _ = tickets.issue_ticket(open_store_day, service_id=RN_SERVICE, channel="reception",
                                     document="12345678", document_type="dni",
                                     name="Rosa Quispe")
    assert retention.prune_personal_data(open_store_day, keep_days=30)["tickets"] == 0
    clock.advance(days=31)
    assert retention.prune_personal_data(open_store_day, keep_days=30)["tickets"] == 1
    row = open_store_day.reader().execute(
        "SELECT label, document, document_type, name FROM tickets WHERE uid = ?",
        (ticket["uid"],)).fetchone()
    assert tuple(row) == (ticket["label"], None, None, None)
    kinds = [r[0] for r in open_store_day.reader().execute("SELECT kind FROM events")]
    assert "retention.personal_data_pruned" in kinds


def test_old_events_go_only_once_the_central_acknowledged_them(
        open_store_day: Store, clock: ManualClock):
    for _ in range(5):
        tickets.issue_ticket(open_store_day, service_id=RN_SERVICE)
    clock.advance(days=500)
    assert retention.prune_events(open_store_day, keep_days=400,
                                  acknowledged_through=0)["events"] == 0
    seqs = [r[0] for r in open_store_day.reader().execute("SELECT seq FROM events ORDER BY seq")]
    result = retention.prune_events(open_store_day, keep_days=400,
                                    acknowledged_through=seqs[3], batch=2)
    assert result["events"] == 4
    left = [r[0] for r in open_store_day.reader().execute("SELECT seq FROM events ORDER BY seq")]
    assert left[0] == seqs[4]


def test_without_an_uplink_nothing_counts_as_acknowledged(store: Store):
    assert retention.acknowledged_seq(store) == 0
