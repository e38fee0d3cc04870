"""The demo a person tries answers at whatever hour they try it: its kiosk issues on a
Monday evening after a centre's closing time as in the morning; with --centre-hours it
keeps a real centre's hours and refuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from config.demo import demo_data
from config.loader import load_settings
from turnero import accounts, day
from turnero.clock import ManualClock

MONDAY_EVENING = datetime(2026, 11, 30, 23, 45, tzinfo=UTC)  # 18:45 in Lima: after closing


def _kiosk(tmp_path: Path, all_day: bool) -> Iterator[FlaskClient]:
    settings = load_settings(data=demo_data(all_day), environ={})
    store = open_store(settings, tmp_path, clock=ManualClock(MONDAY_EVENING))
    day.open_day(store, actor="demo")
    token = accounts.enrol_device(store, "kiosk-demo", "kiosk")
    app = create_app(settings, store, TESTING=True)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    yield client
    parts.of(app).printing.stop()
    store.close()


@pytest.mark.parametrize("all_day, status", [(True, 201), (False, 409)])
def test_the_demo_kiosk_issues_after_a_centre_s_closing_time_unless_it_keeps_its_hours(
        tmp_path: Path, all_day: bool, status: int) -> None:
    for client in _kiosk(tmp_path, all_day):
        answer = client.post("/api/v1/tickets", json={"service_id": 76})
        assert answer.status_code == status, answer.get_json()
