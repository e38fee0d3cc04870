"""A PostgreSQL central keeps its events in one partition per month of their service day:
a month's partition is made when its first event comes, a resent event still meets its
stored copy, a day that is not a date is kept too, and a central from before the partitions
is converted with every event it held."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import uuid
from typing import Any

import pytest

from harness.sync_support import CENTRE, central_db, pg, pg_kind  # noqa: F401
from sync.central import db as central_db_module
from sync.central import partitions
from sync.central.db import Database
from sync.central.ingest import add_centre, ingest

POSTGRESQL = pytest.mark.parametrize("pg_kind", ["postgresql"])


def _event(seq: int, day: str) -> dict[str, Any]:
    return {"uid": uuid.uuid4().hex, "seq": seq, "kind": "ticket.issued",
            "at": f"{day if day[:4].isdigit() else '2026-11-27'}T14:00:00.000000Z"[-27:],
            "actor": None, "counter": None, "ticket": f"t{seq}",
            "payload": {"queue": "RN", "day": day, "step": 1}}


def _send(db: Database, events: list[dict[str, Any]]) -> dict[str, Any]:
    return ingest(db, CENTRE, {"centre": CENTRE, "batch_id": uuid.uuid4().hex,
                               "events": events})


def _stored(db: Database) -> int:
    return db.conn().query("SELECT COUNT(*) AS n FROM events")[0]["n"]


@POSTGRESQL
def test_each_month_gets_its_partition_and_a_resent_event_is_still_a_duplicate(
        central_db: Database) -> None:
    add_centre(central_db, CENTRE)
    kind = central_db.conn().query("SELECT relkind FROM pg_class WHERE relname = 'events'")
    assert kind[0]["relkind"] == "p"
    events = [_event(1, "2026-11-30"), _event(2, "2026-12-01"), _event(3, "2027-01-02")]
    assert len(_send(central_db, events)["accepted"]) == 3
    again = _send(central_db, events[1:])
    assert again["accepted"] == [] and sorted(again["duplicates"]) == sorted(
        e["uid"] for e in events[1:])
    assert set(partitions.listed(central_db)) >= {"events_2026_11", "events_2026_12",
                                                  "events_2027_01", "events_default"}
    rows = central_db.conn().query(
        "SELECT tableoid::regclass::text AS part, day FROM events ORDER BY day")
    assert [r["part"] for r in rows] == ["events_2026_11", "events_2026_12", "events_2027_01"]


@POSTGRESQL
def test_a_day_that_is_not_a_date_is_kept_in_the_default_partition(
        central_db: Database) -> None:
    add_centre(central_db, CENTRE)
    assert len(_send(central_db, [_event(1, "sin-fecha")])["accepted"]) == 1
    part = central_db.conn().query("SELECT tableoid::regclass::text AS part FROM events")
    assert part[0]["part"] == "events_default"


@POSTGRESQL
def test_a_central_from_before_the_partitions_is_converted_with_every_event(
        central_db: Database, pg, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = Database(pg.new_database())
    try:
        with monkeypatch.context() as m:  # the central as it was before migration 7
            m.setattr(central_db_module, "MIGRATIONS", central_db_module.MIGRATIONS[:6])
            fresh.migrate()
            add_centre(fresh, CENTRE)
            _send(fresh, [_event(n, f"2026-{10 + n % 3:02d}-15") for n in range(1, 31)])
            kind = fresh.conn().query("SELECT relkind FROM pg_class WHERE relname = 'events'")
            assert kind[0]["relkind"] == "r" and _stored(fresh) == 30
        assert fresh.migrate() == [7]
        kind = fresh.conn().query("SELECT relkind FROM pg_class WHERE relname = 'events'")
        assert kind[0]["relkind"] == "p" and _stored(fresh) == 30
        assert {"events_2026_10", "events_2026_11", "events_2026_12"} <= set(
            partitions.listed(fresh))
    finally:
        fresh.close()


def test_months_are_read_from_service_days_and_nothing_else() -> None:
    assert partitions.month_of("2026-12-07") == "2026-12"
    assert partitions.month_of("2026-13-01") is None and partitions.month_of("") is None
    assert partitions._bounds("2026-12") == ("2026-12-01", "2027-01-01")
