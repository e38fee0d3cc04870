"""Each centre's token belongs to one box: the central binds it to the key of the first box
that signs with it, refuses and shows another box sending with a copied configuration,
and lets a replaced box in only with a new token (SQLite and PostgreSQL)."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.runtime import open_store
from config import Settings
from harness.sync_support import (  # noqa: F401
    CENTRE,
    Central,
    FakeTime,
    add_events,
    assert_exactly_once,
    central,
    central_db,
    drain,
    make_sender,
    pg_kind,
    token,
)
from sync.central import boxes
from sync.central.app import _state
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.fingerprint import fingerprint
from sync.identity import BoxIdentity, load_identity
from sync.sender import Sender
from turnero import day, outbox
from turnero.clock import ManualClock
from turnero.store import Store


@pytest.fixture
def other_store(tmp_path: Path, settings: Settings, clock: ManualClock) -> Iterator[Store]:
    """A second box of the same centre: a copy of its configuration, its own state."""
    folder = tmp_path / "clone"
    folder.mkdir()
    store = open_store(settings, folder, clock=clock)
    day.open_day(store, actor="test")
    yield store
    store.close()


def _sender(store: Store, central: Central, tok: str, folder: Path) -> tuple[Sender, FakeTime]:
    clock = FakeTime()
    folder.mkdir(exist_ok=True)
    return make_sender(store, central.url, tok, clock=clock,
                       identity=load_identity(folder)), clock


def _centre(db: Database) -> dict:
    return db.conn().query("SELECT * FROM centres WHERE code = ?", (CENTRE,))[0]


def test_a_box_with_a_copied_configuration_is_refused_and_shown(
        open_store_day: Store, other_store: Store, central: Central, central_db: Database,
        token: str, tmp_path: Path) -> None:
    box, box_clock = _sender(open_store_day, central, token, tmp_path / "box")
    clone, _ = _sender(other_store, central, token, tmp_path / "clone-key")
    add_events(open_store_day, 10)
    assert drain(box, box_clock) == "idle"
    assert _centre(central_db)["box_key"] == box.options.identity.public

    add_events(other_store, 10)
    assert clone.send_batch() == "failed"
    status = outbox.status(other_store.reader(), "central")
    assert status["last_error"].startswith("http_403") and "box_mismatch" in status["last_error"]
    assert status["acked_seq"] == 0
    centre = _centre(central_db)
    assert centre["refused_box_key"] == clone.options.identity.public
    assert centre["refused_box_count"] == 1
    state = _state(centre, datetime.now(UTC))
    assert "otro equipo" in state and fingerprint(clone.options.identity.public) in state

    add_events(open_store_day, 5)  # the centre's own box goes on as before
    assert drain(box, box_clock) == "idle"
    assert_exactly_once(open_store_day, central_db)


def test_a_new_token_lets_a_replaced_box_in_and_shuts_the_old_one_out(
        open_store_day: Store, other_store: Store, central: Central, central_db: Database,
        token: str, tmp_path: Path) -> None:
    old, old_clock = _sender(open_store_day, central, token, tmp_path / "box")
    add_events(open_store_day, 3)
    assert drain(old, old_clock) == "idle"
    fresh_token = add_centre(central_db, CENTRE, "MAC de prueba")  # the box was replaced
    replacement, clock = _sender(other_store, central, fresh_token, tmp_path / "new-box")
    add_events(other_store, 4)
    assert drain(replacement, clock) == "idle"
    assert _centre(central_db)["box_key"] == replacement.options.identity.public
    add_events(open_store_day, 1)
    assert old.send_batch() == "failed"
    assert outbox.status(open_store_day.reader(), "central")["last_error"].startswith(
        "http_401")


def test_a_signature_that_does_not_match_the_batch_is_refused(
        open_store_day: Store, central: Central, central_db: Database, token: str,
        tmp_path: Path) -> None:
    box, _ = _sender(open_store_day, central, token, tmp_path / "box")
    forger = load_identity(tmp_path)  # signs with another key under the box's public key
    box_identity = box.options.identity

    class Forged:
        public = box_identity.public

        def headers(self, body: bytes) -> dict[str, str]:
            return {"X-Box-Key": self.public, "X-Box-Signature": forger.sign(body)}

    forged = make_sender(open_store_day, central.url, token, identity=Forged())
    add_events(open_store_day, 2)
    assert forged.send_batch() == "failed"
    assert outbox.status(open_store_day.reader(), "central")["last_error"].startswith(
        "http_401")
    assert central_db.conn().query("SELECT COUNT(*) AS n FROM events")[0]["n"] == 0


def test_once_a_box_is_bound_an_unsigned_batch_is_refused(
        open_store_day: Store, central: Central, central_db: Database, token: str,
        tmp_path: Path) -> None:
    box, clock = _sender(open_store_day, central, token, tmp_path / "box")
    add_events(open_store_day, 2)
    assert drain(box, clock) == "idle"
    unsigned = make_sender(open_store_day, central.url, token)
    add_events(open_store_day, 2)
    assert unsigned.send_batch() == "failed"
    assert outbox.status(open_store_day.reader(), "central")["last_error"].startswith(
        "http_403")


def test_the_box_key_is_made_once_private_and_kept(tmp_path: Path) -> None:
    first = load_identity(tmp_path)
    assert (tmp_path / "box-key").stat().st_mode & 0o777 == 0o600
    assert load_identity(tmp_path).public == first.public


def _wait_until_blocked(db: Database) -> None:
    """Until another session of ``db`` waits for a row lock (PostgreSQL); SQLite's writer
    waits for the write lock, which shows nowhere: a moment is enough there."""
    if not db.postgres:
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if db.conn().query("SELECT COUNT(*) AS n FROM pg_stat_activity WHERE "
                           "wait_event_type = 'Lock' AND datname = current_database()"
                           )[0]["n"]:
            return
        time.sleep(0.01)
    raise AssertionError("the second box never waited for the first one's binding")


def test_two_boxes_binding_at_once_the_first_keeps_the_centre_and_the_other_is_refused(
        central_db: Database, token: str) -> None:
    first = BoxIdentity(Ed25519PrivateKey.generate()).public
    second = BoxIdentity(Ed25519PrivateKey.generate())
    body = b'{"events": []}'
    outcome: list[BaseException | None] = []

    def second_box() -> None:
        try:
            boxes.admit(central_db, CENTRE, second.public, second.sign(body), body)
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            outcome.append(exc)
        else:
            outcome.append(None)

    binding = Database(central_db.url)  # the first box's batch, bound but not yet committed
    try:
        with binding.transaction() as tx:
            tx.execute("UPDATE centres SET box_key = ?, box_bound_at = ? WHERE code = ?",
                       (first, "2026-11-27T14:00:00.000000Z", CENTRE))
            racing = threading.Thread(target=second_box)
            racing.start()
            _wait_until_blocked(central_db)
        racing.join(timeout=30)
    finally:
        binding.close()

    assert len(outcome) == 1 and isinstance(outcome[0], boxes.Refused)
    assert outcome[0].code == "box_mismatch"
    centre = _centre(central_db)
    assert centre["box_key"] == first
    assert centre["refused_box_key"] == second.public and centre["refused_box_count"] == 1
