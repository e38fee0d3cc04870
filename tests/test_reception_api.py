"""Reception's rules over HTTP and in the engine: documents, the kiosk's pace, closing time,
print jobs and printers' routes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask

from appliance import parts
from appliance.ratelimit import RateLimiter
from config.model import Hours
from turnero import hours, tickets
from turnero.documents import normalise
from turnero.errors import InvalidInput
from turnero.store import Store

RN = 76


@pytest.mark.parametrize(("kind", "number", "stored"), [
    (None, "10117410", ("dni", "10117410")),
    ("dni", "10117410-2", ("dni", "10117410")),
    ("dni", " 10.117.410 ", ("dni", "10117410")),
    ("ruc", "20512333797", ("ruc", "20512333797")),
    ("ce", "001234567", ("ce", "001234567")),
    ("passport", "ab123456", ("passport", "AB123456")),
    ("dni", "", (None, None)),
])
def test_a_valid_document_is_stored_in_its_compact_form(kind, number, stored):
    assert normalise(kind, number) == stored


@pytest.mark.parametrize(("kind", "number"), [
    ("dni", "10117410-3"), ("dni", "1011741"), ("ruc", "20512333798"), ("ce", "12"),
    ("passport", "AB-12"), ("voter", "10117410"),
])
def test_a_wrong_document_is_refused_before_anything_is_stored(kind, number):
    with pytest.raises(InvalidInput):
        normalise(kind, number)


def test_closing_time_follows_the_weekday_hours_in_the_centres_time_zone():
    friday_evening = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)   # 18:00 in Lima
    closes = hours.closing_time(Hours(), friday_evening, "America/Lima")
    assert closes is not None and (closes.hour, closes.minute) == (18, 30)
    sunday = datetime(2026, 11, 29, 15, 0, tzinfo=UTC)
    assert hours.closing_time(Hours(), sunday, "America/Lima") is None


def test_the_rate_limiter_allows_n_per_minute_then_says_how_long_to_wait():
    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])
    assert limiter.allow("k") is None and limiter.allow("k") is None
    assert limiter.allow("k") == pytest.approx(60)
    assert limiter.allow("other") is None
    now[0] = 60.5
    assert limiter.allow("k") is None


def test_a_kiosk_ticket_with_a_bad_dni_is_a_400_and_issues_nothing(kiosk, open_store_day: Store):
    response = kiosk(document="10117410-3")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_document"
    assert open_store_day.reader().execute("SELECT COUNT(*) FROM tickets").fetchone()[0] == 0


def test_a_kiosk_never_reads_back_the_document_it_sent(kiosk):
    body = kiosk(document="10117410", document_type="dni").get_json()
    assert not {"document", "document_type", "name"} & set(body)


def test_a_kiosk_over_its_rate_gets_429_with_a_message(app: Flask, kiosk):
    limit = parts.of(app).settings.kiosk.tickets_per_minute
    for _ in range(limit):
        assert kiosk().status_code == 201
    response = kiosk()
    assert response.status_code == 429
    assert response.get_json()["error"] == "rate_limited"
    assert "orientador" in response.get_json()["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60  # when the kiosk may try again


def test_a_replayed_key_is_not_counted_against_the_rate(app: Flask, kiosk_token):
    limit = parts.of(app).settings.kiosk.tickets_per_minute
    client = app.test_client()
    headers = {"Authorization": f"Bearer {kiosk_token}", "Idempotency-Key": "tap-0001-abcd"}
    statuses = [client.post("/api/v1/tickets", json={"service_id": RN},
                            headers=headers).status_code for _ in range(limit + 3)]
    assert statuses == [201] + [200] * (limit + 2)


def test_an_unknown_language_is_a_400(kiosk):
    response = kiosk(language="fr")
    assert response.status_code == 400 and response.get_json()["error"] == "invalid_field"


def test_a_kiosk_ticket_that_would_be_called_after_closing_is_refused(
        app: Flask, kiosk, open_store_day: Store, clock):
    clock.set(datetime(2026, 11, 27, 23, 20, tzinfo=UTC))   # 18:20 in Lima, closing 18:30
    for _ in range(10):
        tickets.issue_ticket(open_store_day, service_id=RN, channel="reception")
    response = kiosk()
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "after_closing" and "T18:30" in body["closes_at"]
    waiting = open_store_day.reader().execute("SELECT COUNT(*) FROM tickets").fetchone()[0]
    assert waiting == 10


def test_the_orientador_may_still_issue_after_the_kiosk_refused(login, open_store_day: Store,
                                                                  clock):
    clock.set(datetime(2026, 11, 27, 23, 20, tzinfo=UTC))
    for _ in range(10):
        tickets.issue_ticket(open_store_day, service_id=RN, channel="reception")
    staff = login("orientador")
    assert staff.post("/api/v1/tickets", {"service_id": RN}).status_code == 201


def test_an_unknown_print_job_is_a_404_and_printers_are_for_staff(app: Flask, kiosk_token,
                                                                   login):
    client = app.test_client()
    headers = {"Authorization": f"Bearer {kiosk_token}"}
    response = client.get("/api/v1/print-jobs/nope", headers=headers)
    assert response.status_code == 404 and response.get_json()["error"] == "print_job_not_found"
    assert client.get("/api/v1/printers", headers=headers).status_code == 403
    staff = login("orientador")
    printers = staff.get("/api/v1/printers").get_json()["printers"]
    assert [p["name"] for p in printers] == ["kiosko-demo"]
    assert staff.post("/api/v1/printers/nope/retry").status_code == 404


def test_a_reprint_from_reception_prints_on_the_reception_printer(app: Flask, login):
    staff = login("orientador")
    ticket = staff.post("/api/v1/tickets", {"service_id": RN}).get_json()
    again = staff.post(f"/api/v1/tickets/{ticket['uid']}/reprint").get_json()
    assert again["print"]["printer"] == "kiosko-demo"
    assert again["print"]["id"] != ticket["print"]["id"]
    printer = parts.of(app).printing
    assert printer.job(again["print"]["id"]) is not None


def test_a_document_type_is_read_whatever_its_case_and_a_wrong_one_is_still_a_400(kiosk):
    assert kiosk(document="10117410", document_type="DNI").status_code == 201
    assert kiosk(document="10117410", document_type=" Dni ").status_code == 201
    refused = kiosk(document="10117410", document_type=5)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_field"
    unknown = kiosk(document="10117410", document_type="licencia")
    assert unknown.get_json()["error"] == "invalid_document_type"
