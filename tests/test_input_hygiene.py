"""What one phone on the guest Wi-Fi could do with the ticket and message inputs, and can no
longer: an Idempotency-Key reused for a different request gets 422 instead of the first
ticket; a kiosk cannot issue an appointment (cita) ticket, staff still can; names, TV
messages and other typed texts lose control, bidirectional and invisible characters and are
held to their length limits, counted on what is left."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from flask import Flask

from tests.helpers import sse_frames
from turnero import floor, messages, retention, tickets, views
from turnero.errors import InvalidInput
from turnero.store import Store
from turnero.text import clean_line

RN, BN = 76, 3
APPOINTMENT = "2026-11-27T09:30:00-05:00"  # half an hour after the tests' clock
BIDI_CONTROLS = ["\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d",
                 "\u202e", "\u2066", "\u2067", "\u2068", "\u2069"]


def ticket_count(store: Store) -> int:
    return store.reader().execute("SELECT COUNT(*) FROM tickets").fetchone()[0]


def kiosk_post(app: Flask, token: str, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return app.test_client().post("/api/v1/tickets", json=body, headers=headers)


# --- 1. an idempotency key names one request --------------------------------------------------

@pytest.mark.parametrize("different", [
    {"service_id": BN}, {"priority": "gestante"}, {"document": "12345678"},
    {"name": "Rosa Quispe"}, {"visit": [BN]},
], ids=["service", "priority", "document", "name", "visit"])
def test_the_same_idempotency_key_with_a_different_request_is_422_and_issues_nothing(
        app: Flask, kiosk_token: str, open_store_day: Store, different: dict[str, Any]):
    first = kiosk_post(app, kiosk_token, {"service_id": RN}, key="tap-12345678")
    assert first.status_code == 201
    reused = kiosk_post(app, kiosk_token, {"service_id": RN, **different}, key="tap-12345678")
    assert reused.status_code == 422, reused.get_json()
    answer = reused.get_json()
    assert answer["error"] == "idempotency_key_reused"
    assert "Idempotency-Key" in answer["message"] and "uid" not in answer
    assert ticket_count(open_store_day) == 1


def test_replaying_the_same_request_returns_the_first_ticket_after_a_refused_variant(
        login: Any, open_store_day: Store):
    staff = login("orientador")
    request = {"service_id": RN, "priority": "gestante", "document": "12345678",
               "document_type": "dni", "name": "Rosa Quispe", "visit": [BN]}
    key = {"Idempotency-Key": "desk-12345678"}
    first = staff.post("/api/v1/tickets", request, headers=key)
    variant = staff.post("/api/v1/tickets", {**request, "name": "Otra Persona"}, headers=key)
    # The same fields in another order are the same request.
    again = staff.post("/api/v1/tickets", dict(reversed(list(request.items()))), headers=key)
    assert (first.status_code, variant.status_code, again.status_code) == (201, 422, 200)
    assert again.get_json()["uid"] == first.get_json()["uid"]
    assert ticket_count(open_store_day) == 1


def test_a_request_that_differs_only_in_what_cleaning_removes_is_the_same_request(
        login: Any, open_store_day: Store):
    staff = login("orientador")
    key = {"Idempotency-Key": "desk-abcdefgh"}
    first = staff.post("/api/v1/tickets", {"service_id": RN, "name": "Rosa\u200b  Quispe"},
                       headers=key)
    again = staff.post("/api/v1/tickets", {"service_id": RN, "name": "Rosa Quispe"},
                       headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["uid"] == first.get_json()["uid"]
    assert first.get_json()["name"] == "Rosa Quispe"


def test_the_engine_refuses_a_reused_key_with_a_422_error(open_store_day: Store):
    tickets.issue_ticket(open_store_day, service_id=RN, name="Rosa Quispe",
                         idempotency_key="k-abcdefgh")
    with pytest.raises(tickets.IdempotencyKeyReused) as err:
        tickets.issue_ticket(open_store_day, service_id=RN, name="Juan Pérez",
                             idempotency_key="k-abcdefgh")
    assert (err.value.status, err.value.code) == (422, "idempotency_key_reused")
    assert ticket_count(open_store_day) == 1


def test_a_key_stored_before_request_digests_existed_still_replays_its_ticket(
        open_store_day: Store):
    first, _ = tickets.issue_ticket(open_store_day, service_id=RN, name="Rosa Quispe",
                                    idempotency_key="old-abcdefgh")
    open_store_day.write(lambda tx: tx.execute(
        "UPDATE tickets SET idempotency_digest = NULL WHERE uid = ?", (first["uid"],)))
    again, created = tickets.issue_ticket(open_store_day, service_id=RN, name="Otra Persona",
                                          idempotency_key="old-abcdefgh")
    assert not created and again["uid"] == first["uid"]


def test_the_request_digest_is_blanked_with_the_personal_data_it_was_made_from(
        open_store_day: Store, clock: Any):
    tickets.issue_ticket(open_store_day, service_id=RN, channel="reception",
                         document="12345678", name="Rosa Quispe",
                         idempotency_key="desk-abcdefgh")
    digest = "SELECT idempotency_digest FROM tickets"
    assert open_store_day.reader().execute(digest).fetchone()[0] is not None
    clock.advance(days=31)
    retention.prune_personal_data(open_store_day, keep_days=30)
    assert open_store_day.reader().execute(digest).fetchone()[0] is None


# --- 2. a cita is issued by staff, never by a kiosk -------------------------------------------

@pytest.mark.parametrize("request_body", [
    {"service_id": RN, "priority": "cita", "appointment": APPOINTMENT},
    {"service_id": RN, "appointment": APPOINTMENT},
    {"service_id": RN, "priority": "normal", "appointment": APPOINTMENT},
    {"service_id": RN, "priority": "cita"},
], ids=["cita-with-slot", "slot-only", "normal-with-slot", "cita-without-slot"])
def test_a_kiosk_asking_for_an_appointment_ticket_gets_403_and_no_ticket(
        app: Flask, kiosk_token: str, login: Any, open_store_day: Store,
        request_body: dict[str, Any]):
    refused = kiosk_post(app, kiosk_token, request_body)
    assert refused.status_code == 403, refused.get_json()
    assert refused.get_json()["error"] == "appointment_not_for_kiosk"
    assert ticket_count(open_store_day) == 0
    # The kiosk's preferential categories still work, and staff still issue the cita.
    preferential = kiosk_post(app, kiosk_token, {"service_id": RN, "priority": "gestante"})
    assert preferential.status_code == 201 and preferential.get_json()["preferential"]
    cita = login("orientador").post("/api/v1/tickets", {
        "service_id": RN, "priority": "cita", "appointment": APPOINTMENT})
    assert cita.status_code == 201, cita.get_json()
    assert cita.get_json()["priority"] == "cita"
    assert cita.get_json()["channel"] == "appointment"


# --- 3. typed texts are cleaned where they enter ----------------------------------------------

@pytest.mark.parametrize("invisible", [
    *BIDI_CONTROLS, "\x00", "\x07", "\x1b", "\x7f", "\x80", "\x9f", "\u200b", "\u200c",
    "\u200d", "\u2060", "\ufeff", "\u00ad", "\ud800",
])
def test_control_bidi_and_invisible_characters_are_removed(invisible: str):
    assert clean_line(f"Ro{invisible}sa Quispe{invisible}") == "Rosa Quispe"


def test_a_cleaned_text_is_one_nfc_line_with_single_spaces_and_no_escape_sequence():
    assert clean_line(" Rosa\t\n\r\u2028Que\u0301spe \x1b[31mHuamán\x1b[0m\u00a0 ") == \
        "Rosa Quéspe Huamán"
    assert unicodedata.is_normalized("NFC", clean_line("Pe\u0301rez"))
    assert clean_line("\u202e\u200b \x1b[2J\x9b1;31m") == ""


def test_a_citizens_name_is_stored_without_control_bidi_or_zero_width_characters(
        login: Any, open_store_day: Store):
    staff = login("orientador")
    issued = staff.post("/api/v1/tickets", {
        "service_id": RN, "name": "\u202eRosa\x1b[31m Pe\u0301rez\u200b\u200d\n  Quispe\x1b[0m"})
    assert issued.status_code == 201, issued.get_json()
    stored = open_store_day.reader().execute("SELECT name FROM tickets").fetchone()[0]
    assert stored == "Rosa Pérez Quispe"
    assert staff.get(f"/api/v1/tickets/{issued.get_json()['uid']}").get_json()["name"] == \
        "Rosa Pérez Quispe"


def test_a_name_of_only_invisible_characters_is_no_name(open_store_day: Store):
    ticket, _ = tickets.issue_ticket(open_store_day, service_id=RN, name="\u202e\u200b\x1b")
    assert ticket["name"] is None


def _frames(response: Any, kinds: set[str]) -> Any:
    """The data of each SSE frame of one of ``kinds``, as it arrives."""
    for event, data in sse_frames(response):
        if event in kinds:
            yield data


def test_a_tv_message_reaches_the_tvs_cleaned_in_the_snapshot_and_the_stream(
        app: Flask, login: Any, display_token: str, open_store_day: Store):
    supervisor = login("supervisor")
    sent = supervisor.post("/api/v1/messages", {
        "text": "\x1b[5mSistema\x07 de SUNAT\u202e caído\r\n\u2066hoy\u200b"})
    assert sent.status_code == 200 and sent.get_json()["text"] == "Sistema de SUNAT caído hoy"
    tv = app.test_client()
    headers = {"Authorization": f"Bearer {display_token}"}
    assert tv.get("/api/v1/messages/current", headers=headers).get_json()["message"]["text"] \
        == "Sistema de SUNAT caído hoy"
    stream = tv.get("/api/v1/stream", headers=headers, buffered=False)
    try:
        frames = _frames(stream, {"snapshot", "display.message"})
        assert next(frames)["message"]["text"] == "Sistema de SUNAT caído hoy"
        supervisor.post("/api/v1/messages", {"text": "Vuelva\x00 pronto\u202d\x9b1m"})
        assert next(frames)["payload"]["text"] == "Vuelva pronto"
    finally:
        stream.close()
    assert views.snapshot(open_store_day, staff=False)["message"]["text"] == "Vuelva pronto"


def test_a_message_recorded_before_cleaning_is_shown_cleaned(open_store_day: Store):
    open_store_day.write(lambda tx: tx.emit("display.message", actor="supervisor",
                                            text="\u202eAviso\x1b[31m", until=None))
    assert messages.current(open_store_day) == {
        "text": "Aviso", "until": None, "at": open_store_day.reader().execute(
            "SELECT MAX(at) FROM events").fetchone()[0]}


def test_a_message_of_only_invisible_characters_clears_the_band(open_store_day: Store):
    messages.broadcast(open_store_day, "Aviso")
    messages.broadcast(open_store_day, "\u200b\u202e\x1b[0m")
    assert messages.current(open_store_day) is None


def test_a_queue_closing_reason_is_cleaned_before_the_kiosk_shows_it(open_store_day: Store):
    closed = floor.change_queue(open_store_day, "RN", False,
                                reason="\u202eSistema\x1b[31m caído\u200b")
    assert closed["closed_reason"] == "Sistema caído"
    with pytest.raises(InvalidInput):
        floor.change_queue(open_store_day, "BN", False, reason="\u202e\u200b")


def test_a_cancellation_note_is_recorded_cleaned(open_store_day: Store):
    ticket, _ = tickets.issue_ticket(open_store_day, service_id=RN)
    tickets.cancel(open_store_day, ticket["uid"], reason="other", note="Se\x00 retiró\u202e")
    note = open_store_day.reader().execute("SELECT note FROM cancellations").fetchone()[0]
    assert note == "Se retiró"


# --- limits count what is left after cleaning -------------------------------------------------

def test_names_and_messages_over_their_limit_are_400_and_invisible_characters_do_not_count(
        login: Any, open_store_day: Store):
    staff = login("supervisor")
    too_long = staff.post("/api/v1/tickets", {"service_id": RN, "name": "a" * 121})
    assert too_long.status_code == 400 and too_long.get_json()["error"] == "invalid_name"
    fits = staff.post("/api/v1/tickets", {"service_id": RN, "name": "a" * 120 + "\u200b"})
    assert fits.status_code == 201 and fits.get_json()["name"] == "a" * 120
    too_long = staff.post("/api/v1/messages", {"text": "m" * 201})
    assert too_long.status_code == 400 and too_long.get_json()["error"] == "invalid_text"
    fits = staff.post("/api/v1/messages", {"text": "\u202e" + "m" * 200 + "\x07"})
    assert fits.status_code == 200 and fits.get_json()["text"] == "m" * 200
    assert ticket_count(open_store_day) == 1
