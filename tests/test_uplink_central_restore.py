"""A central that lost part of a centre's log — restored from an older copy, or lost and the
centre registered again — gets every missing event again, once; the box's health and the
central's dashboard both show the resend until it is done (SQLite and PostgreSQL)."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from config import Settings
from harness.sync_support import (  # noqa: F401
    CENTRE,
    Central,
    FakeTime,
    add_events,
    assert_exactly_once,
    drain,
    make_sender,
    pg_kind,
)
from sync.central.app import _state
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.sender import Sender
from sync.service import Uplink
from turnero import outbox
from turnero.store import Store


class Site:
    """The central's database and its server, which a test can stop, copy and replace."""

    def __init__(self, kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
        self.kind, self.tmp, self.request = kind, tmp_path, request
        self.db = Database(self._new_url())
        self.db.migrate()
        self.central = Central(self.db).start()

    def _new_url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.tmp}/central-{len(list(self.tmp.glob('*.sqlite')))}.sqlite"
        return self.request.getfixturevalue("pg").new_database()

    def backup(self) -> str:
        """A copy of the central's database as it is now (its URL)."""
        if self.kind == "sqlite":
            url = self._new_url()
            with sqlite3.connect(str(self.db.path)) as src, \
                    sqlite3.connect(url[len("sqlite:///"):]) as dst:
                src.backup(dst)
            return url
        self.central.stop()
        self.db.close()  # a template copy needs the database without connections
        url = self.request.getfixturevalue("pg").copy_database(self.db.url)
        self.central = Central(self.db, port=self.central.port).start()
        return url

    def replace(self, url: str | None) -> None:
        """The central's server comes back on another database: a restored copy (``url``)
        or, with None, a new empty one (the old one was lost)."""
        self.central.stop()
        self.db.close()
        if url is not None and self.kind == "postgresql":  # keep the backup itself intact
            url = self.request.getfixturevalue("pg").copy_database(url)
        self.db = Database(url or self._new_url())
        self.db.migrate()
        self.central = Central(self.db, port=self.central.port).start()

    def centre(self) -> dict:
        return self.db.conn().query("SELECT * FROM centres WHERE code = ?", (CENTRE,))[0]

    def close(self) -> None:
        self.central.stop()
        self.db.close()


@pytest.fixture
def site(pg_kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Site]:
    s = Site(pg_kind, tmp_path, request)
    yield s
    s.close()


def _sender(store: Store, site: Site, token: str) -> tuple[Sender, FakeTime]:
    clock = FakeTime()
    return make_sender(store, site.central.url, token, clock=clock, batch_events=50), clock


def test_a_central_restored_from_an_older_copy_gets_every_missing_event_again_once(
        open_store_day: Store, site: Site) -> None:
    store = open_store_day
    token = add_centre(site.db, CENTRE, "MAC de prueba")
    sender, clock = _sender(store, site, token)
    add_events(store, 60)
    assert drain(sender, clock) == "idle"
    older = site.backup()  # the copy the central will be restored from
    held = outbox.acked_seq(store.reader(), "central")
    add_events(store, 90)
    assert drain(sender, clock) == "idle"
    site.replace(older)
    add_events(store, 10)

    assert sender.send_batch() == "sent"  # the first batch after the restore finds the gap
    status = outbox.status(store.reader(), "central")
    rewound = status["rewound"]  # its batch was stored: the box had sent all it has
    assert rewound["to"] == held and rewound["from"] == status["local_seq"]
    assert rewound["resending"] is True and status["acked_seq"] == held
    assert "recuperando eventos perdidos" in _state(site.centre(), _now())
    assert drain(sender, clock) == "idle"

    assert_exactly_once(store, site.db)
    assert outbox.status(store.reader(), "central")["rewound"]["resending"] is False
    centre = site.centre()
    assert centre["gap_until"] is None
    assert centre["held_seq"] == outbox.acked_seq(store.reader(), "central")


def test_a_central_lost_and_registered_again_gets_the_whole_log_again_once(
        open_store_day: Store, site: Site) -> None:
    store = open_store_day
    sender, clock = _sender(store, site, add_centre(site.db, CENTRE, "MAC de prueba"))
    add_events(store, 120)
    assert drain(sender, clock) == "idle"
    sender.close()
    site.replace(None)  # the central's database is gone: a new one, the centre added again
    sender, clock = _sender(store, site, add_centre(site.db, CENTRE, "MAC de prueba"))
    add_events(store, 5)
    assert drain(sender, clock) == "idle"
    assert_exactly_once(store, site.db)
    assert outbox.status(store.reader(), "central")["rewound"]["to"] == 0


def test_a_box_that_resends_says_so_in_its_health_until_it_is_done(
        settings: Settings, open_store_day: Store, site: Site) -> None:
    store = open_store_day
    token = add_centre(site.db, CENTRE, "MAC de prueba")
    uplink = dataclasses.replace(settings.uplink, enabled=True, central_url=site.central.url,
                                 token=token, secret="s", batch_events=20)
    link = Uplink(store, dataclasses.replace(settings, uplink=uplink))
    try:
        add_events(store, 20)
        assert link.run_round(drain=True) == "idle"
        older = site.backup()
        add_events(store, 40)
        assert link.run_round(drain=True) == "idle"
        assert link.health()["status"] == "ok" and link.health()["rewound"] is None
        site.replace(older)
        assert link.sender is not None and link.sender.send_batch() == "sent"
        health = link.health()
        assert health["status"] == "warning" and health["rewound"]["resending"] is True
        assert link.run_round(drain=True) == "idle"
        health = link.health()
        assert health["status"] == "ok" and health["rewound"]["resending"] is False
    finally:
        link.stop()


def _now() -> datetime:
    return datetime.now(UTC)
