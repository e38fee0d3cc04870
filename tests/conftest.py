"""Factories for tests: a demo-centre store on a temporary database with an injectable clock,
an app and a test client, and staff/device credentials. Every store is closed afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.app import create_app
from appliance.runtime import open_store
from config.demo import demo_settings
from config.model import Settings
from turnero import accounts, day
from turnero.clock import ManualClock
from turnero.store import Store

# 09:00 in Lima on a Friday after the build date.
START = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
PIN = "4321"


@pytest.fixture
def settings() -> Settings:
    return demo_settings()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store(tmp_path: Path, settings: Settings, clock: ManualClock) -> Iterator[Store]:
    s = open_store(settings, tmp_path, clock=clock)
    yield s
    s.close()


@pytest.fixture
def open_store_day(store: Store) -> Store:
    """A store whose service day is open."""
    day.open_day(store, actor="test")
    return store


@pytest.fixture
def app(settings: Settings, open_store_day: Store) -> Iterator[Flask]:
    app = create_app(settings, open_store_day, TESTING=True, SSE_HEARTBEAT_SECONDS=0.2)
    yield app
    app.extensions["mac_turnos.printing"].stop()


@dataclass
class Staff:
    """A logged-in test client with the CSRF token to send on changes."""

    client: FlaskClient
    csrf: str

    def post(self, path: str, json: object = None, **kw: object):
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}  # type: ignore[dict-item]
        return self.client.post(path, json=json if json is not None else {}, headers=headers,
                                **kw)

    def get(self, path: str, **kw: object):
        return self.client.get(path, **kw)


USERS = {"supervisor": ("supervisor", None), "orientador": ("receptionist", None),
         "asesor.reniec": ("agent", "RENIEC"), "asesor.bn": ("agent", "BN"),
         "admin": ("admin", None)}


@pytest.fixture
def users(open_store_day: Store, settings: Settings) -> dict[str, str]:
    for name, (role, entity) in USERS.items():
        accounts.create_user(open_store_day, name, role, PIN, security=settings.security,
                             entity=entity)
    return {name: role for name, (role, _) in USERS.items()}


@pytest.fixture
def login(app: Flask, users: dict[str, str]):
    def make(username: str) -> Staff:
        client = app.test_client()
        response = client.post("/api/v1/auth/login",
                               json={"username": username, "password": PIN})
        assert response.status_code == 200, response.get_json()
        return Staff(client, response.get_json()["csrf_token"])
    return make


@pytest.fixture
def kiosk_token(open_store_day: Store) -> str:
    return accounts.enrol_device(open_store_day, "kiosk-1", "kiosk")


@pytest.fixture
def display_token(open_store_day: Store) -> str:
    return accounts.enrol_device(open_store_day, "tv-1", "display")


@pytest.fixture
def kiosk(app: Flask, kiosk_token: str):
    client = app.test_client()

    def issue(service_id: int = 76, **extra: object):
        return client.post("/api/v1/tickets", json={"service_id": service_id, **extra},
                           headers={"Authorization": f"Bearer {kiosk_token}"})
    return issue
