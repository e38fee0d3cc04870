"""The engine: every ticket transition (docs/design.md), numbering, visits, transfers, the
service day, the clock, and atomicity of each operation with its event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.demo import demo_data
from config.loader import load_settings
from tests.helpers import dump
from turnero import calls, day, floor, tickets, views
from turnero.attention import current_by_uid, payload
from turnero.errors import Conflict, InvalidInput
from turnero.store import Tx

RN_SERVICE, BN_SERVICE, SUNAT_SERVICE = 76, 3, 165


def issue(store, service=RN_SERVICE, **kw):
    ticket, created = tickets.issue_ticket(store, service_id=service, **kw)
    assert created
    return ticket


def open_counter(store, number=1):
    floor.change_counter(store, number, "open", actor="asesor")


def status(store, uid):
    return current_by_uid(store.reader(), uid)["status"]


# --- numbering -----------------------------------------------------------------------------

def test_numbers_run_per_queue_from_one_and_labels_carry_the_prefix(open_store_day):
    labels = [issue(open_store_day)["label"] for _ in range(3)]
    assert labels == ["RN-001", "RN-002", "RN-003"]
    assert issue(open_store_day, BN_SERVICE)["label"] == "BN-001"


def test_the_thousandth_ticket_is_never_truncated(tmp_path, clock):
    data = demo_data()
    next(q for q in data["queues"] if q["code"] == "RN")["number_start"] = 998
    from appliance.runtime import open_store
    store = open_store(load_settings(data=data, environ={}), tmp_path, clock=clock)
    day.open_day(store)
    assert [issue(store)["label"] for _ in range(3)] == ["RN-998", "RN-999", "RN-1000"]
    store.close()


def test_numbering_restarts_each_service_day(open_store_day, clock):
    issue(open_store_day)
    day.close_day(open_store_day)
    clock.advance(days=1)
    day.open_day(open_store_day)
    assert issue(open_store_day)["label"] == "RN-001"


def test_daily_cap_refuses_the_ticket_after_the_last_one(tmp_path, clock):
    data = demo_data()
    next(q for q in data["queues"] if q["code"] == "RN")["daily_cap"] = 2
    from appliance.runtime import open_store
    store = open_store(load_settings(data=data, environ={}), tmp_path, clock=clock)
    day.open_day(store)
    issue(store), issue(store)
    with pytest.raises(Conflict) as err:
        issue(store)
    assert err.value.code == "queue_full"
    store.close()


def test_idempotency_key_returns_the_same_ticket_instead_of_a_second_one(open_store_day):
    first, created = tickets.issue_ticket(open_store_day, service_id=RN_SERVICE,
                                          idempotency_key="k1-abcdefgh")
    again, created_again = tickets.issue_ticket(open_store_day, service_id=RN_SERVICE,
                                                idempotency_key="k1-abcdefgh")
    assert created and not created_again and again["uid"] == first["uid"]
    assert issue(open_store_day)["label"] == "RN-002"


# --- lifecycle -----------------------------------------------------------------------------

def test_waiting_called_serving_done_records_every_step(open_store_day, clock):
    t = issue(open_store_day)
    open_counter(open_store_day)
    assert calls.call_next(open_store_day, 1, actor="ana")["uid"] == t["uid"]
    assert status(open_store_day, t["uid"]) == "called"
    clock.advance(minutes=1)
    calls.start(open_store_day, 1)
    assert status(open_store_day, t["uid"]) == "serving"
    clock.advance(minutes=9)
    done = calls.finish(open_store_day, 1, "attended")
    assert done["status"] == "done" and done["outcome"] == "attended"
    kinds = [h["kind"] for h in views.ticket_by_uid(open_store_day, t["uid"])["history"]]
    assert kinds == ["ticket.issued", "ticket.called", "ticket.started", "ticket.finished"]


def test_recall_counts_each_call_again(open_store_day):
    t = issue(open_store_day)
    open_counter(open_store_day)
    calls.call_next(open_store_day, 1)
    calls.recall(open_store_day, 1)
    assert calls.recall(open_store_day, 1)["recalls"] == 2
    assert status(open_store_day, t["uid"]) == "called"


def test_called_ticket_can_be_marked_no_show_and_reactivated_the_same_day(open_store_day):
    t = issue(open_store_day)
    open_counter(open_store_day)
    calls.call_next(open_store_day, 1)
    assert calls.no_show(open_store_day, 1)["status"] == "no_show"
    assert tickets.reactivate(open_store_day, t["uid"])["status"] == "waiting"
    assert calls.call_next(open_store_day, 1)["uid"] == t["uid"]


def test_waiting_and_called_tickets_can_be_cancelled_and_reactivated(open_store_day):
    a, b = issue(open_store_day), issue(open_store_day)
    assert tickets.cancel(open_store_day, a["uid"], reason="duplicate")["status"] == "cancelled"
    open_counter(open_store_day)
    calls.call_next(open_store_day, 1)
    assert tickets.cancel(open_store_day, b["uid"], reason="left_centre")["status"] == "cancelled"
    assert tickets.reactivate(open_store_day, a["uid"])["status"] == "waiting"
    # the módulo is free again once its called ticket was cancelled
    assert calls.call_next(open_store_day, 1)["uid"] == a["uid"]


def test_a_transferred_ticket_continues_waiting_in_the_other_queue(open_store_day):
    t = issue(open_store_day)
    open_counter(open_store_day)
    calls.call_next(open_store_day, 1)
    moved = calls.transfer_current(open_store_day, 1, service_id=BN_SERVICE)
    assert moved["status"] == "waiting" and moved["queue"] == "BN" and moved["step"] == 2
    assert moved["label"] == t["label"]
    history = views.ticket_by_uid(open_store_day, t["uid"])["history"]
    assert history[-1]["kind"] == "ticket.transferred"
    assert history[-1]["payload"]["to_queue"] == "BN"


def test_priority_change_moves_the_ticket_ahead_and_is_recorded_with_who(open_store_day):
    a, b = issue(open_store_day), issue(open_store_day)
    tickets.set_priority(open_store_day, b["uid"], "adulto_mayor", actor="orientadora")
    open_counter(open_store_day)
    assert calls.call_next(open_store_day, 1)["uid"] == b["uid"]
    last = views.ticket_by_uid(open_store_day, b["uid"])["history"][-2]
    assert last["kind"] == "ticket.priority_changed" and last["actor"] == "orientadora"
    assert a["uid"] != b["uid"]


ILLEGAL = [
    ("start a waiting ticket", "waiting", lambda s, t: calls.start(s, 1)),
    ("finish a called ticket", "called", lambda s, t: calls.finish(s, 1)),
    ("recall a ticket in attention", "serving", lambda s, t: calls.recall(s, 1)),
    ("no-show a ticket in attention", "serving", lambda s, t: calls.no_show(s, 1)),
    ("cancel a ticket in attention", "serving", lambda s, t: tickets.cancel(s, t, reason="other")),
    ("cancel a done ticket", "done", lambda s, t: tickets.cancel(s, t, reason="other")),
    ("reactivate a waiting ticket", "waiting", lambda s, t: tickets.reactivate(s, t)),
    ("reactivate a done ticket", "done", lambda s, t: tickets.reactivate(s, t)),
    ("call a ticket that is already called", "called",
     lambda s, t: calls.call_ticket(s, 2, t)),
    ("change the category of a done ticket", "done",
     lambda s, t: tickets.set_priority(s, t, "gestante")),
    ("transfer a done ticket", "done",
     lambda s, t: tickets.transfer_waiting(s, t, service_id=BN_SERVICE)),
    ("call next while the módulo still has a ticket", "called",
     lambda s, t: calls.call_next(s, 1)),
]


def bring_to(store, state):
    t = issue(store)
    issue(store)
    open_counter(store, 1)
    open_counter(store, 2)
    if state == "waiting":
        return t["uid"]
    calls.call_ticket(store, 1, t["uid"])
    if state == "called":
        return t["uid"]
    calls.start(store, 1)
    if state == "serving":
        return t["uid"]
    calls.finish(store, 1)
    return t["uid"]


@pytest.mark.parametrize("what,state,action", ILLEGAL, ids=[i[0] for i in ILLEGAL])
def test_an_illegal_transition_is_refused_and_changes_nothing(open_store_day, what, state,
                                                              action):
    uid = bring_to(open_store_day, state)
    before = dump(open_store_day)
    with pytest.raises(Conflict):
        action(open_store_day, uid)
    assert dump(open_store_day) == before


# --- visits and transfers ------------------------------------------------------------------

def test_a_visit_moves_on_to_each_next_step_after_finishing(open_store_day):
    t = issue(open_store_day, visit=[BN_SERVICE, SUNAT_SERVICE])
    # módulo 1 serves RENIEC, 6 Banco de la Nación, 10 SUNAT; then the visit is over
    for counter, next_queue in ((1, "BN"), (6, "ST"), (10, None)):
        open_counter(open_store_day, counter)
        assert calls.call_next(open_store_day, counter)["uid"] == t["uid"]
        calls.start(open_store_day, counter)
        after = calls.finish(open_store_day, counter)
        if next_queue is None:
            assert after["status"] == "done" and after["step"] == 3
        else:
            assert after["status"] == "waiting" and after["queue"] == next_queue


def test_a_visit_has_at_most_five_steps(open_store_day):
    with pytest.raises(InvalidInput):
        issue(open_store_day, visit=[3, 4, 5, 6, 7])
    assert issue(open_store_day, visit=[3, 4, 5, 6])["visit"] == [3, 4, 5, 6]


@pytest.mark.parametrize("position,expected_first", [("front", "moved"), ("back", "other"),
                                                     ("arrival", "moved")])
def test_transfer_position_decides_where_the_ticket_joins(open_store_day, clock, position,
                                                          expected_first):
    moved = issue(open_store_day)  # RN, issued first
    clock.advance(minutes=1)
    other = issue(open_store_day, BN_SERVICE)
    clock.advance(minutes=1)
    tickets.transfer_waiting(open_store_day, moved["uid"], service_id=BN_SERVICE,
                             position=position)
    open_counter(open_store_day, 6)
    first = calls.call_next(open_store_day, 6)["uid"]
    assert first == {"moved": moved["uid"], "other": other["uid"]}[expected_first]


# --- day and clock -------------------------------------------------------------------------

def test_closing_the_day_leaves_every_ticket_in_one_terminal_status(open_store_day):
    uids = [issue(open_store_day)["uid"] for _ in range(4)]
    open_counter(open_store_day, 1)
    open_counter(open_store_day, 2)
    calls.call_next(open_store_day, 1)
    calls.start(open_store_day, 1)
    calls.call_next(open_store_day, 2)
    result = day.close_day(open_store_day)
    assert result["expired"] == 3 and result["finished"] == 1
    states = [status(open_store_day, u) for u in uids]
    assert sorted(states) == ["done", "expired", "expired", "expired"]
    with pytest.raises(Conflict):
        issue(open_store_day)


def test_the_day_does_not_open_while_the_clock_is_implausible(store, clock):
    clock.set(datetime(1970, 1, 1, tzinfo=UTC))
    with pytest.raises(Conflict) as err:
        day.open_day(store)
    assert err.value.code == "clock_implausible"
    clock.set(datetime(2026, 11, 27, 14, tzinfo=UTC))
    assert day.open_day(store)["open"]


def test_no_stored_duration_is_negative_when_the_clock_jumps_back(open_store_day, clock):
    t = issue(open_store_day)
    open_counter(open_store_day)
    clock.advance(minutes=5)
    calls.call_next(open_store_day, 1)
    clock.advance(minutes=-60)
    calls.start(open_store_day, 1)
    clock.advance(minutes=-30)
    calls.finish(open_store_day, 1)
    row = current_by_uid(open_store_day.reader(), t["uid"])
    assert row["issued_at"] <= row["called_at"] <= row["started_at"] <= row["ended_at"]
    ats = [e["at"] for e in open_store_day.reader().execute("SELECT at FROM events ORDER BY seq")]
    assert ats == sorted(ats)


def test_a_day_left_open_overnight_is_closed_before_the_next_opens(open_store_day, clock):
    t = issue(open_store_day)
    clock.advance(days=1)
    day.open_day(open_store_day)
    assert status(open_store_day, t["uid"]) == "expired"


# --- atomicity -----------------------------------------------------------------------------

def fail_after_the_event(monkeypatch):
    """Make every operation fail right after it wrote its change and its event row."""
    original = Tx.emit

    def emit_then_fail(self, *args, **kwargs):
        original(self, *args, **kwargs)
        raise RuntimeError("injected")
    monkeypatch.setattr(Tx, "emit", emit_then_fail)


def test_a_failure_inside_issue_leaves_neither_the_ticket_nor_its_event(open_store_day,
                                                                       monkeypatch):
    before = dump(open_store_day)
    sub = open_store_day.bus.subscribe()
    fail_after_the_event(monkeypatch)
    with pytest.raises(RuntimeError):
        issue(open_store_day)
    assert dump(open_store_day) == before
    assert sub.get(timeout=0.05) is None  # nothing was published


def test_a_failure_inside_call_next_leaves_the_ticket_waiting_and_no_event(open_store_day,
                                                                          monkeypatch):
    t = issue(open_store_day)
    open_counter(open_store_day)
    before = dump(open_store_day)
    fail_after_the_event(monkeypatch)
    with pytest.raises(RuntimeError):
        calls.call_next(open_store_day, 1)
    assert dump(open_store_day) == before
    assert status(open_store_day, t["uid"]) == "waiting"


def test_events_reach_the_bus_only_after_commit_and_in_order(open_store_day):
    sub = open_store_day.bus.subscribe()
    issue(open_store_day)
    open_counter(open_store_day)
    calls.call_next(open_store_day, 1)
    seen = [sub.get(timeout=0.1) for _ in range(3)]
    assert [e.kind for e in seen] == ["ticket.issued", "counter.opened", "ticket.called"]
    stored = open_store_day.reader().execute(
        "SELECT seq FROM events WHERE seq >= ? ORDER BY seq", (seen[0].seq,)).fetchall()
    assert [r[0] for r in stored] == [e.seq for e in seen]


def test_store_runs_in_wal_mode_with_full_sync_and_foreign_keys(open_store_day):
    conn = open_store_day.reader()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_estimated_wait_counts_people_ahead_and_open_modulos(open_store_day):
    for _ in range(4):
        issue(open_store_day)
    open_counter(open_store_day, 1)
    open_counter(open_store_day, 2)
    t = issue(open_store_day)
    # 4 ahead, 2 módulos, 15 min default attention
    assert t["ahead"] == 4 and t["estimated_wait_minutes"] == 30
    pref = issue(open_store_day, priority="gestante")
    assert pref["ahead"] == 0 and pref["estimated_wait_minutes"] == 0


def test_appointment_ticket_needs_its_slot(open_store_day, clock):
    with pytest.raises(InvalidInput):
        issue(open_store_day, priority="cita")
    slot = clock.now() + timedelta(minutes=5)
    t = issue(open_store_day, appointment_at=slot)
    assert t["priority"] == "cita"
    assert t["appointment_at"].startswith(slot.strftime("%Y-%m-%dT%H:%M"))


# --- call-next and issue internals ---------------------------------------------------------

def test_the_issued_event_describes_the_stored_ticket(open_store_day):
    sub = open_store_day.bus.subscribe()
    t = issue(open_store_day, priority="gestante", document="12345678")
    event = sub.get(timeout=0.1)
    row = current_by_uid(open_store_day.reader(), t["uid"])
    assert event.payload == payload(row, channel="kiosk", number=1, visit=[], entity="RENIEC",
                                    appointment=False, has_document=True)
    assert list(event.payload)[:7] == list(payload(row))  # same key order on the stream


def test_preferential_streak_limit_lets_a_normal_ticket_through(tmp_path, clock):
    data = demo_data()
    next(q for q in data["queues"] if q["code"] == "RN")["max_preferential_in_row"] = 2
    from appliance.runtime import open_store
    store = open_store(load_settings(data=data, environ={}), tmp_path, clock=clock)
    day.open_day(store)
    normal = issue(store)
    prefs = [issue(store, priority="gestante") for _ in range(3)]
    open_counter(store)
    called, streaks = [], []
    for _ in range(4):
        called.append(calls.call_next(store, 1)["uid"])
        streaks.append(store.reader().execute(
            "SELECT pref_streak FROM queues WHERE code = 'RN'").fetchone()[0])
        calls.no_show(store, 1)
    assert called == [prefs[0]["uid"], prefs[1]["uid"], normal["uid"], prefs[2]["uid"]]
    assert streaks == [1, 2, 0, 1]
    store.close()


@pytest.mark.parametrize("per_statement", [1, 50])
def test_call_next_weighs_the_heads_of_every_queue_however_they_are_read(
        open_store_day, clock, monkeypatch, per_statement):
    monkeypatch.setattr(calls, "HEADS_PER_STATEMENT", per_statement)
    rc_service = open_store_day.reader().execute(
        "SELECT id FROM services WHERE queue = 'RC' AND active").fetchone()[0]
    older_rc = issue(open_store_day, rc_service)
    clock.advance(seconds=1)
    rn = issue(open_store_day)
    open_counter(open_store_day, 1)  # serves RN (weight 2) and RC (weight 1)
    assert calls.call_next(open_store_day, 1)["uid"] == rn["uid"]
    calls.no_show(open_store_day, 1)
    assert calls.call_next(open_store_day, 1)["uid"] == older_rc["uid"]
