"""A ticket taken at the kiosk before the módulos open prints when attention starts (the
estimate's ``attention_starts_at``, through the app's printing), not a figure of minutes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from appliance import parts
from hardware.printer import decode_text
from tests.waiting import wait_until
from turnero import accounts
from turnero.clock import ManualClock

RN = 76
EARLY = datetime(2026, 11, 27, 13, 16, tzinfo=UTC)  # Friday 08:16 in Lima; opens at 08:30


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(EARLY)


def test_a_kiosk_ticket_before_opening_prints_when_attention_starts(app, open_store_day):
    token = accounts.enrol_device(open_store_day, "kiosk-demo", "kiosk")
    answer = app.test_client().post(
        "/api/v1/tickets", json={"service_id": RN},
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "before-opening-0816"})
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["attention_starts_at"].startswith("2026-11-27T08:30")
    printer = parts.of(app).printing.transports["kiosko-demo"]
    [job] = wait_until(printer.jobs, what="the ticket printed")
    text = decode_text(job, "CP858")
    assert "La atención empieza a las:" in text and "08:30" in text
    assert "Espera estimada" not in text
