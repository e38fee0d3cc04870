"""The indicators against values computed by hand on one small day that has everything:
a preferential call, a recall, a no-show later reactivated and served, one that stays, a
cancellation, a transfer after starting, a two-step visit, a pause, a category change, a
ticket left waiting until closing (expired), ratings, a dated ANS and an hour boundary.

The day (Lima time; t in minutes after 09:30; módulos 1 and 2 serve queue A of entity E1,
módulo 3 serves queue B of entity E2):

    t=0   módulos 1 (a1), 2 (a2), 3 (b1) open
    t=0   T1 issued, service 1 (A), normal, kiosk
    t=0   T2 issued, service 1 (A), gestante, reception
    t=1   T3 issued, service 3 (B), normal, kiosk, visit then service 1 (A)
    t=2   M1 calls T2 (wait 120 s); M2 calls T1 (wait 120 s)
    t=3   M1 starts T2; M2 recalls T1
    t=4   M3 calls T3 (wait 180 s)
    t=5   M2: T1 no-show; M3 starts T3
    t=6   T4 issued, service 2 (A), normal; T5 issued, service 1 (A), normal
    t=7   M1 finishes T2 (attention 240 s)
    t=8   T5 cancelled; M2 paused (break); T2 rated 4
    t=9   M1 calls T4 (wait 180 s)
    t=10  M1 starts T4
    t=12  M1 transfers T4 to service 3 (B) (attention 120 s)
    t=17  M3 finishes T3 (attention 720 s): T3 moves on to service 1 (A)
    t=18  M1 calls T3 step 2 (wait 60 s); M3 calls T4 step 2 (wait 360 s)
    t=19  M1 starts T3; M3 starts T4
    t=20  M2 resumes
    t=21  T6 issued, service 1 (A), normal
    t=22  T1 reactivated; T6 changed to adulto_mayor
    t=23  M2 calls T1 by name (its wait stays 120 s: the first call counts)
    t=24  M1 finishes T3 (attention 300 s); M2 starts T1
    t=25  T3 rated 5
    t=26  M2 finishes T1 (attention 120 s)
    t=27  T7 issued, service 1 (A), normal
    t=28  M1 calls T7 by name (wait 60 s)
    t=29  M1: T7 no-show (and it stays one)
    t=30  M3 finishes T4 (attention 660 s) at 10:00
    t=40  the day closes: T6 expires

ANS: queue A waits 2 min and attends 4 min; service 2 has its own dated ANS of 2 and 10 min
(and an expired one of 100 and 100 min that must be ignored); queue B 15 and 11 min.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from appliance.runtime import open_store
from config import load_settings
from turnero import calls, day, floor, reports, tickets
from turnero.clock import ManualClock
from turnero.store import Store

START = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)  # 09:30 in Lima
DAY = date(2026, 11, 27)

CENTRE = {
    "centre": {"code": "fixture", "name": "MAC Fixture"},
    "entities": [{"code": "E1", "name": "Entidad uno", "short_name": "Uno"},
                 {"code": "E2", "name": "Entidad dos", "short_name": "Dos"}],
    "queues": [{"code": "A", "entity": "E1", "prefix": "A", "name": "Cola A",
                "max_wait_minutes": 2, "max_attention_minutes": 4},
               {"code": "B", "entity": "E2", "prefix": "B", "name": "Cola B",
                "max_wait_minutes": 15, "max_attention_minutes": 11}],
    "services": [{"id": 1, "queue": "A", "name": "Trámite uno"},
                 {"id": 2, "queue": "A", "name": "Trámite dos"},
                 {"id": 3, "queue": "B", "name": "Trámite tres"}],
    "counters": [{"number": 1, "entity": "E1", "queues": ["A"]},
                 {"number": 2, "entity": "E1", "queues": ["A"]},
                 {"number": 3, "entity": "E2", "queues": ["B"]}],
    "ans": [{"queue": "A", "service": 2, "max_wait_minutes": 2, "max_attention_minutes": 10,
             "valid_from": "2026-11-01"},
            {"queue": "A", "service": 2, "max_wait_minutes": 100,
             "max_attention_minutes": 100, "valid_from": "2026-01-01",
             "valid_to": "2026-10-31"}],
}


def play_day(store: Store, clock: ManualClock) -> None:
    at = {}

    def to(minute: int) -> None:
        clock.set(START + timedelta(minutes=minute))

    def issue(name: str, service: int, priority: str = "normal", channel: str = "kiosk",
              visit: list[int] | None = None) -> None:
        at[name] = tickets.issue_ticket(store, service_id=service, priority=priority,
                                        channel=channel, visit=visit or [])[0]["uid"]

    day.open_day(store, actor="sup")
    for counter, agent in ((1, "a1"), (2, "a2"), (3, "b1")):
        floor.change_counter(store, counter, "open", actor=agent)
    issue("T1", 1)
    issue("T2", 1, "gestante", "reception")
    to(1)
    issue("T3", 3, visit=[1])
    to(2)
    calls.call_next(store, 1, actor="a1")
    calls.call_next(store, 2, actor="a2")
    to(3)
    calls.start(store, 1, actor="a1")
    calls.recall(store, 2, actor="a2")
    to(4)
    calls.call_next(store, 3, actor="b1")
    to(5)
    calls.no_show(store, 2, actor="a2")
    calls.start(store, 3, actor="b1")
    to(6)
    issue("T4", 2)
    issue("T5", 1)
    to(7)
    calls.finish(store, 1, actor="a1")
    to(8)
    tickets.cancel(store, at["T5"], reason="left_centre", actor="recep")
    floor.change_counter(store, 2, "pause", actor="a2", reason="break")
    tickets.rate(store, at["T2"], 4)
    to(9)
    assert calls.call_next(store, 1, actor="a1")["uid"] == at["T4"]
    to(10)
    calls.start(store, 1, actor="a1")
    to(12)
    calls.transfer_current(store, 1, service_id=3, actor="a1")
    to(17)
    calls.finish(store, 3, actor="b1")
    to(18)
    assert calls.call_next(store, 1, actor="a1")["uid"] == at["T3"]
    assert calls.call_next(store, 3, actor="b1")["uid"] == at["T4"]
    to(19)
    calls.start(store, 1, actor="a1")
    calls.start(store, 3, actor="b1")
    to(20)
    floor.change_counter(store, 2, "resume", actor="a2")
    to(21)
    issue("T6", 1)
    to(22)
    tickets.reactivate(store, at["T1"], actor="recep")
    tickets.set_priority(store, at["T6"], "adulto_mayor", actor="recep")
    to(23)
    # T6 became preferential a minute ago: calling T1 past it needs a reason.
    calls.call_ticket(store, 2, at["T1"], actor="a2", reason="preferential_absent")
    to(24)
    calls.finish(store, 1, actor="a1")
    calls.start(store, 2, actor="a2")
    to(25)
    tickets.rate(store, at["T3"], 5)
    to(26)
    calls.finish(store, 2, actor="a2")
    to(27)
    issue("T7", 1)
    to(28)
    calls.call_ticket(store, 1, at["T7"], actor="a1", reason="supervisor_order")
    to(29)
    calls.no_show(store, 1, actor="a1")
    to(30)
    calls.finish(store, 3, actor="b1")
    to(40)
    day.close_day(store, actor="sup")


@pytest.fixture
def played(tmp_path: Path) -> Iterator[Store]:
    clock = ManualClock(START)
    store = open_store(load_settings(data=CENTRE, environ={}), tmp_path, clock=clock)
    play_day(store, clock)
    clock.set(datetime(2026, 11, 28, 14, 0, tzinfo=UTC))  # the next morning: a closed day
    yield store
    store.close()


def rows_by_key(report: dict) -> dict:
    return {r["key"]: r for r in report["rows"]}


def test_counts_per_entity_follow_each_attention_to_its_end(played: Store) -> None:
    e = rows_by_key(reports.build_report(played, DAY, DAY, "entity"))
    assert {k: (r["issued"], r["entered"], r["served"], r["no_show"], r["cancelled"],
                r["expired"], r["transferred"], r["in_progress"]) for k, r in e.items()} == {
        # A: T1 (no-show, reactivated, served), T2, T3 step 2, T4 (transferred), T5, T6, T7
        "E1": (6, 7, 3, 1, 1, 1, 1, 0),
        # B: T3 step 1 and T4 step 2, both served; only T3 was issued here
        "E2": (1, 2, 2, 0, 0, 0, 0, 0)}
    assert [r["label"] for r in e.values()] == ["Uno", "Dos"]


def test_waiting_times_count_from_entering_the_queue_to_the_first_call(played: Store) -> None:
    e = rows_by_key(reports.build_report(played, DAY, DAY, "entity"))
    # E1 waits: T3 step 2 60, T7 60, T1 120, T2 120, T4 180 seconds
    assert e["E1"]["wait"] == {"count": 5, "mean": 108.0, "median": 120.0, "p90": 156.0,
                               "max": 180.0}
    # E2 waits: T3 180, T4 step 2 360
    assert e["E2"]["wait"] == {"count": 2, "mean": 270.0, "median": 270.0, "p90": 342.0,
                               "max": 360.0}
    assert e["E1"]["wait_preferential"] == {"count": 1, "mean": 120.0, "median": 120.0,
                                            "p90": 120.0}
    assert e["E1"]["wait_normal"] == {"count": 4, "mean": 105.0, "median": 90.0,
                                      "p90": 162.0}


def test_attention_times_run_from_start_to_end_including_a_transfer_out(played: Store) -> None:
    e = rows_by_key(reports.build_report(played, DAY, DAY, "entity"))
    # E1: T1 120, T4 120 (started, then transferred), T2 240, T3 step 2 300
    assert e["E1"]["attention"] == {"count": 4, "mean": 195.0, "median": 180.0,
                                    "p90": 282.0, "max": 300.0}
    assert e["E2"]["attention"] == {"count": 2, "mean": 690.0, "median": 690.0,
                                    "p90": 714.0, "max": 720.0}


def test_ans_shares_use_the_dated_target_valid_that_day(played: Store) -> None:
    e = rows_by_key(reports.build_report(played, DAY, DAY, "entity"))
    # E1 waits within 120 s except T4 (service 2's own ANS: 2 min): 4 of 5
    assert e["E1"]["within_wait_target"] == 0.8
    # E1 attentions within 240 s except T3 step 2 (300 s); T4 has 10 min: 3 of 4
    assert e["E1"]["within_attention_target"] == 0.75
    assert e["E2"]["within_wait_target"] == 1.0
    # E2 attentions within 660 s: T4 exactly at the target counts, T3 (720 s) does not
    assert e["E2"]["within_attention_target"] == 0.5


def test_a_rating_counts_for_the_last_served_step_of_its_ticket(played: Store) -> None:
    e = rows_by_key(reports.build_report(played, DAY, DAY, "entity"))
    assert e["E1"]["satisfaction"] == {"count": 2, "mean": 4.5, "distribution": {
        "1": 0, "2": 0, "3": 0, "4": 1, "5": 1}}
    assert e["E2"]["satisfaction"]["count"] == 0


def test_asesor_time_splits_serving_calling_idle_and_paused(played: Store) -> None:
    a = rows_by_key(reports.build_report(played, DAY, DAY, "agent"))
    assert a["a1"]["desk"] == {"serving": 660.0, "calling": 240.0, "idle": 1500.0,
                               "paused": {"break": 0.0, "training": 0.0, "it_support": 0.0,
                                          "entity_system_down": 0.0, "other": 0.0},
                               "paused_total": 0.0, "open": 2400.0}
    assert a["a2"]["desk"]["serving"] == 120.0
    assert a["a2"]["desk"]["calling"] == 240.0
    assert a["a2"]["desk"]["idle"] == 1320.0
    assert a["a2"]["desk"]["paused"]["break"] == 720.0
    assert (a["b1"]["desk"]["serving"], a["b1"]["desk"]["calling"],
            a["b1"]["desk"]["idle"]) == (1380.0, 120.0, 900.0)
    e = rows_by_key(reports.build_report(played, DAY, DAY, "entity"))
    assert e["E1"]["desk"]["paused_total"] == 720.0
    assert e["E1"]["desk"]["open"] == 2400.0 + 1680.0


def test_hour_of_day_groups_arrivals_by_entry_and_splits_desk_time(played: Store) -> None:
    report = reports.build_report(played, DAY, DAY, "hour")
    h = rows_by_key(report)
    assert set(h) == {9, 10}
    assert h[9]["entered"] == 9 and h[10]["entered"] == 0
    # 10:00-10:10: every módulo idle (M3 finished T4 at 10:00 sharp)
    assert h[10]["desk"]["idle"] == 3 * 600.0 and h[10]["desk"]["serving"] == 0.0
    assert h[9]["label"] == "09:00–09:59"
    assert report["charts"]["by_hour"] == [{"hour": 9, "arrivals": 7, "served": 4},
                                           {"hour": 10, "arrivals": 0, "served": 1}]


def test_priority_and_channel_groups_use_the_final_category(played: Store) -> None:
    p = rows_by_key(reports.build_report(played, DAY, DAY, "priority"))
    assert {k: r["entered"] for k, r in p.items()} == {"normal": 7, "gestante": 1,
                                                       "adulto_mayor": 1}
    assert p["adulto_mayor"]["expired"] == 1
    c = rows_by_key(reports.build_report(played, DAY, DAY, "channel"))
    assert {k: r["issued"] for k, r in c.items()} == {"kiosk": 6, "reception": 1}
    assert c["reception"]["label"] == "Orientador"


def test_counter_and_service_groups_name_their_rows(played: Store) -> None:
    m = rows_by_key(reports.build_report(played, DAY, DAY, "counter"))
    assert m[-1]["label"] == "(sin módulo)"  # T5 and T6, never called
    assert (m[-1]["entered"], m[1]["served"], m[2]["served"], m[3]["served"]) == (2, 2, 1, 2)
    assert m[1]["no_show"] == 1
    s = rows_by_key(reports.build_report(played, DAY, DAY, "service"))
    assert s[2]["label"] == "Trámite dos" and s[2]["transferred"] == 1


def test_the_total_row_and_the_charts_cover_the_whole_day(played: Store) -> None:
    report = reports.build_report(played, DAY, DAY, "queue")
    total = report["total"]
    assert (total["issued"], total["entered"], total["served"]) == (7, 9, 5)
    assert total["wait"]["count"] == 7 and total["wait"]["max"] == 360.0
    assert total["satisfaction"]["mean"] == 4.5
    assert report["charts"]["wait_distribution"][0] == {"from_minutes": 0, "to_minutes": 5,
                                                        "count": 6}
    assert report["charts"]["wait_distribution"][1]["count"] == 1  # T4 step 2: 6 minutes
    assert [(a["entity"], a["within_wait_target"]) for a in
            report["charts"]["ans_by_entity"]] == [("E1", 0.8), ("E2", 1.0)]


@pytest.mark.parametrize("group", [None, *reports.GROUPS])
def test_recomputing_from_the_event_log_gives_the_same_report(played: Store,
                                                              group: str | None) -> None:
    from_tables = reports.build_report(played, DAY, DAY, group)
    from_events = reports.recompute_from_events(played, DAY, DAY, group)
    assert from_events == from_tables


def test_a_closed_day_is_frozen_once_and_a_late_rating_refreshes_it(played: Store) -> None:
    first = reports.build_report(played, DAY, DAY, "entity")
    conn = played.reader()
    assert conn.execute("SELECT COUNT(*) FROM report_days").fetchone()[0] == 1
    assert reports.build_report(played, DAY, DAY, "entity") == first
    t4 = conn.execute("SELECT uid FROM tickets WHERE label = 'A-003'").fetchone()
    assert t4 is not None
    tickets.rate(played, t4[0], 2)
    assert conn.execute("SELECT COUNT(*) FROM report_days").fetchone()[0] == 0
    e = rows_by_key(reports.build_report(played, DAY, DAY, "entity"))
    assert e["E2"]["satisfaction"]["count"] == 1  # T4's last served step is in queue B
    assert e["E1"]["satisfaction"] == first["rows"][0]["satisfaction"]


def test_a_live_day_counts_open_tickets_as_in_progress(tmp_path: Path) -> None:
    clock = ManualClock(START)
    store = open_store(load_settings(data=CENTRE, environ={}), tmp_path, clock=clock)
    try:
        day.open_day(store, actor="sup")
        tickets.issue_ticket(store, service_id=1)
        report = reports.build_report(store, DAY, DAY, None)
        assert report["rows"][0]["in_progress"] == 1
        assert report["rows"][0]["wait"]["count"] == 0
        assert report["rows"][0]["wait"]["mean"] is None
    finally:
        store.close()


def test_a_period_is_a_day_a_monday_to_sunday_week_or_a_calendar_month() -> None:
    assert reports.period_range("week", date(2026, 11, 27)) == (date(2026, 11, 23),
                                                                date(2026, 11, 29))
    assert reports.period_range("month", date(2024, 2, 10)) == (date(2024, 2, 1),
                                                                date(2024, 2, 29))
    assert reports.period_range("day", DAY) == (DAY, DAY)


def test_a_period_without_any_service_day_gives_empty_groups_and_a_zero_total(
        played: Store) -> None:
    report = reports.build_report(played, date(2025, 1, 1), date(2025, 1, 31), "entity")
    assert report["rows"] == [] and report["days"] == []
    assert report["total"]["issued"] == 0 and report["total"]["wait"]["mean"] is None
    assert report["charts"]["by_hour"] == []


@pytest.mark.parametrize("group", reports.GROUPS)
def test_rows_come_sorted_by_key_whatever_order_the_keys_were_met_in(played: Store,
                                                                     group: str) -> None:
    keys = [r["key"] for r in reports.build_report(played, DAY, DAY, group)["rows"]]
    assert keys == sorted(keys) and len(keys) >= 2
