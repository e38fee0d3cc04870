"""A PostgreSQL central keeps its events in one partition per month of their service day:
a month's partition is made when its first event comes (once, however many batches need it
at the same time, and whatever language the server speaks), a resent event still meets its
stored copy, a day that is not a date is kept under the day of its time (so it cannot block
a month's partition), and a central from before the partitions is converted with every
event it held."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import psycopg
import pytest

from harness.sync_support import CENTRE, central_db, pg_kind  # noqa: F401
from sync.central import catalogue, citas, partitions, rollups
from sync.central import db as central_db_module
from sync.central.db import Conn, Database
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


NOT_DATES = ("sin-fecha", "2026-13-01", "2027-01", "2026-02-30", "20261127", "2026-11-27x")


@POSTGRESQL
def test_a_day_that_is_not_a_date_is_kept_in_its_time_s_month_and_blocks_no_partition(
        central_db: Database) -> None:
    add_centre(central_db, CENTRE)
    events = [_event(n, day) for n, day in enumerate(NOT_DATES, start=1)]
    for e in events:
        e["at"] = "2026-11-27T14:00:00.000000Z"
    answer = _send(central_db, events)
    assert len(answer["accepted"]) == len(NOT_DATES)
    rows = central_db.conn().query(
        "SELECT tableoid::regclass::text AS part, day FROM events ORDER BY seq")
    assert rows == [{"part": "events_2026_11", "day": "2026-11-27"}] * len(NOT_DATES)
    # December and January, partitions made after those days came: nothing is in their way
    later = _send(central_db, [_event(7, "2026-12-05"), _event(8, "2027-01-02")])
    assert len(later["accepted"]) == 2
    assert _stored(central_db) == len(NOT_DATES) + 2
    assert central_db.conn().query("SELECT COUNT(*) AS n FROM events_default")[0]["n"] == 0


@POSTGRESQL
def test_a_month_needed_by_two_batches_at_once_is_made_once(
        central_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    add_centre(central_db, CENTRE)
    made: list[str] = []
    create = partitions._create

    def slow_create(conn: Any, parent: str, month: str) -> None:
        made.append(month)
        time.sleep(0.3)  # the other batch comes while this one makes it
        create(conn, parent, month)

    monkeypatch.setattr(partitions, "_create", slow_create)
    errors: list[BaseException] = []

    def ensure() -> None:
        try:
            partitions.ensure(central_db, {"2031-05-14"})
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=ensure) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and made == ["2031-05"]
    assert "events_2031_05" in partitions.listed(central_db)


@POSTGRESQL
@pytest.mark.parametrize("error", [
    psycopg.errors.DuplicateTable("la relación «events_2031_06» ya existe"),
    psycopg.errors.UniqueViolation("llave duplicada viola restricción de unicidad "
                                   "«pg_type_typname_nsp_index»")])
def test_a_partition_made_meanwhile_by_another_process_is_no_error_in_any_language(
        central_db: Database, monkeypatch: pytest.MonkeyPatch, error: Exception) -> None:
    add_centre(central_db, CENTRE)
    create = partitions._create
    calls: list[str] = []

    def raced(conn: Any, parent: str, month: str) -> None:
        calls.append(month)
        if len(calls) == 1:  # another process makes it first; this server speaks Spanish
            with psycopg.connect(central_db.url, autocommit=True) as other:
                create(Conn(other, postgres=True), parent, month)
            raise error
        create(conn, parent, month)

    monkeypatch.setattr(partitions, "_create", raced)
    answer = _send(central_db, [_event(1, "2031-06-09")])
    assert len(answer["accepted"]) == 1
    rows = central_db.conn().query("SELECT tableoid::regclass::text AS part FROM events")
    assert rows == [{"part": "events_2031_06"}]


@POSTGRESQL
def test_a_central_from_before_the_partitions_is_converted_with_every_event(
        central_db: Database, pg, monkeypatch: pytest.MonkeyPatch) -> None:
    fresh = Database(pg.new_database())
    try:
        with monkeypatch.context() as m:  # the central as it was before migration 7
            m.setattr(central_db_module, "MIGRATIONS", central_db_module.MIGRATIONS[:6])
            m.setattr(rollups, "write", lambda *_: None)  # no rollups yet either
            m.setattr(catalogue, "note_reports", lambda *_: None)  # nor a catalogue
            m.setattr(catalogue, "newest", lambda _: 0)
            m.setattr(citas, "note_events", lambda *_: None)  # nor citas
            m.setattr(citas, "newest", lambda *_: 0)
            fresh.migrate()
            add_centre(fresh, CENTRE)
            _send(fresh, [_event(n, f"2026-{10 + n % 3:02d}-15") for n in range(1, 31)])
            kind = fresh.conn().query("SELECT relkind FROM pg_class WHERE relname = 'events'")
            assert kind[0]["relkind"] == "r" and _stored(fresh) == 30
        assert fresh.migrate() == [7, 8, 9, 10, 11, 12, 13]
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
