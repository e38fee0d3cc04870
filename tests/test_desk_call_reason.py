"""The asesor's desk data: a call by hand that passes a waiting preferential citizen needs a
reason from a fixed list, recorded in the call event; the desk gets the rule that chose the
current ticket, when it entered the queue, and who waits at its módulo (first rows only)."""

from __future__ import annotations

import json

import pytest

from turnero import tickets
from turnero.calls import MANUAL_REASONS
from turnero.desk_waiting import ROWS
from turnero.store import Store

RN = 76


def _modulo(store: Store) -> int:
    return store.reader().execute(
        "SELECT MIN(c.id) FROM counters c JOIN counter_queues cq ON cq.counter = c.id "
        "WHERE c.entity = 'RENIEC' AND cq.queue = 'RN' AND c.active").fetchone()[0]


def _issue(store: Store, priority: str = "normal") -> dict:
    return tickets.issue_ticket(store, service_id=RN, priority=priority,
                                channel="reception")[0]


def _calls(store: Store) -> list[dict]:
    return [json.loads(r[0]) for r in store.reader().execute(
        "SELECT payload FROM events WHERE kind = 'ticket.called' ORDER BY seq")]


@pytest.fixture
def asesor(login, open_store_day: Store):
    """The RENIEC asesor at an open módulo: (client, módulo id)."""
    staff = login("asesor.reniec")
    counter = _modulo(open_store_day)
    assert staff.post(f"/api/v1/counters/{counter}/open").status_code == 200
    return staff, counter


def test_calling_a_normal_ticket_past_a_waiting_preferential_needs_a_reason(
        asesor, open_store_day):
    staff, counter = asesor
    normal = _issue(open_store_day)
    elder = _issue(open_store_day, "adulto_mayor")
    refused = staff.post(f"/api/v1/counters/{counter}/call", {"uid": normal["uid"]})
    assert refused.status_code == 409
    error = refused.get_json()
    assert error["error"] == "reason_required" and error["passed"] == [elder["label"]]
    assert error["reasons"] == list(MANUAL_REASONS)
    assert _calls(open_store_day) == []
    done = staff.post(f"/api/v1/counters/{counter}/call",
                      {"uid": normal["uid"], "reason": "preferential_absent"})
    assert done.status_code == 200 and done.get_json()["rule"] == "manual"
    [event] = _calls(open_store_day)
    assert (event["label"], event["rule"], event["reason"]) == (
        normal["label"], "manual", "preferential_absent")
    assert event["passed"] == [elder["label"]] and "reason_note" not in event


def test_a_reason_outside_the_list_or_other_without_a_note_is_refused(asesor, open_store_day):
    staff, counter = asesor
    normal = _issue(open_store_day)
    _issue(open_store_day, "gestante")
    path = f"/api/v1/counters/{counter}/call"
    bad = staff.post(path, {"uid": normal["uid"], "reason": "because"})
    assert bad.status_code == 400 and bad.get_json()["error"] == "invalid_reason"
    bare = staff.post(path, {"uid": normal["uid"], "reason": "other", "note": "   "})
    assert bare.status_code == 400 and bare.get_json()["error"] == "note_required"
    long = staff.post(path, {"uid": normal["uid"], "reason": "other", "note": "x" * 201})
    assert long.status_code == 400 and long.get_json()["error"] == "note_too_long"
    typed = staff.post(path, {"uid": normal["uid"], "reason": 3})
    assert typed.status_code == 400
    assert _calls(open_store_day) == []
    ok = staff.post(path, {"uid": normal["uid"], "reason": "other",
                           "note": "  Pidió  volver luego "})
    assert ok.status_code == 200
    assert _calls(open_store_day)[0]["reason_note"] == "Pidió volver luego"


def test_no_reason_is_needed_when_no_preferential_citizen_is_passed(asesor, open_store_day):
    staff, counter = asesor
    first, second = _issue(open_store_day), _issue(open_store_day)
    assert staff.post(f"/api/v1/counters/{counter}/call",
                      {"uid": second["uid"]}).status_code == 200
    assert staff.post(f"/api/v1/counters/{counter}/no-show").status_code == 200
    elder, later = _issue(open_store_day, "adulto_mayor"), _issue(open_store_day, "gestante")
    assert staff.post(f"/api/v1/counters/{counter}/call",
                      {"uid": elder["uid"]}).status_code == 200
    assert staff.post(f"/api/v1/counters/{counter}/no-show").status_code == 200
    assert staff.post(f"/api/v1/counters/{counter}/call",
                      {"uid": later["uid"]}).status_code == 200
    assert [("reason" in e, "passed" in e) for e in _calls(open_store_day)] == [
        (False, False)] * 3
    assert first["uid"]  # still waiting, a normal ticket passed by a normal one


def test_a_later_preferential_ticket_passing_an_earlier_one_needs_a_reason(
        asesor, open_store_day):
    staff, counter = asesor
    earlier = _issue(open_store_day, "discapacidad")
    later = _issue(open_store_day, "gestante")
    refused = staff.post(f"/api/v1/counters/{counter}/call", {"uid": later["uid"]})
    assert refused.status_code == 409 and refused.get_json()["passed"] == [earlier["label"]]


def test_the_ticket_the_policy_itself_would_call_needs_no_reason(asesor, open_store_day, clock):
    staff, counter = asesor
    open_store_day.write(lambda tx: tx.execute(
        "UPDATE queues SET max_normal_wait_minutes = 10 WHERE code = 'RN'"))
    normal = _issue(open_store_day)
    clock.advance(minutes=11)
    _issue(open_store_day, "adulto_mayor")
    called = staff.post(f"/api/v1/counters/{counter}/call", {"uid": normal["uid"]})
    assert called.status_code == 200
    assert "reason" not in _calls(open_store_day)[0]


def test_the_current_ticket_says_which_rule_chose_it_and_when_it_entered_the_queue(
        asesor, open_store_day, clock):
    staff, counter = asesor
    _issue(open_store_day)
    elder = _issue(open_store_day, "adulto_mayor")
    clock.advance(minutes=7)
    called = staff.post(f"/api/v1/counters/{counter}/call-next").get_json()
    assert (called["uid"], called["rule"]) == (elder["uid"], "preferential")
    detail = staff.get(f"/api/v1/tickets/{elder['uid']}").get_json()
    assert detail["entered_at"] == elder["issued_at"] and detail["rule"] == "preferential"
    assert detail["called_at"] > detail["entered_at"]


def test_the_waiting_list_shows_preferential_first_and_counts_the_rows_not_shown(
        asesor, open_store_day, clock):
    staff, counter = asesor
    normals = [_issue(open_store_day) for _ in range(ROWS + 4)]
    clock.advance(minutes=5)
    elder = _issue(open_store_day, "adulto_mayor")
    data = staff.get(f"/api/v1/counters/{counter}/waiting").get_json()
    assert (data["total"], data["preferential"], data["more"]) == (ROWS + 5, 1, 5)
    assert len(data["items"]) == ROWS
    first, second = data["items"][:2]
    assert (first["label"], first["preferential"], first["waited_minutes"]) == (
        elder["label"], True, 0)
    assert (second["label"], second["preferential"], second["waited_minutes"]) == (
        normals[0]["label"], False, 5)
    assert second["priority"] == "normal" and second["queue"] == "RN"


def test_an_asesor_of_another_entity_cannot_read_a_modulos_waiting_list(
        login, asesor, open_store_day):
    _, counter = asesor
    other = login("asesor.bn").get(f"/api/v1/counters/{counter}/waiting")
    assert other.status_code == 403
    assert login("supervisor").get("/api/v1/counters/99999/waiting").status_code == 404


def test_a_ticket_just_transferred_in_does_not_pass_a_preferential_as_a_long_wait(
        asesor, login, open_store_day, clock):
    staff, counter = asesor
    open_store_day.write(lambda tx: tx.execute(
        "UPDATE queues SET max_normal_wait_minutes = 10 WHERE code = 'RN'"))
    bn_service = open_store_day.reader().execute(
        "SELECT MIN(id) FROM services WHERE queue = 'BN' AND active").fetchone()[0]
    moved = tickets.issue_ticket(open_store_day, service_id=bn_service,
                                 channel="reception")[0]
    clock.advance(minutes=30)
    elder = _issue(open_store_day, "adulto_mayor")
    assert login("supervisor").post(f"/api/v1/tickets/{moved['uid']}/transfer",
                                    {"queue": "RN"}).status_code == 200
    called = staff.post(f"/api/v1/counters/{counter}/call-next").get_json()
    assert (called["uid"], called["rule"]) == (elder["uid"], "preferential")


def test_the_note_of_a_manual_call_reaches_staff_streams_but_not_the_tvs():
    from appliance.api_stream import _public
    from turnero.store import Event

    called = Event(7, "e7", "ticket.called", "2026-12-07T13:00:00Z", "asesor.reniec", 3, "t1",
                   {"label": "RN-004", "reason": "other", "reason_note": "Pidió volver luego"})
    assert "reason_note" not in _public(called, staff=False)["payload"]
    assert _public(called, staff=False)["payload"]["reason"] == "other"
    assert _public(called, staff=True)["payload"]["reason_note"] == "Pidió volver luego"
    assert called.payload["reason_note"] == "Pidió volver luego"  # the event itself is kept
