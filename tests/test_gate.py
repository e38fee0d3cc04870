"""Who may talk to the box: the Host allow-list (DNS rebinding), the staff networks, and the
warning when the server faces the LAN without its front (``appliance.gate``,
``appliance.front``)."""

from __future__ import annotations

import dataclasses
import socket
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from appliance import front, parts
from appliance.app import create_app
from config import ConfigError, load_settings
from config.model import Server, Settings
from tests.conftest import PIN
from turnero import accounts, tickets
from turnero.store import Store


def _app(settings: Settings, store: Store, **server: object) -> Flask:
    security = server.pop("security", None)
    changed = dataclasses.replace(settings, server=dataclasses.replace(settings.server,
                                                                       **server))
    if security is not None:
        changed = dataclasses.replace(changed, security=security)
    return create_app(changed, store, TESTING=True)


@pytest.fixture
def made(settings: Settings, open_store_day: Store) -> Iterator[list[Flask]]:
    apps: list[Flask] = []
    yield apps
    for app in apps:
        parts.of(app).printing.stop()


@pytest.mark.parametrize("host", ["evil.example", "rebind.attacker.pe:8080", "turnos"])
def test_a_request_naming_a_foreign_host_is_refused_with_a_json_error(app, host):
    response = app.test_client().get("/api/v1/health", headers={"Host": host})
    assert response.status_code == 400
    assert response.get_json()["error"] == "host_not_allowed"


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "192.168.1.10", "[::1]:8080", "localhost",
                                  f"{socket.gethostname()}:8080",
                                  f"{socket.gethostname().split('.')[0]}.local"])
def test_addresses_localhost_and_the_machines_own_names_are_served(app, host):
    assert app.test_client().get("/api/v1/health", headers={"Host": host}).status_code == 200


def test_allowed_hosts_and_the_public_urls_host_are_served(settings, open_store_day, made):
    app = _app(settings, open_store_day, allowed_hosts=["turnos.mac.pe"],
               public_url="http://sala.mac-norte.pe:8080")
    made.append(app)
    client = app.test_client()
    for host in ("turnos.mac.pe", "TURNOS.MAC.PE:8080", "sala.mac-norte.pe:8080"):
        assert client.get("/api/v1/health", headers={"Host": host}).status_code == 200, host
    assert client.get("/api/v1/health", headers={"Host": "otro.pe"}).status_code == 400


def test_outside_the_staff_network_only_the_citizens_status_page_is_served(
        settings, open_store_day, made):
    security = dataclasses.replace(settings.security, staff_networks=["10.20.0.0/16"])
    app = _app(settings, open_store_day, security=security)
    made.append(app)
    accounts.create_user(open_store_day, "supervisor", "supervisor", PIN,
                         security=settings.security)
    issued, _ = tickets.issue_ticket(open_store_day, service_id=settings.services[0].id)
    client = app.test_client()
    phone = {"REMOTE_ADDR": "192.168.50.7"}
    login = {"username": "supervisor", "password": PIN}
    refused = client.post("/api/v1/auth/login", json=login, environ_base=phone)
    assert refused.status_code == 403
    assert refused.get_json()["error"] == "outside_staff_network"
    assert client.get("/supervision", environ_base=phone).status_code == 403
    token = issued["token"]
    assert client.get(f"/t/{token}", environ_base=phone).status_code == 200
    assert client.get(f"/api/v1/public/tickets/{token}", environ_base=phone).status_code == 200
    assert client.get("/static/kiosk/status.js", environ_base=phone).status_code == 200
    assert client.get("/api/v1/health", environ_base=phone).status_code == 200
    staff = {"REMOTE_ADDR": "10.20.3.4"}
    assert client.post("/api/v1/auth/login", json=login, environ_base=staff).status_code == 200


def test_the_server_warns_when_it_faces_the_lan_without_its_front():
    assert front.problem(Server(host="127.0.0.1")) is None
    assert front.problem(Server(host="127.0.0.1", port=8081, front_port=8080)) is None
    alone = front.problem(Server(host="0.0.0.0"))
    assert alone is not None and "nginx" in alone
    bypass = front.problem(Server(host="0.0.0.0", front_port=8080))
    assert bypass is not None and "127.0.0.1" in bypass
    assert front.health(Server(host="0.0.0.0"))["status"] == "warning"
    assert front.health(Server(host="::1", front_port=8080))["status"] == "ok"


def test_behind_the_front_the_qr_and_zeroconf_use_the_fronts_port():
    server = Server(host="127.0.0.1", port=8081, front_port=8080)
    assert server.lan_endpoint() == ("0.0.0.0", 8080)
    assert Server(host="0.0.0.0", port=9000).lan_endpoint() == ("0.0.0.0", 9000)


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "centre.toml"
    path.write_text(textwrap.dedent("""\
        [centre]
        code = "t"
        name = "MAC Test"
        """) + extra, encoding="utf-8")
    return path


@pytest.mark.parametrize("extra, key", [
    ('[security]\nstaff_networks = ["10.0.0.0/8", "la red del personal"]\n',
     "security.staff_networks"),
    ('[server]\nallowed_hosts = ["bad name!"]\n', "server.allowed_hosts"),
])
def test_a_wrong_network_or_host_name_in_the_config_is_named(tmp_path, extra, key):
    with pytest.raises(ConfigError) as raised:
        load_settings(_config(tmp_path, extra), environ={})
    assert key in str(raised.value)
