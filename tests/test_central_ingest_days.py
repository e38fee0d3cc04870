"""An event's service day, by one rule for what is stored, partitioned and aggregated: the
day its box gives when that is a real date (``YYYY-MM-DD``), else the date of its time."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import uuid
from typing import Any

import pytest

from harness.sync_support import CENTRE, central_db, pg_kind  # noqa: F401
from sync.central import aggregates
from sync.central.db import Database
from sync.central.ingest import add_centre, ingest

AT = "2026-11-27T02:00:00.000000Z"  # the evening of the 26th in Lima


def _issued(seq: int, day: Any) -> dict[str, Any]:
    return {"uid": uuid.uuid4().hex, "seq": seq, "kind": "ticket.issued", "at": AT,
            "actor": None, "counter": None, "ticket": f"t{seq}",
            "payload": {"queue": "RN", "entity": "RENIEC", "day": day, "step": 1}}


@pytest.mark.parametrize("day", ["2026-13-01", "2027-01", "2026-02-30", "20261127",
                                 "2026-11-26T00:00", "2026-1-26", "２０２６-11-26", 20261126,
                                 None])
def test_a_day_that_is_not_a_date_is_the_date_of_the_event_s_time(
        central_db: Database, day: Any) -> None:
    add_centre(central_db, CENTRE)
    answer = ingest(central_db, CENTRE, {"centre": CENTRE, "batch_id": uuid.uuid4().hex,
                                         "events": [_issued(1, day)]})
    assert len(answer["accepted"]) == 1
    assert central_db.conn().query("SELECT day FROM events") == [{"day": "2026-11-27"}]
    figures = aggregates.read(central_db, "2026-11-27", "2026-11-27")
    assert figures[(CENTRE, "")].counts["issued"] == 1


def test_a_day_that_is_a_date_is_the_box_s_service_day(central_db: Database) -> None:
    add_centre(central_db, CENTRE)
    ingest(central_db, CENTRE, {"centre": CENTRE, "batch_id": uuid.uuid4().hex,
                                "events": [_issued(1, "2026-11-26")]})
    assert central_db.conn().query("SELECT day FROM events") == [{"day": "2026-11-26"}]
    figures = aggregates.read(central_db, "2026-11-26", "2026-11-26")
    assert figures[(CENTRE, "")].counts["issued"] == 1
