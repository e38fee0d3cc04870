"""Citas at the box: kept from the central's pages, checked in by document or booking code
inside their window, called at their slot ahead of walk-ins, and their outcome said when
the jornada closes. The central's side is in tests/test_central_citas.py and the whole
flow in tests/test_citas_flow.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from turnero import calls, citas, day, floor, retention, tickets
from turnero.errors import Conflict, InvalidInput, NotFound

PASSPORT = 93  # queue MG, served by módulos 13-15; takes citas in the demo
RN_SERVICE = 76
TODAY = "2026-11-27"  # the test clock starts at 09:00 in Lima that day
DNI = "12345678"


def cita(code: str, change: int, *, slot: str = "09:10", day_: str = TODAY,
         status: str = "booked", document: str | None = DNI,
         service: int = PASSPORT) -> dict[str, Any]:
    return {"code": code, "service": service, "day": day_, "slot": slot,
            "document_type": "dni", "document": document, "name": "Rosa Quispe",
            "status": status, "change": change}


def events(store, kind: str) -> list[dict[str, Any]]:
    import json
    rows = store.reader().execute("SELECT payload FROM events WHERE kind = ? ORDER BY seq",
                                  (kind,)).fetchall()
    return [json.loads(r["payload"]) for r in rows]


def test_a_page_applied_twice_changes_nothing_and_keeps_the_position(open_store_day):
    page = [cita("AB-1001", 1), cita("AB-1002", 2, slot="10:00")]
    assert citas.apply_changes(open_store_day, page, 2) == 2
    assert citas.apply_changes(open_store_day, page, 2) == 0
    assert citas.cursor(open_store_day.reader()) == 2
    # an older copy of a change never undoes a newer one
    citas.apply_changes(open_store_day, [cita("AB-1001", 3, status="cancelled")], 3)
    citas.apply_changes(open_store_day, [cita("AB-1001", 1)], 3)
    row = open_store_day.reader().execute("SELECT status FROM citas WHERE code = 'AB-1001'"
                                          ).fetchone()
    assert row["status"] == "cancelled"


def test_a_malformed_cita_is_left_out_but_the_page_is_read_past(open_store_day):
    bad = {**cita("AB-2001", 5), "slot": "25:99"}
    assert citas.apply_changes(open_store_day, [bad, cita("AB-2002", 6), "junk"], 6) == 1
    assert citas.cursor(open_store_day.reader()) == 6


def test_check_in_by_document_inside_the_window_issues_an_appointment_ticket(open_store_day):
    citas.apply_changes(open_store_day, [cita("AB-3001", 1, slot="09:10")])
    found = citas.find(open_store_day, document=DNI, document_type="DNI")
    answer, created = citas.check_in(open_store_day, found, actor="kiosk-1")
    assert created and answer["arrival"] == "kept"
    assert answer["ticket"]["label"].startswith("MG-")
    ticket = open_store_day.reader().execute(
        "SELECT t.channel, t.priority, a.slot FROM tickets t JOIN attentions a "
        "ON a.ticket = t.id WHERE t.uid = ?", (answer["ticket"]["uid"],)).fetchone()
    assert ticket["channel"] == "appointment" and ticket["slot"] is not None
    [event] = events(open_store_day, "cita.checked_in")
    assert event["code"] == "AB-3001" and event["arrival"] == "kept"
    assert DNI not in str(event) and "Rosa" not in str(event)


def test_a_second_check_in_returns_the_same_ticket_and_prints_nothing_new(open_store_day):
    citas.apply_changes(open_store_day, [cita("AB-3002", 1)])
    first, created = citas.check_in(open_store_day, citas.find(open_store_day, code="ab-3002"))
    again, created_again = citas.check_in(open_store_day,
                                          citas.find(open_store_day, code="AB-3002"))
    assert created and not created_again
    assert again["ticket"]["uid"] == first["ticket"]["uid"]
    assert len(events(open_store_day, "cita.checked_in")) == 1


def test_a_cita_is_called_at_its_slot_ahead_of_walk_ins_who_came_first(open_store_day,
                                                                       clock):
    store = open_store_day
    walk_ins = [tickets.issue_ticket(store, service_id=PASSPORT)[0] for _ in range(3)]
    citas.apply_changes(store, [cita("AB-4001", 1, slot="09:20")])
    clock.advance(minutes=10)  # 09:10, inside 15 minutes before the slot
    answer, _ = citas.check_in(store, citas.find(store, document=DNI))
    floor.change_counter(store, 13, "open", actor="asesor")
    called = calls.call_next(store, 13, actor="asesor")
    assert called is not None and called["uid"] == answer["ticket"]["uid"]
    assert called["uid"] not in {t["uid"] for t in walk_ins}


def test_after_the_window_the_citizen_gets_a_walk_in_ticket_by_arrival(open_store_day,
                                                                       clock):
    store = open_store_day
    citas.apply_changes(store, [cita("AB-5001", 1, slot="08:30")])  # window ended 08:45
    answer, created = citas.check_in(store, citas.find(store, code="AB-5001"))
    assert created and answer["arrival"] == "late"
    slot = store.reader().execute("SELECT a.slot FROM attentions a JOIN tickets t "
                                  "ON t.id = a.ticket WHERE t.uid = ?",
                                  (answer["ticket"]["uid"],)).fetchone()["slot"]
    assert slot is None


def test_too_early_other_day_cancelled_and_unknown_are_refused_with_their_reason(
        open_store_day):
    store = open_store_day
    citas.apply_changes(store, [cita("AB-6001", 1, slot="11:00"),
                                cita("AB-6002", 2, day_="2026-11-30", document="87654321"),
                                cita("AB-6003", 3, status="cancelled", document="11111111")])
    with pytest.raises(Conflict) as early:
        citas.check_in(store, citas.find(store, code="AB-6001"))
    assert early.value.code == "cita_too_early" and early.value.details["from"] == "10:45"
    with pytest.raises(Conflict) as other:
        citas.check_in(store, citas.find(store, document="87654321"))
    assert other.value.code == "cita_other_day"
    with pytest.raises(Conflict) as cancelled:
        citas.check_in(store, citas.find(store, code="AB-6003"))
    assert cancelled.value.code == "cita_cancelled"
    with pytest.raises(NotFound):
        citas.find(store, code="ZZ-0000")
    with pytest.raises(InvalidInput):
        citas.find(store, document="1234")
    assert store.reader().execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0


def test_closing_the_jornada_says_each_citas_outcome_once(open_store_day, clock):
    store = open_store_day
    citas.apply_changes(store, [cita("AB-7001", 1), cita("AB-7002", 2, document="87654321"),
                                cita("AB-7003", 3, status="cancelled", document="11111111"),
                                cita("AB-7004", 4, document="22222222")])
    served, _ = citas.check_in(store, citas.find(store, code="AB-7001"))
    waiting, _ = citas.check_in(store, citas.find(store, code="AB-7004"))
    floor.change_counter(store, 13, "open", actor="asesor")
    assert calls.call_next(store, 13, actor="asesor")["uid"] == served["ticket"]["uid"]
    calls.start(store, 13, actor="asesor")
    calls.finish(store, 13, actor="asesor")
    day.close_day(store, actor="supervisor")
    outcomes = {e["code"]: e["outcome"] for e in events(store, "cita.outcome")}
    assert outcomes == {"AB-7001": "served", "AB-7002": "missed", "AB-7004": "expired"}
    clock.advance(days=1)
    day.open_day(store, actor="test")
    day.close_day(store, actor="supervisor")
    assert len(events(store, "cita.outcome")) == 3


def test_personal_data_of_a_cita_goes_with_the_tickets(open_store_day, clock):
    store = open_store_day
    citas.apply_changes(store, [cita("AB-8001", 1), cita("AB-8002", 2, day_="2026-12-20")])
    clock.advance(days=10)
    retention.prune_personal_data(store, keep_days=7)
    rows = {r["code"]: r for r in store.reader().execute("SELECT * FROM citas")}
    assert rows["AB-8001"]["document"] is None and rows["AB-8001"]["name"] is None
    assert rows["AB-8002"]["document"] == DNI


# --- HTTP ------------------------------------------------------------------------------------

def test_the_kiosk_checks_in_by_code_and_a_double_tap_answers_200_with_the_same_ticket(
        app, open_store_day, kiosk_token):
    citas.apply_changes(open_store_day, [cita("AB-9001", 1)])
    client = app.test_client()
    auth = {"Authorization": f"Bearer {kiosk_token}"}
    first = client.post("/api/v1/citas/check-in", json={"code": "AB-9001"}, headers=auth)
    again = client.post("/api/v1/citas/check-in", json={"code": "AB-9001"}, headers=auth)
    assert first.status_code == 201 and again.status_code == 200
    assert first.get_json()["ticket"]["uid"] == again.get_json()["ticket"]["uid"]
    assert "document" not in first.get_json()["ticket"]


@pytest.mark.parametrize("payload, status, code", [
    ({"code": "NO-SUCH"}, 404, "cita_not_found"),
    ({"document": "12"}, 400, None),
    ({"code": 5}, 400, "invalid_field"),
    ({"document": DNI, "language": "fr"}, 400, "invalid_field"),
    ({}, 400, "document_missing"),
])
def test_bad_check_ins_get_a_clear_4xx(app, open_store_day, kiosk_token, payload, status,
                                       code):
    answer = app.test_client().post("/api/v1/citas/check-in", json=payload,
                                    headers={"Authorization": f"Bearer {kiosk_token}"})
    assert answer.status_code == status
    assert answer.get_json()["error"] if code is None else answer.get_json()["error"] == code


def test_reception_lists_the_days_citas_with_who_came(app, open_store_day, login):
    citas.apply_changes(open_store_day, [cita("AB-9101", 1), cita("AB-9102", 2, slot="12:00",
                                                                   document="87654321")])
    citas.check_in(open_store_day, citas.find(open_store_day, code="AB-9101"))
    listed = login("orientador").get("/api/v1/citas").get_json()
    by_code = {c["code"]: c for c in listed["citas"]}
    assert by_code["AB-9101"]["arrival"] == "kept" and by_code["AB-9101"]["label"]
    assert by_code["AB-9102"]["arrival"] is None
    assert login("orientador").get("/api/v1/citas?day=junk").status_code == 400


def test_a_kiosk_cannot_check_in_after_closing_time(app, open_store_day, kiosk_token, clock):
    citas.apply_changes(open_store_day, [cita("AB-9201", 1, slot="20:30")])
    clock.set(clock.now().replace(hour=1, minute=25) + timedelta(days=1))  # 20:25 in Lima
    answer = app.test_client().post("/api/v1/citas/check-in", json={"code": "AB-9201"},
                                    headers={"Authorization": f"Bearer {kiosk_token}"})
    assert answer.status_code == 409, answer.get_json()
    assert answer.get_json()["error"] == "after_hours"
    assert open_store_day.reader().execute("SELECT ticket FROM citas").fetchone()[0] is None


def test_a_kiosk_trying_document_after_document_is_held_to_its_pace(app, open_store_day,
                                                                     kiosk_token):
    client = app.test_client()
    auth = {"Authorization": f"Bearer {kiosk_token}"}
    answers = [client.post("/api/v1/citas/check-in", json={"code": f"NO-{n:04d}"},
                           headers=auth) for n in range(30)]
    refused = [a for a in answers if a.status_code == 429]
    assert refused and refused[0].get_json()["error"] == "rate_limited"
    assert int(refused[0].headers["Retry-After"]) >= 1
    assert {a.status_code for a in answers} == {404, 429}


def test_a_central_holding_less_than_the_box_read_makes_the_box_read_it_again(
        open_store_day):
    from sync.citas import Puller

    store = open_store_day
    citas.apply_changes(store, [cita("AB-9301", 7), cita("AB-9302", 9)])
    puller = Puller(store, transport=None, token="t")  # type: ignore[arg-type]
    assert not puller.due(9) and puller.due(10)
    assert puller.due(2)  # a central that went back: read again from the start
    assert citas.cursor(store.reader()) == 0
    citas.apply_changes(store, [cita("AB-9302", 2, status="cancelled")])
    status = store.reader().execute("SELECT status FROM citas WHERE code = 'AB-9302'"
                                    ).fetchone()["status"]
    assert status == "cancelled"  # the central's copy wins whatever number the box had


def test_the_demo_s_citas_of_today_show_each_case_and_are_made_once_a_day(open_store_day,
                                                                         clock):
    from appliance import demo_citas

    store = open_store_day
    seeded = demo_citas.seed(store)
    assert demo_citas.seed(store) == seeded  # a restart the same day adds none
    assert store.reader().execute("SELECT COUNT(*) FROM citas").fetchone()[0] == 5
    outcomes = []
    for c in seeded:
        try:
            answer, _ = citas.check_in(store, citas.find(store, document=c["document"]))
            outcomes.append(answer["arrival"])
        except Conflict as refused:
            outcomes.append(refused.code)
    assert outcomes == ["kept", "kept", "cita_too_early", "cita_cancelled", "late"]
    assert all(line.strip().startswith(c["code"])
               for line, c in zip(demo_citas.lines(seeded), seeded, strict=True))
    clock.advance(days=1)
    assert {c["code"][:10] for c in demo_citas.seed(store)} != {c["code"][:10]
                                                                for c in seeded}


def test_two_kiosks_checking_in_the_same_cita_at_once_make_one_ticket(open_store_day):
    import threading

    store = open_store_day
    citas.apply_changes(store, [cita("AB-9401", 1)])
    answers: list[tuple[dict[str, Any], bool]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def tap() -> None:
        try:
            start.wait()
            answers.append(citas.check_in(store, citas.find(store, code="AB-9401")))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=tap) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({a["ticket"]["uid"] for a, _ in answers}) == 1
    assert sum(created for _, created in answers) == 1
    assert store.reader().execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 1
    assert len(events(store, "cita.checked_in")) == 1


def test_a_cita_of_a_service_this_centre_no_longer_offers_is_sent_to_the_orientador(
        open_store_day):
    citas.apply_changes(open_store_day, [cita("AB-9501", 1, service=987654)])
    with pytest.raises(Conflict) as refused:
        citas.check_in(open_store_day, citas.find(open_store_day, code="AB-9501"))
    assert refused.value.code == "cita_service_unavailable"
    assert "orientador" in refused.value.message
    assert open_store_day.reader().execute("SELECT ticket FROM citas").fetchone()[0] is None
