"""The scheduler runs the jornada by the centre's calendar: a simulated week with national
holidays, a closure of the centre and a Saturday, driven by a manual clock that jumps from
one scheduled moment to the next (what APScheduler's triggers would fire), never sleeping."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from appliance.scheduler import Jobs, Scheduler
from appliance.scheduler import start as start_scheduler
from config.demo import demo_settings
from config.loader import load_settings
from config.model import Hours, Schedule, Settings
from turnero import accounts, calls, day, floor, hours, tickets
from turnero.clock import ManualClock
from turnero.errors import Conflict
from turnero.store import Store

LIMA = ZoneInfo("America/Lima")
RN_SERVICE = 76
# Monday 7 December 2026 to Sunday 13 December: Tuesday 8 (Inmaculada Concepción) and
# Wednesday 9 (Batalla de Ayacucho) are national holidays, Friday 11 the centre is closed.
WEEK_START = datetime(2026, 12, 6, 12, 0, tzinfo=LIMA)
WEEK_END = datetime(2026, 12, 14, 0, 0, tzinfo=LIMA)


def lima(*args: int) -> datetime:
    return datetime(*args, tzinfo=LIMA)


def with_schedule(**changes: object) -> Settings:
    base = demo_settings()
    return dataclasses.replace(base, schedule=dataclasses.replace(base.schedule, **changes))


@pytest.fixture
def week(tmp_path: Path) -> Iterator[tuple[Jobs, ManualClock, Store]]:
    settings = with_schedule(closed=["2026-12-11"])
    clock = ManualClock(WEEK_START)
    store = open_store(settings, tmp_path, clock=clock)
    yield Jobs(settings, store), clock, store
    store.close()


# --- the calendar ---------------------------------------------------------------------------

def test_a_national_holiday_uses_the_holiday_hours_with_its_name():
    dh = hours.day_hours(Hours(), date(2026, 12, 8), "America/Lima")
    assert (dh.kind, dh.holiday) == ("holiday", "Inmaculada Concepción")
    assert (dh.opens, dh.closes) == (lima(2026, 12, 8, 9, 0), lima(2026, 12, 8, 13, 30))


def test_a_closure_of_the_centre_wins_over_a_weekday_and_a_holiday():
    schedule = Schedule(closed=["2026-12-08", "2026-12-10"])
    for d in (date(2026, 12, 8), date(2026, 12, 10)):
        dh = hours.day_hours(Hours(), d, "America/Lima", schedule)
        assert dh.kind == "closure" and not dh.is_open


def test_a_centre_holiday_gets_holiday_hours_and_national_holidays_can_be_turned_off():
    own = hours.day_hours(Hours(), date(2026, 12, 10), "America/Lima",
                          Schedule(holidays=["2026-12-10"]))
    assert own.kind == "holiday" and own.closes == lima(2026, 12, 10, 13, 30)
    plain = hours.day_hours(Hours(), date(2026, 12, 8), "America/Lima",
                            Schedule(national_holidays=False))
    assert plain.kind == "weekday" and plain.closes == lima(2026, 12, 8, 18, 30)


def test_closing_time_with_the_schedule_follows_holidays():
    now = lima(2026, 12, 8, 10, 0)
    assert hours.closing_time(Hours(), now, "America/Lima", Schedule()) == \
        lima(2026, 12, 8, 13, 30)
    assert hours.closing_time(Hours(), now, "America/Lima") == lima(2026, 12, 8, 18, 30)


def test_a_schedule_date_that_is_not_a_date_is_a_config_problem(tmp_path: Path):
    from appliance.cli import CHECKS
    with pytest.raises(Exception) as err:
        load_settings(data={"centre": {"code": "x", "name": "X"},
                            "schedule": {"closed": ["2026-13-01"], "holidays": ["mañana"]}},
                      checks=CHECKS)
    text = str(err.value)
    assert "schedule.closed" in text and "2026-13-01" in text and "mañana" in text


# --- a simulated week -----------------------------------------------------------------------

def run_week(jobs: Jobs, clock: ManualClock, store: Store,
             on_open: object = None) -> list[tuple[str, datetime, dict]]:
    """Jump the clock to each next fire time of the real triggers and run that job."""
    triggers = Scheduler(jobs).triggers()
    previous: dict[str, datetime | None] = dict.fromkeys(triggers)
    log: list[tuple[str, datetime, dict]] = []
    while True:
        now = clock.now()
        upcoming = {name: t.get_next_fire_time(previous[name], now)
                    for name, t in triggers.items()}
        name, when = min(((n, w) for n, w in upcoming.items() if w is not None),
                         key=lambda item: item[1])
        if when >= WEEK_END:
            return log
        clock.set(when)
        previous[name] = when
        result = jobs.run(name)
        log.append((name, when.astimezone(LIMA), result))
        if name == "open_day" and result.get("action") == "opened" and callable(on_open):
            on_open(store)


def busy_day(store: Store) -> None:
    """Three citizens wait, one is in service, then the clock moves to mid-morning."""
    for _ in range(4):
        tickets.issue_ticket(store, service_id=RN_SERVICE)
    floor.change_counter(store, 1, "open", actor="asesor")
    calls.call_next(store, 1)
    calls.start(store, 1)


def test_a_week_opens_and_closes_on_the_right_days_and_hours_and_expires_what_is_left(week):
    jobs, clock, store = week
    log = run_week(jobs, clock, store, on_open=busy_day)
    opened = [(w.date().isoformat(), w.strftime("%H:%M")) for n, w, r in log
              if n == "open_day" and r.get("action") == "opened"]
    assert opened == [("2026-12-07", "08:15"), ("2026-12-08", "08:45"),
                      ("2026-12-09", "08:45"), ("2026-12-10", "08:15"),
                      ("2026-12-12", "08:45")]
    closed = [(w.date().isoformat(), w.strftime("%H:%M"), r["days"][0]) for n, w, r in log
              if n == "close_day" and r.get("action") == "closed"]
    assert [(d, t) for d, t, _ in closed] == [
        ("2026-12-07", "19:00"), ("2026-12-08", "14:00"), ("2026-12-09", "14:00"),
        ("2026-12-10", "19:00"), ("2026-12-12", "14:00")]
    assert all(c["expired"] == 3 and c["finished"] == 1 for _, _, c in closed)
    stops = [w.strftime("%m-%d %H:%M") for n, w, r in log
             if n == "stop_issuing" and r.get("action") == "stopped"]
    assert stops == ["12-07 18:30", "12-08 13:30", "12-09 13:30", "12-10 18:30", "12-12 13:30"]
    conn = store.reader()
    days = [r[0] for r in conn.execute("SELECT day FROM days ORDER BY day")]
    assert days == ["2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10", "2026-12-12"]
    statuses = {r[0]: r[1] for r in conn.execute(
        "SELECT status, COUNT(*) FROM attentions GROUP BY status")}
    assert statuses == {"expired": 15, "done": 5}
    assert sum(1 for n, _, r in log if n == "backup" and r.get("action") == "backup") == 7
    assert all(rec["status"] == "ok" for rec in jobs.snapshot().values()
               if rec["name"] != "catch_up")


def test_no_ticket_is_issued_from_closing_time_on_except_by_a_supervisor(week):
    jobs, clock, store = week
    clock.set(lima(2026, 12, 8, 9, 0))  # a holiday: closes at 13:30
    jobs.run("open_day")
    closes = hours.closing_time(Hours(), clock.now(), "America/Lima", jobs.settings.schedule)
    tickets.issue_ticket(store, service_id=RN_SERVICE, closes_at=closes)
    clock.set(lima(2026, 12, 8, 13, 30))
    with pytest.raises(Conflict) as err:
        tickets.issue_ticket(store, service_id=RN_SERVICE, channel="reception",
                             closes_at=closes)
    assert err.value.code == "after_hours"
    ticket, _ = tickets.issue_ticket(store, service_id=RN_SERVICE, channel="reception",
                                     closes_at=None)  # a supervisor
    assert ticket["label"] == "RN-002"


def test_a_day_closed_early_by_the_supervisor_is_not_opened_again(week):
    jobs, clock, store = week
    clock.set(lima(2026, 12, 7, 8, 15))
    assert jobs.run("open_day")["action"] == "opened"
    clock.set(lima(2026, 12, 7, 12, 0))
    day.close_day(store, actor="supervisor")
    assert jobs.run("catch_up")["open"]["action"] == "none"
    assert jobs.run("open_day")["action"] == "none"


def test_manual_opening_leaves_the_day_to_the_supervisor_but_still_closes_it(tmp_path):
    settings = with_schedule(open_day="manual")
    clock = ManualClock(lima(2026, 12, 7, 8, 15))
    store = open_store(settings, tmp_path, clock=clock)
    try:
        jobs = Jobs(settings, store)
        assert "supervisor" in jobs.run("open_day")["detail"]
        day.open_day(store, actor="supervisor")
        tickets.issue_ticket(store, service_id=RN_SERVICE)
        clock.set(lima(2026, 12, 7, 19, 0))
        assert jobs.run("close_day")["days"][0]["expired"] == 1
    finally:
        store.close()


def test_a_box_that_was_off_at_closing_closes_the_old_day_and_opens_today_on_start(week):
    jobs, clock, store = week
    clock.set(lima(2026, 12, 7, 10, 0))
    jobs.run("open_day")
    tickets.issue_ticket(store, service_id=RN_SERVICE)
    clock.set(lima(2026, 12, 8, 10, 0))  # power back next morning, a holiday
    result = jobs.run("catch_up")
    assert result["close"]["days"] == [{"date": "2026-12-07", "expired": 1, "finished": 0}]
    assert result["open"] == {"action": "opened", "date": "2026-12-08"}


def test_a_failing_job_is_recorded_with_its_error_and_the_next_run_still_happens(week):
    jobs, clock, store = week
    clock.set(datetime(2026, 12, 7, 13, 15, tzinfo=UTC))
    jobs.settings = dataclasses.replace(
        jobs.settings, schedule=dataclasses.replace(jobs.settings.schedule,
                                                    backup_dir="/proc/no-such-place"))
    assert jobs.run("backup") == {}
    record = jobs.snapshot()["backup"]
    assert record["status"] == "error" and record["error"] and record["last_run"]
    assert jobs.run("open_day")["action"] == "opened"


# --- the running scheduler, health and the API -----------------------------------------------

@pytest.fixture
def live_app(tmp_path: Path, settings: Settings) -> Iterator[tuple[Flask, Store]]:
    clock = ManualClock(datetime(2026, 12, 7, 13, 15, tzinfo=UTC))  # 08:15 on a Monday
    store = open_store(settings, tmp_path, clock=clock)
    app = create_app(settings, store, TESTING=True)
    yield app, store
    for stop in parts.of(app).on_stop:
        stop()
    parts.of(app).printing.stop()
    store.close()


def test_the_running_scheduler_catches_up_and_shows_every_job_in_health_and_the_api(
        live_app, settings):
    app, store = live_app
    sched = start_scheduler(app)
    deadline = time.monotonic() + 30
    while sched.jobs.snapshot()["catch_up"]["status"] == "never" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sched.jobs.snapshot()["catch_up"]["result"]["open"]["action"] == "opened"
    health = app.test_client().get("/api/v1/health").get_json()
    assert health["components"]["scheduler"]["status"] == "ok"
    assert set(health["components"]["scheduler"]["jobs"]) >= {
        "open_day", "stop_issuing", "close_day", "backup", "retention"}
    accounts.create_user(store, "jefa", "supervisor", "482916", security=settings.security)
    client = app.test_client()
    client.post("/api/v1/auth/login", json={"username": "jefa", "password": "482916"})
    body = client.get("/api/v1/scheduler").get_json()
    assert body["running"] and body["status"] == "ok"
    assert all(isinstance(body["jobs"][n]["next_run"], str)
               for n in ("open_day", "stop_issuing", "close_day", "backup", "retention"))
    holiday = next(d for d in body["calendar"] if d["date"] == "2026-12-08")
    assert holiday["kind"] == "holiday" and holiday["opens"].startswith("2026-12-08T09:00")
    sched.stop()
    assert app.test_client().get("/api/v1/health").get_json()[
        "components"]["scheduler"]["status"] == "error"


def test_the_scheduler_api_is_for_supervisors_and_says_disabled_without_a_scheduler(
        app, login):
    assert login("orientador").get("/api/v1/scheduler").status_code == 403
    body = login("supervisor").get("/api/v1/scheduler").get_json()
    assert body["status"] == "disabled" and body["jobs"] == {} and len(body["calendar"]) == 14
