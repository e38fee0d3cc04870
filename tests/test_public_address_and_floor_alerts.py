"""The address the QR codes carry (never loopback while the box has a LAN address), the
dated ANS on the live floor, and the floor's alerts for a queue with nobody to serve it, the
voice falling behind and a printer's roll nearly out (a real serial printer on a
pseudo-terminal answering the paper sensor query)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask import Flask

from appliance import parts
from appliance.app import create_app
from appliance.cli import main
from appliance.floor_alerts import voice_alerts
from appliance.runtime import open_store
from config.demo import demo_data
from config.loader import load_settings
from kiosk import pages, public_address
from kiosk.public_address import interface_addresses, lan_addresses, resolve
from tests.conftest import PIN
from tests.test_printer_transports import PAPER_NEAR_END, PAPER_OK, FakeSerialPrinter, wait_for
from turnero import accounts, day
from turnero.clock import ManualClock

RN = 76
LAN = [("lo", "127.0.0.1"), ("lo", "::1"), ("docker0", "172.17.0.1"),
       ("eth0", "fe80::fc:ff:fe00:1%eth0"), ("eth0", "fd00::2"), ("eth0", "192.168.1.10"),
       ("wlan0", "10.0.0.5")]


def lan() -> list[tuple[str, str]]:
    return list(LAN)


def nothing() -> list[tuple[str, str]]:
    return [("lo", "127.0.0.1")]


# --- the address --------------------------------------------------------------------------

def test_this_machines_interfaces_are_read_and_only_lan_addresses_are_offered():
    found = interface_addresses()
    assert "127.0.0.1" in [address for _, address in found]
    offered = lan_addresses("0.0.0.0")
    assert set(offered) <= {address.split("%")[0] for _, address in found}
    for text in offered:
        ip = ipaddress.ip_address(text)
        assert ip.version == 4 and not ip.is_loopback and not ip.is_link_local


def test_lan_addresses_skip_loopback_link_local_and_container_bridges():
    assert lan_addresses("0.0.0.0", lan) == ["192.168.1.10", "10.0.0.5"]
    assert lan_addresses("::", lan) == ["192.168.1.10", "10.0.0.5", "fd00::2"]
    assert lan_addresses("192.168.1.10", lan) == ["192.168.1.10"]
    assert lan_addresses("127.0.0.1", lan) == [] and lan_addresses("0.0.0.0", nothing) == []


def test_the_configured_address_wins_and_a_missing_one_is_explained():
    assert resolve("http://turnos.mac:8080/", "0.0.0.0", 8080, lan).url == "http://turnos.mac:8080"
    detected = resolve("", "0.0.0.0", 8080, lan)
    assert (detected.url, detected.source, detected.problem) == (
        "http://192.168.1.10:8080", "detected", None)
    alone = resolve("", "127.0.0.1", 8080, lan)
    assert alone.url == "" and "127.0.0.1" in (alone.problem or "")
    assert "public_url" in (resolve("", "0.0.0.0", 8080, nothing).problem or "")
    assert resolve("http://127.0.0.1:8080", "0.0.0.0", 8080, lan).health()["status"] == "warning"


def test_a_kiosk_on_the_box_itself_gets_the_lan_address_in_its_qr(app: Flask):
    app.config[public_address.CONFIG_KEY] = lan
    with app.test_request_context("/kiosk", base_url="http://127.0.0.1:8080"):
        assert pages.public_base() == "http://192.168.1.10:8080"
    with app.test_request_context("/kiosk", base_url="http://192.168.1.20:8080"):
        assert pages.public_base() == "http://192.168.1.20:8080"  # a kiosk elsewhere
    app.config[public_address.CONFIG_KEY] = nothing
    with app.test_request_context("/kiosk", base_url="http://127.0.0.1:8080"):
        assert pages.public_base() == "http://127.0.0.1:8080"  # and health says why


def test_health_and_the_floor_warn_when_phones_cannot_reach_the_box(app: Flask, login):
    client = app.test_client()
    app.config[public_address.CONFIG_KEY] = lan
    health = client.get("/api/v1/health").get_json()
    assert health["components"]["public_address"] == {
        "status": "ok", "url": "http://192.168.1.10:8080", "source": "detected"}
    app.config[public_address.CONFIG_KEY] = nothing
    health = client.get("/api/v1/health").get_json()
    assert health["status"] == "warning"
    assert "public_url" in health["components"]["public_address"]["detail"]
    floor = login("supervisor").get("/api/v1/floor").get_json()
    assert floor["public_address"]["status"] == "warning"


# --- dated ANS and the no-módulo alert ----------------------------------------------------

def test_a_dated_ans_entered_in_supervision_sets_the_live_target_and_the_alert(
        app: Flask, login, kiosk, clock):
    supervisor = login("supervisor")
    for valid_from, minutes in (("2026-01-01", 15), ("2026-11-28", 5)):  # the second: later
        assert supervisor.post("/api/v1/ans", {
            "queue": "RN", "max_wait_minutes": minutes, "max_attention_minutes": 20,
            "valid_from": valid_from}).status_code == 201
    supervisor.post("/api/v1/counters/1/open")  # someone serves RN: only the ANS is late
    assert kiosk(RN).status_code == 201
    [rn] = [q for q in supervisor.get("/api/v1/queues").get_json()["queues"]
            if q["code"] == "RN"]
    assert rn["max_wait_minutes"] == 15
    clock.advance(minutes=16)
    alerts = supervisor.get("/api/v1/floor").get_json()["alerts"]
    assert [a["message"] for a in alerts if a["kind"] == "ans"] == [
        "RENIEC: la espera más larga (16 min) supera el ANS de 15 min."]


def test_people_waiting_with_no_module_open_raise_an_alert_after_the_grace(
        login, kiosk, clock):
    supervisor = login("supervisor")
    kiosk(RN)
    kiosk(RN)
    clock.advance(minutes=9)
    assert no_counter(supervisor) == []
    clock.advance(minutes=2)
    assert no_counter(supervisor) == ["RENIEC: 2 personas esperan y no hay ningún módulo "
                                      "abierto para esta cola."]
    supervisor.post("/api/v1/counters/1/open")
    assert no_counter(supervisor) == []
    supervisor.post("/api/v1/counters/1/close")
    clock.advance(minutes=10)  # counted from the módulo's closing
    assert len(no_counter(supervisor)) == 1
    clock.advance(hours=10)  # 19:21 in Lima: the centre has closed, the jornada not yet
    assert no_counter(supervisor) == []


def no_counter(staff) -> list[str]:
    return [a["message"] for a in staff.get("/api/v1/floor").get_json()["alerts"]
            if a["kind"] == "no_counter"]


# --- the voice falling behind -----------------------------------------------------------

def test_the_voice_alert_follows_the_announcers_figures_and_stays_quiet_without_them():
    ok = {"behind_seconds": 10.0, "max_delay_seconds": 30.0, "dropped_last_10_min": 0}
    assert voice_alerts(ok) == [] and voice_alerts({"status": "ok"}) == []
    [late] = voice_alerts({**ok, "behind_seconds": 16.0})
    assert late["kind"] == "voice" and "16 s" in late["message"]
    [dropped] = voice_alerts({**ok, "dropped_last_10_min": 3})
    assert "3 llamadas" in dropped["message"]
    [dark] = voice_alerts({**ok, "dropped_last_10_min": 3, "tvs": 0, "local_playback": False})
    assert "ninguna pantalla está conectada" in dark["message"] and "3 llamadas" not in dark[
        "message"]
    [heard] = voice_alerts({**ok, "dropped_last_10_min": 3, "tvs": 0, "local_playback": True})
    assert "3 llamadas" in heard["message"]  # the box's own speaker said the others


def test_the_floor_reads_the_real_announcer_and_raises_no_voice_alert_when_idle(login):
    alerts = login("supervisor").get("/api/v1/floor").get_json()["alerts"]
    assert [a for a in alerts if a["kind"] == "voice"] == []


# --- a printer's roll nearly out -----------------------------------------------------------

@pytest.fixture
def printing_centre(tmp_path: Path, serial_printer: FakeSerialPrinter) -> Iterator[Flask]:
    data = demo_data()
    data["printers"] = [{"name": "recepcion", "transport": "serial",
                         "target": serial_printer.path, "reception": True}]
    settings = load_settings(data=data, environ={})
    store = open_store(settings, tmp_path,
                       clock=ManualClock(datetime.fromisoformat("2026-11-27T15:00:00+00:00")))
    day.open_day(store, actor="test")
    accounts.create_user(store, "orientador", "receptionist", PIN, security=settings.security)
    app = create_app(settings, store, TESTING=True, INTERFACE_ADDRESSES=lan)
    yield app
    parts.of(app).printing.stop()
    store.close()


def test_paper_near_end_raises_an_alert_and_the_printed_qr_carries_the_lan_address(
        printing_centre: Flask, serial_printer: FakeSerialPrinter):
    client = printing_centre.test_client()
    box = "http://127.0.0.1:8080"  # the orientador's browser on the box itself
    csrf = client.post("/api/v1/auth/login", json={"username": "orientador", "password": PIN},
                       base_url=box).get_json()["csrf_token"]
    headers = {"X-CSRF-Token": csrf}
    serial_printer.status = PAPER_NEAR_END
    ticket = client.post("/api/v1/tickets", json={"service_id": RN}, headers=headers,
                         base_url=box).get_json()
    assert wait_for(lambda: ticket["label"].encode() in serial_printer.received)
    assert b"http://192.168.1.10:8080/t/" in serial_printer.received
    assert b"127.0.0.1" not in serial_printer.received

    def paper_alerts() -> list[str]:
        floor = client.get("/api/v1/floor", base_url=box).get_json()
        return [a["message"] for a in floor["alerts"] if a["kind"] == "printer_paper"]

    assert wait_for(lambda: paper_alerts() == [
        "Impresora recepcion: queda poco papel. Cambie el rollo antes de que se acabe."])
    [printer] = client.get("/api/v1/printers", base_url=box).get_json()["printers"]
    assert (printer["state"], printer["paper"]) == ("ok", "near_end")

    serial_printer.status = PAPER_OK  # a new roll
    client.post("/api/v1/printers/recepcion/retry", json={}, headers=headers, base_url=box)
    assert wait_for(lambda: paper_alerts() == [])


# --- check-config ---------------------------------------------------------------------------

def test_check_config_names_the_qr_address_or_warns_that_phones_cannot_open_it(tmp_path):
    example = (Path(__file__).parent.parent / "systemd" / "centre.toml.example").read_text(
        encoding="utf-8")
    configured = tmp_path / "configured.toml"
    configured.write_text(example.replace("[server]\n", "[server]\npublic_url = "
                                          "\"http://192.168.1.10:8080\"\n", 1), encoding="utf-8")
    out = CliRunner().invoke(main, ["check-config", str(configured)])
    assert out.exit_code == 0
    assert "(configurada): http://192.168.1.10:8080" in out.stdout
    alone = tmp_path / "alone.toml"
    alone.write_text(example.replace("[server]\n", "[server]\nhost = \"127.0.0.1\"\n", 1),
                     encoding="utf-8")
    out = CliRunner().invoke(main, ["check-config", str(alone)])
    assert out.exit_code == 0 and "Aviso: El servidor escucha solo en 127.0.0.1" in out.stderr
