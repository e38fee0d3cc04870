"""A box with a wrong clock: the day does not open on a clock the central contradicts, and a
clock that ran ahead and was put right brings the box back to the real time (when the
central or a supervisor vouches for it), closing the jornada it had opened in the future."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType

import pytest
from flask import Flask

from appliance.runtime import open_store
from config import Settings
from turnero import clock_trust, day, messages, tickets
from turnero.clock import ManualClock, from_iso
from turnero.errors import Conflict
from turnero.store import Store

AHEAD = timedelta(days=4 * 365)  # a battery-less clock set 4 years ahead


def _open_days(store: Store) -> list[str]:
    return [r[0] for r in store.reader().execute(
        "SELECT day FROM days WHERE closed_at IS NULL ORDER BY day")]


def _last_event(store: Store) -> dict:
    row = store.reader().execute("SELECT kind, at, payload FROM events ORDER BY seq DESC "
                                 "LIMIT 1").fetchone()
    return dict(row)


def _a_day_in_the_future(store: Store, clock: ManualClock) -> datetime:
    """The clock jumps 4 years ahead; the box opens that day and issues a ticket in it;
    then the clock is put right. Returns the real time."""
    real = clock.now() + timedelta(days=1)
    clock.set(real + AHEAD)
    day.open_day(store, actor="supervisor")
    tickets.issue_ticket(store, service_id=76, actor="orientador")
    clock.set(real)
    return real


def test_a_day_does_not_open_on_a_clock_the_central_contradicts(
        store: Store, clock: ManualClock) -> None:
    real = clock.now()
    clock.set(real + AHEAD)
    store.time_witness = lambda: real
    with pytest.raises(Conflict) as refused:
        day.open_day(store, actor="supervisor")
    assert refused.value.code == "clock_disagrees" and "sede central" in refused.value.message
    assert _open_days(store) == []
    assert clock_trust.state(store)["status"] == "warning"


def test_a_clock_within_the_bound_of_the_central_opens_the_day(
        store: Store, clock: ManualClock) -> None:
    store.time_witness = lambda: clock.now() + clock_trust.MAX_SKEW - timedelta(seconds=5)
    assert day.open_day(store, actor="supervisor")["open"] is True
    assert clock_trust.state(store)["status"] == "ok"


def test_after_the_clock_is_put_right_the_central_brings_the_box_back_to_real_time(
        store: Store, clock: ManualClock) -> None:
    real = _a_day_in_the_future(store, clock)
    future_day = _open_days(store)[0]
    assert store.now() > real + AHEAD - timedelta(minutes=1)  # stuck in the log's future
    assert clock_trust.state(store)["status"] == "warning"
    store.time_witness = lambda: clock.now()  # the central agrees with the clock now

    opened = day.open_day(store, actor="supervisor")

    assert opened["date"] == store.service_day(real) and _open_days(store) == [opened["date"]]
    closed = store.reader().execute("SELECT closed_at FROM days WHERE day = ?",
                                    (future_day,)).fetchone()[0]
    assert closed is not None
    kinds = [r[0] for r in store.reader().execute("SELECT kind FROM events ORDER BY seq")]
    assert "clock.corrected" in kinds and kinds[-1] == "day.opened"
    issued, _ = tickets.issue_ticket(store, service_id=76, actor="orientador")
    assert abs(from_iso(_last_event(store)["at"]) - clock.now()) < timedelta(seconds=1)
    assert issued["label"].endswith("001")  # today's numbering, not the future day's
    assert clock_trust.state(store)["status"] == "ok"


def test_without_the_central_a_supervisor_confirms_the_clock_to_come_back(
        store: Store, clock: ManualClock) -> None:
    real = _a_day_in_the_future(store, clock)
    with pytest.raises(Conflict) as refused:
        day.open_day(store, actor="supervisor")
    assert refused.value.code == "clock_behind_log"
    assert day.open_day(store, actor="supervisor", clock_confirmed=True)["date"] == \
        store.service_day(real)
    corrected = [r for r in store.reader().execute(
        "SELECT payload FROM events WHERE kind = 'clock.corrected'")]
    assert len(corrected) == 1 and '"by": "staff"' in corrected[0][0]


def test_the_supervisor_confirms_the_clock_over_http_and_sees_the_alert_before(
        app: Flask, login, store: Store, clock: ManualClock) -> None:
    _a_day_in_the_future(store, clock)
    supervisor = login("supervisor")
    alerts = supervisor.client.get("/api/v1/floor").get_json()["alerts"]
    assert any(a["kind"] == "clock" for a in alerts)
    refused = supervisor.post("/api/v1/day/open", {})
    assert refused.status_code == 409 and refused.get_json()["error"] == "clock_behind_log"
    wrong = supervisor.post("/api/v1/day/open", {"clock_confirmed": "yes"})
    assert wrong.status_code == 400
    done = supervisor.post("/api/v1/day/open", {"clock_confirmed": True})
    assert done.status_code == 200, done.get_json()
    health = supervisor.client.get("/api/v1/health").get_json()["components"]["clock"]
    assert health["status"] == "ok"


def test_a_restart_after_the_clock_was_put_right_stays_at_the_real_time(
        store: Store, clock: ManualClock, settings: Settings, tmp_path: Path) -> None:
    _a_day_in_the_future(store, clock)
    store.time_witness = lambda: clock.now()
    day.open_day(store, actor="supervisor")
    store.close()

    reopened = open_store(settings, tmp_path, clock=clock)
    try:
        assert reopened.now() == clock.now()  # not the future events still in the log
        assert reopened.log_ahead() == timedelta()
        assert clock_trust.state(reopened)["status"] == "ok"
        issued, _ = tickets.issue_ticket(reopened, service_id=76, actor="orientador")
        assert issued["label"].endswith("001")  # in today's jornada, not the future one
    finally:
        reopened.close()


def test_a_refused_opening_records_no_correction_and_keeps_the_log_time(
        store: Store, clock: ManualClock) -> None:
    real = clock.now()
    day.open_day(store, actor="supervisor")
    clock.set(real + timedelta(hours=2))  # ahead, but the same date: today's day is open
    tickets.issue_ticket(store, service_id=76, actor="orientador")
    clock.set(real)
    before = _last_event(store)

    with pytest.raises(Conflict) as refused:
        day.open_day(store, actor="supervisor", clock_confirmed=True)

    assert refused.value.code == "day_already_open"
    assert _last_event(store) == before
    assert store.reader().execute(
        "SELECT COUNT(*) FROM events WHERE kind = 'clock.corrected'").fetchone()[0] == 0
    assert store.now() == real + timedelta(hours=2)  # still the log's time: nothing changed
    assert store.log_ahead() == timedelta(hours=2)


class _LetOthersWriteOnRelease:
    """The store's write lock; the first time ``owner`` lets go of it, ``meanwhile`` runs in
    another thread (which may take the lock) before ``owner`` goes on."""

    def __init__(self, lock: threading.Lock, meanwhile: Callable[[], object]) -> None:
        self._lock, self._meanwhile = lock, meanwhile
        self.owner: threading.Thread | None = None
        self.ran = False

    def __enter__(self) -> _LetOthersWriteOnRelease:
        self._lock.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._lock.release()
        if threading.current_thread() is self.owner and not self.ran:
            self.ran = True
            other = threading.Thread(target=self._meanwhile)
            other.start()
            other.join(timeout=10)


def test_no_write_gets_between_going_back_to_the_clock_and_recording_it(
        store: Store, clock: ManualClock) -> None:
    real = _a_day_in_the_future(store, clock)
    lock = _LetOthersWriteOnRelease(
        store._lock, lambda: messages.broadcast(store, "Atención", actor="supervisor"))
    lock.owner = threading.current_thread()
    store._lock = lock  # type: ignore[assignment]

    day.open_day(store, actor="supervisor", clock_confirmed=True)

    assert lock.ran
    rows = store.reader().execute("SELECT kind, at FROM events ORDER BY seq").fetchall()
    assert "display.message" in [r["kind"] for r in rows]
    went_back = [r["kind"] for before, r in zip(rows, rows[1:], strict=False)
                 if r["at"] < before["at"]]
    assert went_back == ["clock.corrected"]  # time goes back once, where the log says so
    corrected = [r for r in rows if r["kind"] == "clock.corrected"][0]
    assert abs(from_iso(corrected["at"]) - real) < timedelta(seconds=1)
