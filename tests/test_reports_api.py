"""The indicators over HTTP: JSON and CSV of the hand-computed day, periods, clear 400s, the
audit against the event log, and the ANS catalogue (config rows read-only)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from config import load_settings
from tests.test_reports import CENTRE, START, play_day
from turnero import accounts
from turnero.clock import ManualClock

PIN = "482916"
DAY = "2026-11-27"


@pytest.fixture
def staff(tmp_path: Path) -> Iterator[tuple[FlaskClient, dict[str, str]]]:
    settings = load_settings(data=CENTRE, environ={})
    clock = ManualClock(START)
    store = open_store(settings, tmp_path, clock=clock)
    play_day(store, clock)
    clock.set(datetime(2026, 11, 28, 14, 0, tzinfo=UTC))
    accounts.create_user(store, "jefa", "supervisor", PIN, security=settings.security)
    accounts.create_user(store, "orienta", "receptionist", PIN, security=settings.security)
    app = create_app(settings, store, TESTING=True)
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": "jefa", "password": PIN})
    yield client, {"X-CSRF-Token": response.get_json()["csrf_token"]}
    parts.of(app).printing.stop()
    store.close()


def test_the_report_api_answers_the_hand_computed_day(staff) -> None:
    client, _ = staff
    data = client.get(f"/api/v1/reports?from={DAY}&to={DAY}&group=entity").get_json()
    rows = {r["key"]: r for r in data["rows"]}
    assert rows["E1"]["wait"]["mean"] == 108.0 and rows["E2"]["served"] == 2
    assert data["total"]["issued"] == 7 and data["days"] == [DAY]


def test_a_week_period_holds_the_day_and_defaults_to_entity_grouping(staff) -> None:
    client, _ = staff
    data = client.get(f"/api/v1/reports?period=week&date={DAY}").get_json()
    assert (data["from"], data["to"], data["group"]) == ("2026-11-23", "2026-11-29", "entity")
    assert data["total"]["served"] == 5


def test_the_csv_opens_in_a_spanish_excel_and_matches_the_json(staff) -> None:
    client, _ = staff
    response = client.get(f"/api/v1/reports?from={DAY}&group=entity&format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "reporte-entity-2026-11-27-2026-11-27.csv" in response.headers["Content-Disposition"]
    raw = response.data
    assert raw.startswith("\ufeff".encode())
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, e1, e2, total = table
    assert header[:3] == ["Entidad", "Nombre", "Emitidos"]
    column = dict(zip(header, e1, strict=True))
    assert column["Entidad"] == "E1" and column["Emitidos"] == "6"
    assert column["Espera media (min)"] == "1,8"  # 108 s, decimal comma
    assert column["Espera p90 (min)"] == "2,6"  # 156 s
    assert column["Espera dentro del ANS (%)"] == "80,0"
    assert column["Satisfacción media (1-5)"] == "4,5"
    assert dict(zip(header, total, strict=True))["Atendidos"] == "5"
    assert e2[0] == "E2"


def test_the_csv_with_commas_keeps_decimal_points(staff) -> None:
    client, _ = staff
    response = client.get(f"/api/v1/reports?from={DAY}&group=entity&format=csv&separator=,")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert dict(zip(rows[0], rows[1], strict=True))["Espera media (min)"] == "1.8"


@pytest.mark.parametrize(("query", "code"), [
    ("", "missing_field"), ("from=2026-13-01", "invalid_date"), ("from=ayer", "invalid_date"),
    (f"from={DAY}&to=2026-11-01", "invalid_range"), (f"from={DAY}&group=planeta",
                                                    "invalid_group"),
    (f"from={DAY}&format=xlsx", "invalid_format"), (f"from={DAY}&separator=|",
                                                    "invalid_separator"),
    ("period=year", "invalid_period"), ("from=2020-01-01&to=2026-01-01", "range_too_long"),
])
def test_a_bad_report_request_gets_a_clear_400(staff, query: str, code: str) -> None:
    client, _ = staff
    response = client.get(f"/api/v1/reports?{query}")
    assert response.status_code == 400 and response.get_json()["error"] == code
    assert response.get_json()["message"]


def test_the_audit_finds_the_tables_and_the_event_log_equal(staff) -> None:
    client, _ = staff
    data = client.get(f"/api/v1/reports/audit?from={DAY}").get_json()
    assert data == {"from": DAY, "to": DAY, "equal": True, "differences": []}


def test_the_audit_sees_a_table_that_disagrees_with_the_log(staff) -> None:
    client, _ = staff
    store = parts.of(client.application).store
    store.write(lambda tx: tx.execute(
        "UPDATE attentions SET called_at = started_at WHERE status = 'done'"))
    store.write(lambda tx: tx.execute("DELETE FROM report_days"))
    data = client.get(f"/api/v1/reports/audit?from={DAY}").get_json()
    assert data["equal"] is False
    assert {"group": "entity", "part": "rows"} in data["differences"]


def test_ans_from_the_config_are_listed_and_read_only(staff) -> None:
    client, csrf = staff
    targets = client.get("/api/v1/ans").get_json()["targets"]
    assert [(t["service"], t["max_wait_minutes"], t["source"]) for t in targets] == [
        (2, 100, "config"), (2, 2, "config")]
    response = client.put(f"/api/v1/ans/{targets[0]['id']}", headers=csrf, json={
        "queue": "A", "max_wait_minutes": 5, "max_attention_minutes": 5,
        "valid_from": "2026-01-01"})
    assert response.status_code == 409 and response.get_json()["error"] == "ans_from_config"


def test_a_supervisor_adds_corrects_and_deletes_an_ans_that_changes_the_report(staff) -> None:
    client, csrf = staff
    created = client.post("/api/v1/ans", headers=csrf, json={
        "queue": "B", "max_wait_minutes": 2, "max_attention_minutes": 20,
        "valid_from": "2026-11-01", "valid_to": "2026-11-30"})
    assert created.status_code == 201, created.get_json()
    target = created.get_json()
    assert (target["queue"], target["service"], target["source"]) == ("B", None, "supervision")

    def e2() -> dict:
        data = client.get(f"/api/v1/reports?from={DAY}&group=entity").get_json()
        return next(r for r in data["rows"] if r["key"] == "E2")
    # B's waits (180 s, 360 s) now exceed 2 min; attentions (720, 660) are within 20 min
    assert (e2()["within_wait_target"], e2()["within_attention_target"]) == (0.0, 1.0)
    changed = client.put(f"/api/v1/ans/{target['id']}", headers=csrf, json={
        "queue": "B", "max_wait_minutes": 4, "max_attention_minutes": 20,
        "valid_from": "2026-11-01"})
    assert changed.status_code == 200 and changed.get_json()["valid_to"] is None
    assert e2()["within_wait_target"] == 0.5
    assert client.delete(f"/api/v1/ans/{target['id']}", headers=csrf).status_code == 204
    assert e2()["within_wait_target"] == 1.0
    assert client.delete(f"/api/v1/ans/{target['id']}", headers=csrf).status_code == 404


@pytest.mark.parametrize(("body", "code"), [
    ({"queue": "Z", "max_wait_minutes": 1, "max_attention_minutes": 1,
      "valid_from": "2026-11-01"}, "unknown_queue"),
    ({"queue": "A", "service": 3, "max_wait_minutes": 1, "max_attention_minutes": 1,
      "valid_from": "2026-11-01"}, "unknown_service"),
    ({"queue": "A", "max_wait_minutes": 121, "max_attention_minutes": 1,
      "valid_from": "2026-11-01"}, "invalid_minutes"),
    ({"queue": "A", "max_wait_minutes": 1, "max_attention_minutes": True,
      "valid_from": "2026-11-01"}, "invalid_minutes"),
    ({"queue": "A", "max_wait_minutes": 1, "max_attention_minutes": 1,
      "valid_from": "1/11/2026"}, "invalid_date"),
    ({"queue": "A", "max_wait_minutes": 1, "max_attention_minutes": 1,
      "valid_from": "2026-11-02", "valid_to": "2026-11-01"}, "invalid_dates"),
])
def test_a_wrong_ans_is_refused_with_its_reason_and_nothing_is_stored(staff, body: dict,
                                                                      code: str) -> None:
    client, csrf = staff
    response = client.post("/api/v1/ans", headers=csrf, json=body)
    assert response.status_code == 400 and response.get_json()["error"] == code
    assert len(client.get("/api/v1/ans").get_json()["targets"]) == 2


def test_an_orientador_cannot_read_the_indicators(staff) -> None:
    client, _ = staff
    other = client.application.test_client()
    other.post("/api/v1/auth/login", json={"username": "orienta", "password": PIN})
    assert other.get(f"/api/v1/reports?from={DAY}").status_code == 403
    assert other.get("/api/v1/ans").status_code == 403
