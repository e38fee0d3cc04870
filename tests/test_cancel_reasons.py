"""Cancelling a ticket: the reason is a code from a fixed list, and the optional note, which
staff may write with a citizen's name or document number in it, reaches only the staff of the
ticket's entity, reception and supervision. It is never in the ``ticket.cancelled`` event, so
no TV, no desk of another entity and no uplink ever receives it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlite_utils import Database

from tests.conftest import Staff
from tests.helpers import sse_frames
from turnero import migrations, retention, tickets
from turnero.cancellations import CANCEL_REASONS
from turnero.clock import ManualClock
from turnero.store import Store, connect

RN = 76  # a RENIEC service (asesor.reniec's entity); asesor.bn serves Banco de la Nación
NOTE = "Rosa Quispe Mamani, DNI 40000001, sacó dos turnos"
SECRETS = ("Rosa", "Quispe", "Mamani", "40000001")
MAX_FRAMES = 500  # heartbeats come every 0.2 s: far more than the cancellation needs


def _issue(staff: Staff) -> dict[str, Any]:
    ticket = staff.post("/api/v1/tickets", {"service_id": RN}).get_json()
    assert "uid" in ticket, ticket
    return ticket


def _cancel(staff: Staff, uid: str, body: object) -> Any:
    return staff.post(f"/api/v1/tickets/{uid}/cancel", body)


def _events(store: Store, kind: str) -> list[dict[str, Any]]:
    return [json.loads(r[0]) for r in store.reader().execute(
        "SELECT payload FROM events WHERE kind = ? ORDER BY seq", (kind,))]


def _until_cancelled(frames: Iterator[tuple[str, Any]]) -> list[str]:
    """Every frame a stream sent up to and including the ``ticket.cancelled`` one, as text."""
    seen = []
    for _, (event, data) in zip(range(MAX_FRAMES), frames, strict=False):
        seen.append(json.dumps(data, ensure_ascii=False))
        if event == "ticket.cancelled":
            return seen
    raise AssertionError("the stream never sent ticket.cancelled")


@pytest.fixture
def orientador(login: Any) -> Staff:
    return login("orientador")


def test_a_reason_from_the_list_is_accepted_and_the_event_carries_only_its_code(
        orientador: Staff, open_store_day: Store) -> None:
    ticket = _issue(orientador)
    response = _cancel(orientador, ticket["uid"], {"reason": "duplicate", "note": NOTE})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "cancelled"
    assert _events(open_store_day, "ticket.cancelled")[-1]["reason"] == "duplicate"
    assert "note" not in _events(open_store_day, "ticket.cancelled")[-1]
    assert NOTE not in json.dumps(_events(open_store_day, "ticket.cancelled"),
                                  ensure_ascii=False)


def test_every_code_of_the_list_is_accepted_without_a_note(orientador: Staff) -> None:
    for code in CANCEL_REASONS:
        response = _cancel(orientador, _issue(orientador)["uid"], {"reason": code})
        assert response.status_code == 200, (code, response.get_json())
        assert response.get_json()["cancellations"][-1]["reason"] == code


@pytest.mark.parametrize("body", [{"reason": "duplicado"}, {}, {"reason": None},
                                  {"reason": 7}, {"reason": ["duplicate"]}],
                         ids=["unknown code", "missing", "null", "a number", "a list"])
def test_a_reason_outside_the_list_is_a_400_naming_the_codes_and_cancels_nothing(
        orientador: Staff, body: object) -> None:
    ticket = _issue(orientador)
    response = _cancel(orientador, ticket["uid"], body)
    assert response.status_code == 400
    error = response.get_json()
    assert error["error"] == "invalid_reason"
    assert all(code in error["message"] for code in CANCEL_REASONS)
    assert error["reasons"] == list(CANCEL_REASONS)
    assert orientador.get(f"/api/v1/tickets/{ticket['uid']}").get_json()["status"] == "waiting"


@pytest.mark.parametrize("viewer", ["tv", "asesor.bn", "asesor.reniec"])
def test_the_note_never_reaches_a_tv_stream_or_any_desks_stream(
        app: Flask, login: Any, orientador: Staff, display_token: str, viewer: str) -> None:
    ticket = _issue(orientador)
    if viewer == "tv":
        stream = app.test_client().get("/api/v1/stream", buffered=False,
                                       headers={"Authorization": f"Bearer {display_token}"})
    else:
        stream = login(viewer).get("/api/v1/stream", buffered=False)
    try:
        assert _cancel(orientador, ticket["uid"], {"reason": "other",
                                                   "note": NOTE}).status_code == 200
        sent = " ".join(_until_cancelled(sse_frames(stream)))
    finally:
        stream.close()
    assert '"reason": "other"' in sent
    assert not [s for s in SECRETS if s in sent]


def test_another_entitys_asesor_reads_the_reason_but_not_the_note(
        login: Any, orientador: Staff) -> None:
    ticket = _issue(orientador)
    _cancel(orientador, ticket["uid"], {"reason": "documents_missing", "note": NOTE})
    other = login("asesor.bn")
    shown = other.get(f"/api/v1/tickets/{ticket['uid']}").get_json()
    found = other.get(f"/api/v1/tickets?label={ticket['label']}").get_json()["tickets"]
    for view in (shown, *found):
        assert [(c["reason"], c["note"]) for c in view["cancellations"]] == [
            ("documents_missing", None)]
        assert not [s for s in SECRETS if s in json.dumps(view, ensure_ascii=False)]


def test_the_tickets_own_entity_reception_and_supervision_read_the_note(
        login: Any, orientador: Staff) -> None:
    ticket = _issue(orientador)
    cancelled = _cancel(orientador, ticket["uid"], {"reason": "left_centre", "note": NOTE})
    assert cancelled.get_json()["cancellations"][0]["note"] == NOTE  # whoever wrote it
    for name in ("asesor.reniec", "orientador", "supervisor", "admin"):
        view = login(name).get(f"/api/v1/tickets/{ticket['uid']}").get_json()
        [only] = view["cancellations"]
        assert (only["reason"], only["note"], only["entity"], only["actor"]) == (
            "left_centre", NOTE, "RENIEC", "orientador"), name


def test_control_and_bidirectional_characters_are_stripped_from_the_note(
        orientador: Staff, open_store_day: Store) -> None:
    ticket = _issue(orientador)
    typed = "Se\u202e retiró\x1b[31m\u200b a las\x00 10\n"
    response = _cancel(orientador, ticket["uid"], {"reason": "left_centre", "note": typed})
    assert response.get_json()["cancellations"][0]["note"] == "Se retiró a las 10"
    stored = open_store_day.reader().execute("SELECT note FROM cancellations").fetchone()[0]
    assert stored == "Se retiró a las 10"


@pytest.mark.parametrize("note", ["x" * 201, 12, ["una", "lista"]],
                         ids=["too long", "a number", "a list"])
def test_a_note_that_is_not_one_short_line_is_a_400(orientador: Staff, note: object) -> None:
    ticket = _issue(orientador)
    response = _cancel(orientador, ticket["uid"], {"reason": "other", "note": note})
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_note"


def test_retention_blanks_the_note_with_the_other_personal_data(
        orientador: Staff, open_store_day: Store, clock: ManualClock) -> None:
    ticket = _issue(orientador)
    _cancel(orientador, ticket["uid"], {"reason": "duplicate", "note": NOTE})
    clock.advance(days=31)
    retention.prune_personal_data(open_store_day, keep_days=30)
    row = open_store_day.reader().execute("SELECT reason, note FROM cancellations").fetchone()
    assert tuple(row) == ("duplicate", None)


def test_the_upgrade_moves_a_typed_reason_out_of_the_event_into_the_note(
        open_store_day: Store) -> None:
    """A box upgraded with free-text reasons in its log: m010 keeps each text as the note of
    its cancellation and leaves `other` in the event, so the history no longer shows it."""
    typed, coded = (tickets.issue_ticket(open_store_day, service_id=RN)[0] for _ in range(2))
    tickets.cancel(open_store_day, typed["uid"], reason="other")
    tickets.cancel(open_store_day, coded["uid"], reason="duplicate")
    conn = connect(open_store_day.path)
    try:
        conn.execute("UPDATE events SET payload = json_set(payload, '$.reason', ?) "
                     "WHERE ticket = ? AND kind = 'ticket.cancelled'", (NOTE, typed["uid"]))
        conn.execute("DROP TABLE cancellations")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm010_cancellations'")
        migrations.apply(Database(conn))
        moved = [tuple(r) for r in conn.execute("SELECT reason, note FROM cancellations "
                                                "ORDER BY id")]
        reasons = [json.loads(r[0])["reason"] for r in conn.execute(
            "SELECT payload FROM events WHERE kind = 'ticket.cancelled' ORDER BY seq")]
    finally:
        conn.close()
    assert moved == [("other", NOTE), ("duplicate", None)]
    assert reasons == ["other", "duplicate"]
