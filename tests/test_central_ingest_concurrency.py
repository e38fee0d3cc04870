"""The same batch received twice at once by a PostgreSQL central (a retry racing its first
try, on two of the receiver's threads) is stored once and counted once: in the events, in
the centre's events received and in the aggregates; one answer accepts it, the other
answers it as duplicates."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest

from harness.sync_support import CENTRE, central_db, pg_kind  # noqa: F401
from sync.central import aggregates, ingest
from sync.central.db import Database

DAY = "2026-11-27"


def _batch(tickets: int) -> dict[str, Any]:
    events = []
    for n in range(tickets):
        for kind, minute in (("ticket.issued", 0), ("ticket.called", 10 + n)):
            events.append({
                "uid": uuid.uuid4().hex, "seq": len(events) + 1, "kind": kind,
                "at": f"{DAY}T14:{minute:02d}:00.000000Z", "actor": None, "counter": 1,
                "ticket": f"t{n}", "payload": {"queue": "RN", "entity": "RENIEC",
                                               "day": DAY, "step": 1}})
    return {"centre": CENTRE, "batch_id": uuid.uuid4().hex, "after": 0, "events": events}


@pytest.mark.parametrize("pg_kind", ["postgresql"])
def test_the_same_batch_ingested_twice_at_once_is_counted_once(
        central_db: Database, pg_kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    ingest.add_centre(central_db, CENTRE)
    batch = _batch(10)
    both_read = threading.Barrier(2)
    existing = ingest._existing

    def read_together(tx: Any, centre: str, uids: list[str]) -> set[str]:
        found = existing(tx, centre, uids)
        try:  # let the other try read what is stored before either stores anything
            both_read.wait(timeout=1)
        except threading.BrokenBarrierError:
            pass  # the other waits for this one to end first: as it should
        return found

    monkeypatch.setattr(ingest, "_existing", read_together)
    answers: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def send() -> None:
        try:
            answers.append(ingest.ingest(central_db, CENTRE, batch))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
        finally:
            central_db.conn().raw.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == [] and len(answers) == 2
    uids = sorted(e["uid"] for e in batch["events"])
    assert sorted([sorted(a["accepted"]) for a in answers]) == [[], uids]
    assert sorted([sorted(a["duplicates"]) for a in answers]) == [[], uids]
    conn = central_db.conn()
    assert conn.query("SELECT COUNT(*) AS n FROM events")[0]["n"] == 20
    assert conn.query("SELECT events_received FROM centres WHERE code = ?",
                      (CENTRE,))[0]["events_received"] == 20
    total = aggregates.read(central_db, DAY, DAY)[(CENTRE, "")].figures()
    assert total["issued"] == 10 and total["waits"] == 10
