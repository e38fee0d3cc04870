"""A centre registered after the upgrade whose box is still of the version before it (its
batches do not say which seq they continue, ``after``): the central still keeps how far it
holds the log while the batches continue it, so the box, once upgraded, is not taken for one
whose central lost part of its log (and does not send its whole log again). A batch of such a
box that does not continue the held log moves nothing: the gap shows once it is upgraded."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import uuid
from typing import Any

from harness.sync_support import CENTRE, central_db, pg_kind  # noqa: F401
from sync.central.db import Database
from sync.central.ingest import add_centre, ingest


def _events(first: int, last: int) -> list[dict[str, Any]]:
    return [{"uid": uuid.uuid4().hex, "seq": seq, "kind": "ticket.issued",
             "at": "2026-11-27T14:00:00.000000Z", "actor": None, "counter": None,
             "ticket": f"t{seq}", "payload": {"queue": "RN", "day": "2026-11-27", "step": 1}}
            for seq in range(first, last + 1)]


def _send(db: Database, events: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return ingest(db, CENTRE, {"centre": CENTRE, "batch_id": uuid.uuid4().hex,
                               "events": events, **extra})


def _centre(db: Database) -> dict[str, Any]:
    return db.conn().query("SELECT held_seq, gap_after, gap_until FROM centres "
                           "WHERE code = ?", (CENTRE,))[0]


def test_an_old_box_s_batches_move_the_held_log_and_once_upgraded_it_sends_on(
        central_db: Database) -> None:
    add_centre(central_db, CENTRE)
    first = _send(central_db, _events(1, 5))  # an old box: no `after`
    assert len(first["accepted"]) == 5 and "held" not in first  # answered as before
    _send(central_db, _events(6, 9))
    _send(central_db, _events(8, 9))  # a repeat, as an old box sends after a lost answer
    assert _centre(central_db)["held_seq"] == 9
    upgraded = _send(central_db, _events(10, 12), after=9)
    assert upgraded["held"] == 12  # not 0: the box need not send its log again
    assert _centre(central_db) == {"held_seq": 12, "gap_after": None, "gap_until": None}


def test_an_old_box_s_batch_that_does_not_continue_the_held_log_moves_nothing(
        central_db: Database) -> None:
    add_centre(central_db, CENTRE)
    _send(central_db, _events(1, 5))
    _send(central_db, _events(40, 45))  # what came between never came here
    assert _centre(central_db)["held_seq"] == 5
    upgraded = _send(central_db, _events(46, 47), after=45)
    assert upgraded["held"] == 5 and _centre(central_db)["gap_until"] == 45  # sent again
