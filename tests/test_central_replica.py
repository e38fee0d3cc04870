"""The central with a PostgreSQL streaming replica for its read-only pages
(``mac-turnos central serve --db PRIMARY --read-db REPLICA``): a real hot standby made from
the test run's cluster with ``pg_basebackup -R``. The dashboard, its CSV and the other
read-only pages show what the replica has replayed; batches, logins and sessions go to the
primary, and keep working while the replica lags."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import csv
import gzip
import io
import json
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from harness import front
from harness.front import CentralServer
from harness.pg_cluster import PgCluster, PgReplica
from harness.sync_support import VIEWER_PASSWORD, pg  # noqa: F401
from sync.central import aggregates
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.central.times import iso
from sync.central.viewers import add_viewer
from tests.waiting import wait_until

CENTRE, OTHER, VIEWER = "mac-lima-norte", "mac-arequipa", "analista"
HERE = "127.0.0.1"


class Setup:
    def __init__(self, primary: Database, replica: PgReplica, central: CentralServer,
                 token: str) -> None:
        self.primary, self.replica, self.central, self.token = (primary, replica, central,
                                                                token)

    def caught_up(self) -> None:
        """Wait until the replica has replayed everything the primary has written so far."""
        lsn = self.replica.primary.current_lsn()
        wait_until(lambda: self.replica.replayed(lsn), what=f"the replica to replay {lsn}")

    def send(self, count: int) -> dict[str, Any]:
        """A box's batch of ``count`` tickets issued today, as the box sends it."""
        day = datetime.now(ZoneInfo("America/Lima")).date().isoformat()
        events = [{"uid": uuid.uuid4().hex, "seq": 0, "kind": "ticket.issued",
                   "at": iso(datetime.now(UTC)), "actor": None, "counter": None,
                   "ticket": f"t{uuid.uuid4().hex[:8]}",
                   "payload": {"queue": "RN", "day": day, "step": 1, "entity": "RENIEC"}}
                  for _ in range(count)]
        held = self.primary.conn().query("SELECT COUNT(*) AS n FROM events")[0]["n"]
        for i, event in enumerate(events, start=held + 1):
            event["seq"] = i
        body = gzip.compress(json.dumps({"centre": CENTRE, "batch_id": uuid.uuid4().hex,
                                         "events": events}).encode())
        status, answer, _ = front.request(self.central.port, HERE, "POST", "/api/v1/ingest",
                                          body, {"Authorization": f"Bearer {self.token}",
                                                 "Content-Encoding": "gzip"})
        assert status == 200, answer
        assert len(answer["accepted"]) == count
        return answer

    def session(self) -> dict[str, str]:
        status, headers = front.central_login(self.central.port, HERE, VIEWER, VIEWER_PASSWORD)
        assert status == 303 and headers, status
        return headers

    def issued_today(self, session: dict[str, str]) -> int | None:
        """The dashboard's «Hoy: emitidos» of the centre; None when it does not list it."""
        status, html = front.page(self.central.port, HERE, "/", session)
        assert status == 200
        row = re.search(rf"<tr><td>{CENTRE}</td>(.*?)</tr>", html, re.S)
        if row is None:
            return None
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row.group(1), re.S)
        return int(cells[4])  # name, last contact, backlog, events received, issued today

    def csv_issued(self, session: dict[str, str]) -> int:
        """Tickets issued today at the centre, from the CSV export."""
        day = datetime.now(ZoneInfo("America/Lima")).date().isoformat()
        status, text = front.page(self.central.port, HERE,
                                  f"/export.csv?from={day}&to={day}", session)
        assert status == 200
        rows = [r for r in csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
                if r["centro"] == CENTRE and r["entidad"] == "(total)"]
        return int(rows[0]["emitidos"]) if rows else 0

    def listed(self, session: dict[str, str], code: str) -> bool:
        status, html = front.page(self.central.port, HERE, "/", session)
        assert status == 200
        return f"<tr><td>{code}</td>" in html


@pytest.fixture
def setup(pg: PgCluster, tmp_path: Path) -> Iterator[Setup]:  # noqa: F811
    url = pg.new_database()
    primary = Database(url)
    primary.migrate()
    token = add_centre(primary, CENTRE, "MAC Lima Norte")
    add_viewer(primary, VIEWER, VIEWER_PASSWORD, "viewer")
    replica = pg.replica()
    central = CentralServer(url, tmp_path / "central.log", "--read-db", replica.url_of(url))
    try:
        central.start()
        yield Setup(primary, replica, central, token)
    finally:
        central.stop()
        primary.close()
        replica.stop()


def test_the_dashboard_shows_a_centres_figures_once_the_replica_has_replayed_them(setup):
    session = setup.session()
    setup.send(3)
    setup.caught_up()
    assert setup.issued_today(session) == 3
    assert setup.csv_issued(session) == 3
    status, html = front.page(setup.central.port, HERE, "/entities", session)
    assert status == 200 and "RENIEC" in html
    status, listing = front.page(setup.central.port, HERE, f"/api/v1/citas?centre={CENTRE}",
                                 session)
    assert status == 200 and json.loads(listing)["citas"] == []
    status, answer, _ = front.request(setup.central.port, HERE, "GET", "/api/v1/health")
    assert answer == {"status": "ok", "database": "postgresql",
                      "read_database": "postgresql"}


def test_while_the_replica_lags_batches_and_logins_go_to_the_primary_and_pages_read_the_replica(
        setup):
    session = setup.session()
    setup.send(2)
    setup.caught_up()
    assert setup.issued_today(session) == 2
    setup.replica.pause()
    try:
        wait_until(setup.replica.paused, what="the replica to pause its replay")
        setup.send(5)  # a write: the primary takes it though the replica replays nothing
        add_centre(setup.primary, OTHER, "MAC Arequipa")
        day = datetime.now(ZoneInfo("America/Lima")).date().isoformat()
        on_primary = aggregates.read(setup.primary, day, day)[(CENTRE, "")].figures()
        assert on_primary["issued"] == 7
        # A login writes a session: on a hot standby it could not; on the primary it opens,
        # and the session is found there at once.
        later = setup.session()
        # The pages read the replica, which still holds what it had replayed.
        assert setup.issued_today(later) == 2
        assert setup.csv_issued(later) == 2
        assert not setup.listed(later, OTHER)
    finally:
        setup.replica.pause(False)
    setup.caught_up()
    assert setup.issued_today(session) == 7
    assert setup.csv_issued(session) == 7
    assert setup.listed(session, OTHER)


def test_a_read_database_that_cannot_be_reached_stops_the_central_at_start(pg, tmp_path):  # noqa: F811
    url = pg.new_database()
    Database(url).migrate()
    central = CentralServer(url, tmp_path / "central.log", "--read-db",
                            "postgresql://postgres@127.0.0.1:1/nada")
    with pytest.raises(RuntimeError, match="base de datos de lectura"):
        central.start()
    central.stop()
