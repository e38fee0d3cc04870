"""The central's aggregates, kept up to date as batches arrive, give the same indicators as
computing them from the stored events — however the log is cut into batches, repeated or
resent — so the dashboard can read a year from them (SQLite; PostgreSQL for one log)."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import dataclasses
import json
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.sync_support import CENTRE, SECRET, central_db, pg_kind  # noqa: F401
from sync import pseudonym
from sync.central import aggregates, indicators
from sync.central.db import Database
from sync.central.ingest import add_centre, ingest
from tests import central_oracle
from turnero.outbox import Outgoing

QUEUES = [{"code": "RN", "entity": "RENIEC", "name": "RENIEC", "max_wait_minutes": 20,
           "max_attention_minutes": 30},
          {"code": "BN", "entity": "BN", "name": "Banco", "max_wait_minutes": 0,
           "max_attention_minutes": 30}]
DAYS = ("2026-11-26", "2026-11-27")


def _at(day: str, minute: float) -> str:
    hours, rest = divmod(int(minute * 60), 3600)
    return f"{day}T{13 + hours:02d}:{rest // 60:02d}:{rest % 60:02d}.000000Z"


ENDS = ("ticket.finished", "ticket.no_show", "ticket.cancelled", "ticket.expired",
        "transfer", "next_step")
MULTI_STEP = ("transfer", "next_step")  # visits of two steps: a second queue, a second wait


def ticket_story(ends: tuple[str, ...] = ENDS) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "day": st.sampled_from(DAYS), "queue": st.sampled_from(("RN", "BN")),
        "issued": st.floats(0, 120), "wait": st.floats(0, 90), "end": st.sampled_from(ends),
        "recalled": st.booleans(), "length": st.floats(0, 60),
        "score": st.one_of(st.none(), st.integers(0, 6))})


def _log(stories: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of the stories in time order, numbered and described as a box sends them
    (``pseudonym.describe``): the step, day and queue of a ticket event are in its payload
    only, a move names the step it leaves, only an issue and a call name the entity."""
    timed: list[tuple[str, Outgoing]] = []
    for n, s in enumerate(stories):
        ticket, day, queue = f"t{n}", s["day"], s["queue"]

        def event(kind: str, minute: float, step: int = 1, q: str = queue,
                  day: str = day, ticket: str = ticket, n: int = n, **more: Any) -> None:
            payload = {"label": f"{q}-{n + 1:03d}", "queue": q, "service": 1,
                       "priority": "normal", "preferential": False, "step": step, "day": day,
                       **more}
            at = _at(day, minute)
            timed.append((at, Outgoing(seq=0, uid=uuid.uuid4().hex, kind=kind, at=at,
                                       actor="asesor1", counter=1, ticket=ticket,
                                       payload=json.dumps(payload))))

        def called(minute: float, step: int = 1, q: str = queue) -> None:
            event("ticket.called", minute, step, q, entity="RENIEC" if q == "RN" else "BN",
                  counter_name="Módulo 1", rule="arrival", recalls=0)

        def attended(at: float, step: int = 1, q: str = queue,
                     story: dict[str, Any] = s) -> None:
            event("ticket.started", at, step, q)
            event("ticket.finished", at + story["length"], step, q, outcome="attended")
            if story["score"] is not None:  # 0 and 6 are not ratings: left out
                event("ticket.rated", at + story["length"] + 0.5, step, q,
                      score=story["score"])

        call = s["issued"] + s["wait"]
        event("ticket.issued", s["issued"], channel="kiosk", number=n + 1, visit=[],
              entity="RENIEC" if queue == "RN" else "BN", appointment=False,
              has_document=False)
        if s["end"] in ("ticket.cancelled", "ticket.expired"):
            event(s["end"], call, **({"reason": "left_centre"} if s["end"] ==
                                     "ticket.cancelled" else {"previous": "waiting"}))
            continue
        called(call)
        if s["recalled"]:
            called(call + 1)
        if s["end"] == "transfer":  # a triage error: moved while being attended
            event("ticket.started", call + 1)
            event("ticket.transferred", call + 2, to_queue="BN", to_service=2,
                  position="arrival")
            called(call + 2 + s["wait"] / 2, step=2, q="BN")
            attended(call + 3 + s["wait"] / 2, step=2, q="BN")
        elif s["end"] == "next_step":  # a second trámite, after the first
            attended(call + 1)
            after = call + 2 + s["length"]
            event("ticket.next_step", after, to_queue="RN", to_service=3)
            called(after + s["wait"] / 3, step=2, q="RN")
            attended(after + 1 + s["wait"] / 3, step=2, q="RN")
        elif s["end"] == "ticket.finished":
            attended(call + 1)
        else:
            event(s["end"], call + 5, recalls=0)
    ordered = [e for _, e in sorted(timed, key=lambda x: x[0])]
    return [pseudonym.describe(SECRET, dataclasses.replace(e, seq=seq))
            for seq, e in enumerate(ordered, start=1)]


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
                      "open_attentions", "monthly_figures", "monthly_minutes", "yearly_figures",
                      "yearly_minutes"):
            tx.execute(f"DELETE FROM {table}")


def _open_entries(db: Database) -> list[dict[str, Any]]:
    return db.conn().query("SELECT ticket, step FROM open_entries ORDER BY ticket, step")


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(visit=ticket_story(MULTI_STEP), stories=st.lists(ticket_story(), max_size=24),
       cuts=st.lists(st.integers(0, 200), max_size=4), repeat=st.booleans())
def test_the_aggregates_give_what_the_events_give_however_the_log_is_sent(
        sqlite_db: Database, visit: dict[str, Any], stories: list[dict[str, Any]],
        cuts: list[int], repeat: bool) -> None:
    _clear(sqlite_db)
    _send(sqlite_db, _log([visit, *stories]), cuts, repeat)
    for day_from, day_to in ((DAYS[0], DAYS[1]), (DAYS[1], DAYS[1])):
        assert _figures(aggregates.read(sqlite_db, day_from, day_to)) == _figures(
            central_oracle.compute(sqlite_db, day_from, day_to))
    assert _open_entries(sqlite_db) == []  # every visit was called, cancelled or expired


@pytest.mark.parametrize("pg_kind", ["postgresql"])
def test_on_postgresql_the_aggregates_give_what_the_events_give(
        central_db: Database, pg_kind: str, tmp_path: Path) -> None:
    add_centre(central_db, CENTRE)
    stories = [{"day": DAYS[n % 2], "queue": ("RN", "BN")[n % 3 == 0], "issued": n * 3.7,
                "wait": (n * 7.3) % 60, "end": ("ticket.finished", "ticket.no_show",
                                                "ticket.cancelled", "transfer",
                                                "next_step")[n % 5],
                "recalled": n % 5 == 0, "length": (n * 4.1) % 45, "score": n % 6 or None}
               for n in range(40)]
    _send(central_db, _log(stories), [17, 50], repeat=True)
    expected = _figures(central_oracle.compute(central_db, DAYS[0], DAYS[1]))
    assert _figures(aggregates.read(central_db, DAYS[0], DAYS[1])) == expected
    total = expected[(CENTRE, "")]
    assert total["waits"] > 20 and total["attentions"] > 10 and total["ratings"] > 10
    assert _open_entries(central_db) == []
    assert aggregates.rebuild(central_db) > 0  # made again from the events: the same
    assert _figures(aggregates.read(central_db, DAYS[0], DAYS[1])) == expected


def test_a_central_that_held_events_before_the_aggregates_gets_them_on_its_next_start(
        sqlite_db: Database) -> None:
    from sync.central.cli import _db

    stories = [{"day": DAYS[1], "queue": "RN", "issued": n, "wait": 3 * n,
                "end": "ticket.finished", "recalled": False, "length": 10 + n, "score": 5}
               for n in range(6)]
    _send(sqlite_db, _log(stories), [], repeat=False)
    expected = _figures(central_oracle.compute(sqlite_db, DAYS[1], DAYS[1]))
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


def _story(**changes: Any) -> dict[str, Any]:
    return {"day": DAYS[0], "queue": "RN", "issued": 0, "wait": 20, "end": "ticket.finished",
            "recalled": False, "length": 10, "score": None, **changes}


@pytest.mark.parametrize("end", MULTI_STEP)
def test_a_visit_s_second_step_is_counted_as_it_arrives_as_the_stored_events_count_it(
        sqlite_db: Database, end: str) -> None:
    log = _log([_story(end=end)])
    assert all("step" not in e and "step" in e["payload"] for e in log)  # as a box sends
    _send(sqlite_db, log, [], repeat=False)
    live = _figures(aggregates.read(sqlite_db, DAYS[0], DAYS[0]))
    assert live[(CENTRE, "")]["waits"] == 2  # the first queue's wait and the second's
    assert live == _figures(central_oracle.compute(sqlite_db, DAYS[0], DAYS[0]))
    assert _open_entries(sqlite_db) == []
    aggregates.rebuild(sqlite_db)
    assert _figures(aggregates.read(sqlite_db, DAYS[0], DAYS[0])) == live


@pytest.mark.parametrize("end", ["ticket.cancelled", "ticket.expired"])
def test_a_ticket_that_ends_in_a_later_batch_than_its_issue_leaves_no_open_entry(
        sqlite_db: Database, end: str) -> None:
    log = _log([_story(end=end), _story(end="ticket.finished", issued=1)])
    issued = [n for n, e in enumerate(log) if e["kind"] == "ticket.issued"]
    _send(sqlite_db, log, [issued[-1] + 1], repeat=False)  # the end comes in the next batch
    assert _open_entries(sqlite_db) == []
    assert _figures(aggregates.read(sqlite_db, DAYS[0], DAYS[0])) == _figures(
        central_oracle.compute(sqlite_db, DAYS[0], DAYS[0]))


def test_a_central_whose_filling_of_the_aggregates_died_fills_them_on_its_next_start(
        sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    from sync.central.cli import _db

    _send(sqlite_db, _log([_story(issued=n, wait=2 * n, score=5) for n in range(5)]), [], False)
    expected = _figures(central_oracle.compute(sqlite_db, DAYS[0], DAYS[0]))
    with sqlite_db.transaction() as tx:  # the central as it was before migration 6
        for table in ("daily_figures", "wait_tenths", "open_entries", "open_attentions"):
            tx.execute(f"DROP TABLE {table}")
        tx.execute("ALTER TABLE centres DROP COLUMN events_received")
        tx.execute("DELETE FROM schema_migrations WHERE number = 6")

    def dies(*args: Any) -> None:
        raise RuntimeError("the process died while filling the aggregates")

    with monkeypatch.context() as m:
        m.setattr(aggregates, "add", dies)
        with pytest.raises(SystemExit):
            _db(sqlite_db.url)
    started = _db(sqlite_db.url)  # the next start
    try:
        assert _figures(aggregates.read(started, DAYS[0], DAYS[0])) == expected
        assert expected[(CENTRE, "")]["waits"] == 5
        assert started.conn().query("SELECT events_received FROM centres WHERE code = ?",
                                    (CENTRE,))[0]["events_received"] == 5 * 5
    finally:
        started.close()


MONTH_DAYS = ("2026-10-31", "2026-11-02", "2026-11-15", "2026-11-30", "2026-12-01")


def _by_minute(cells: dict[tuple[str, str], indicators.Cell]) -> None:
    """The waits of ``cells`` as a month keeps them: by whole minute, each at its middle."""
    for cell in cells.values():
        minutes: Counter[int] = Counter()
        for tenth, n in cell.tenths.items():
            minutes[tenth // 10 * 10 + 5] += n
        cell.tenths = minutes


def _whole_months_expected(db: Database, whole: tuple[str, str] = ("2026-11-01", "2026-11-30"),
                           edges: tuple[str, ...] = ("2026-10-31", "2026-12-01"),
                           ) -> dict[tuple[str, str], dict]:
    """What the events give for a range: the ``whole`` months' (or years') waits by minute,
    the ``edges`` days' to the tenth."""
    cells = central_oracle.compute(db, *whole)
    _by_minute(cells)
    for edge in edges:
        for key, cell in central_oracle.compute(db, edge, edge).items():
            cells.setdefault(key, indicators.Cell()).merge(cell)
    return _figures(cells)


def test_a_range_of_whole_months_reads_the_rollups_and_gives_what_the_events_give(
        central_db: Database) -> None:
    """Whole months come from the monthly rollups, the days around them from the daily
    aggregates: the figures are the events' own, but for the median of the whole months'
    waits, which is to the minute (a month keeps its waits by whole minute)."""
    add_centre(central_db, CENTRE)
    stories = [{"day": MONTH_DAYS[n % 5], "queue": ("RN", "BN")[n % 3 == 0],
                "issued": n * 1.9, "wait": (n * 7.3) % 70, "end": ENDS[n % 6],
                "recalled": n % 4 == 0, "length": (n * 4.1) % 45, "score": n % 6 or None}
               for n in range(60)]
    _send(central_db, _log(stories), [23], repeat=True)
    day_from, day_to = MONTH_DAYS[0], MONTH_DAYS[-1]
    exact = _figures(central_oracle.compute(central_db, day_from, day_to))
    expected = _whole_months_expected(central_db)
    assert {k: {**f, "median_wait_minutes": None} for k, f in expected.items()} == {
        k: {**f, "median_wait_minutes": None} for k, f in exact.items()}
    for rebuilt in (False, True):
        if rebuilt:
            aggregates.rebuild(central_db)
        assert _figures(aggregates.read(central_db, day_from, day_to)) == expected
    with central_db.transaction() as tx:  # November is read from its rollup alone
        tx.execute("DELETE FROM daily_figures WHERE substr(day, 1, 7) = ?", ("2026-11",))
    november = aggregates.read(central_db, "2026-11-01", "2026-11-30")[(CENTRE, "")]
    assert november.figures()["issued"] == 36


YEAR_DAYS = ("2025-12-31", "2026-03-10", "2026-07-20", "2026-12-31", "2027-01-01")


def test_a_whole_calendar_year_reads_the_yearly_rollups_and_gives_what_the_events_give(
        central_db: Database) -> None:
    """A calendar year inside the range comes from the yearly rollups (its median to the
    minute), the days around it from the daily aggregates; the rest is the events' own."""
    add_centre(central_db, CENTRE)
    stories = [{"day": YEAR_DAYS[n % 5], "queue": ("RN", "BN")[n % 3 == 0],
                "issued": n * 1.7, "wait": (n * 6.1) % 80, "end": ENDS[n % 6],
                "recalled": n % 4 == 0, "length": (n * 3.7) % 45, "score": n % 6 or None}
               for n in range(60)]
    _send(central_db, _log(stories), [17], repeat=True)
    day_from, day_to = YEAR_DAYS[0], YEAR_DAYS[-1]
    expected = _whole_months_expected(central_db, ("2026-01-01", "2026-12-31"),
                                      ("2025-12-31", "2027-01-01"))
    for rebuilt in (False, True):
        if rebuilt:
            aggregates.rebuild(central_db)
        assert _figures(aggregates.read(central_db, day_from, day_to)) == expected
    with central_db.transaction() as tx:  # 2026 is read from its yearly rollup alone
        for table in ("daily_figures", "monthly_figures"):
            tx.execute(f"DELETE FROM {table}")
    year = aggregates.read(central_db, "2026-01-01", "2026-12-31")[(CENTRE, "")]
    assert year.figures()["issued"] == 36
