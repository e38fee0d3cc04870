"""The central's aggregates, kept up to date as batches arrive, give the same indicators as
computing them from the stored events — however the log is cut into batches, repeated or
resent — so the dashboard can read a year from them (SQLite; PostgreSQL for one log)."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.sync_support import CENTRE, central_db, pg, pg_kind  # noqa: F401
from sync.central import aggregates, indicators
from sync.central.db import Database
from sync.central.ingest import add_centre, ingest

QUEUES = [{"code": "RN", "entity": "RENIEC", "name": "RENIEC", "max_wait_minutes": 20,
           "max_attention_minutes": 30},
          {"code": "BN", "entity": "BN", "name": "Banco", "max_wait_minutes": 0,
           "max_attention_minutes": 30}]
DAYS = ("2026-11-26", "2026-11-27")


def _at(day: str, minute: float) -> str:
    hours, rest = divmod(int(minute * 60), 3600)
    return f"{day}T{13 + hours:02d}:{rest // 60:02d}:{rest % 60:02d}.000000Z"


ticket_story = st.fixed_dictionaries({
    "day": st.sampled_from(DAYS), "queue": st.sampled_from(("RN", "BN")),
    "issued": st.floats(0, 120), "wait": st.floats(0, 90),
    "end": st.sampled_from(("ticket.finished", "ticket.no_show", "ticket.cancelled",
                            "ticket.expired", "transfer")),
    "recalled": st.booleans(), "length": st.floats(0, 60),
    "score": st.one_of(st.none(), st.integers(0, 6))})


def _log(stories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the stories in time order, numbered as a box numbers its log."""
    timed: list[tuple[str, dict[str, Any]]] = []
    for n, s in enumerate(stories):
        ticket, day, queue = f"t{n}", s["day"], s["queue"]
        entity = "RENIEC" if queue == "RN" else "BN"

        def event(kind: str, minute: float, step: int = 1, q: str = queue,
                  e: str = entity, day: str = day, ticket: str = ticket,
                  **more: Any) -> None:
            timed.append((_at(day, minute), {
                "uid": uuid.uuid4().hex, "kind": kind, "at": _at(day, minute),
                "actor": None, "counter": 1, "ticket": ticket, "step": step,
                "payload": {"queue": q, "entity": e, "day": day, "step": step, **more}}))

        def attended(at: float, step: int = 1, q: str = queue, e: str = entity,
                     story: dict[str, Any] = s) -> None:
            event("ticket.started", at, step, q, e)
            event("ticket.finished", at + story["length"], step, q, e)
            if story["score"] is not None:  # 0 and 6 are not ratings: left out
                event("ticket.rated", at + story["length"] + 0.5, step, q, e,
                      score=story["score"])

        called = s["issued"] + s["wait"]
        event("ticket.issued", s["issued"])
        if s["end"] in ("ticket.cancelled", "ticket.expired"):
            event(s["end"], called)
            continue
        event("ticket.called", called)
        if s["recalled"]:
            event("ticket.called", called + 1)
        if s["end"] == "transfer":
            event("ticket.started", called + 1)
            event("ticket.transferred", called + 2)
            event("ticket.called", called + 2 + s["wait"] / 2, step=2, q="BN", e="BN")
            attended(called + 3 + s["wait"] / 2, step=2, q="BN", e="BN")
        elif s["end"] == "ticket.finished":
            attended(called + 1)
        else:
            event(s["end"], called + 5)
    events = [e for _, e in sorted(timed, key=lambda x: x[0])]
    for seq, e in enumerate(events, start=1):
        e["seq"] = seq
    return events


def _send(db: Database, events: list[dict[str, Any]], cuts: list[int], repeat: bool) -> None:
    after, start = 0, 0
    for end in sorted({*cuts, len(events)}):
        part = events[start:end]
        for _ in range(2 if repeat else 1):  # a repeat (a lost answer) adds nothing
            ingest(db, CENTRE, {"centre": CENTRE, "batch_id": uuid.uuid4().hex,
                                "after": after, "queues": QUEUES, "events": part})
        after = part[-1]["seq"] if part else after
        start = end


def _figures(cells: dict[tuple[str, str], indicators.Cell]) -> dict[tuple[str, str], dict]:
    return {key: cell.figures() for key, cell in cells.items()}


@pytest.fixture
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('central')}/central.sqlite")
    db.migrate()
    add_centre(db, CENTRE)
    yield db
    db.close()


def _clear(db: Database) -> None:
    with db.transaction() as tx:
        for table in ("events", "daily_figures", "wait_tenths", "open_entries",
                      "open_attentions"):
            tx.execute(f"DELETE FROM {table}")


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stories=st.lists(ticket_story, min_size=1, max_size=25),
       cuts=st.lists(st.integers(0, 200), max_size=4), repeat=st.booleans())
def test_the_aggregates_give_what_the_events_give_however_the_log_is_sent(
        sqlite_db: Database, stories: list[dict[str, Any]], cuts: list[int],
        repeat: bool) -> None:
    _clear(sqlite_db)
    _send(sqlite_db, _log(stories), cuts, repeat)
    for day_from, day_to in ((DAYS[0], DAYS[1]), (DAYS[1], DAYS[1])):
        assert _figures(aggregates.read(sqlite_db, day_from, day_to)) == _figures(
            indicators.compute(sqlite_db, day_from, day_to))


@pytest.mark.parametrize("pg_kind", ["postgresql"])
def test_on_postgresql_the_aggregates_give_what_the_events_give(
        central_db: Database, pg_kind: str, tmp_path: Path) -> None:
    add_centre(central_db, CENTRE)
    stories = [{"day": DAYS[n % 2], "queue": ("RN", "BN")[n % 3 == 0], "issued": n * 3.7,
                "wait": (n * 7.3) % 60, "end": ("ticket.finished", "ticket.no_show",
                                                "ticket.cancelled", "transfer")[n % 4],
                "recalled": n % 5 == 0, "length": (n * 4.1) % 45, "score": n % 6 or None}
               for n in range(40)]
    _send(central_db, _log(stories), [17, 50], repeat=True)
    expected = _figures(indicators.compute(central_db, DAYS[0], DAYS[1]))
    assert _figures(aggregates.read(central_db, DAYS[0], DAYS[1])) == expected
    total = expected[(CENTRE, "")]
    assert total["waits"] > 20 and total["attentions"] > 10 and total["ratings"] > 10
    assert aggregates.rebuild(central_db) > 0  # made again from the events: the same
    assert _figures(aggregates.read(central_db, DAYS[0], DAYS[1])) == expected


def test_a_central_that_held_events_before_the_aggregates_gets_them_on_its_next_start(
        sqlite_db: Database) -> None:
    from sync.central.cli import _db

    stories = [{"day": DAYS[1], "queue": "RN", "issued": n, "wait": 3 * n,
                "end": "ticket.finished", "recalled": False, "length": 10 + n, "score": 5}
               for n in range(6)]
    _send(sqlite_db, _log(stories), [], repeat=False)
    expected = _figures(indicators.compute(sqlite_db, DAYS[1], DAYS[1]))
    with sqlite_db.transaction() as tx:  # the central as it was before migration 6
        for table in ("daily_figures", "wait_tenths", "open_entries", "open_attentions"):
            tx.execute(f"DROP TABLE {table}")
        tx.execute("ALTER TABLE centres DROP COLUMN events_received")
        tx.execute("DELETE FROM schema_migrations WHERE number = 6")
    started = _db(sqlite_db.url)
    try:
        assert _figures(aggregates.read(started, DAYS[1], DAYS[1])) == expected
        assert expected[(CENTRE, "")]["waits"] == 6
        assert started.conn().query("SELECT events_received FROM centres WHERE code = ?",
                                    (CENTRE,))[0]["events_received"] == 6 * 5  # counted
    finally:
        started.close()
