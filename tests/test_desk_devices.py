"""Módulo hardware on pseudo-terminals: a call button's press calls the next ticket and the LED
sign receives the new label; unplugging (the port vanishes) and plugging back in (a new
pseudo-terminal behind the same name) is survived and reported. Also the automatic no-show.
"""

from __future__ import annotations

import json
import os
import select
import threading
import tty
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from appliance import parts
from appliance.app import create_app
from appliance.desk_devices import problems
from appliance.runtime import open_store
from config.demo import demo_data
from config.loader import load_settings
from hardware.serial_devices import CallButton, LineSplitter, NumberSign, parse, sign_text
from tests.conftest import START
from tests.test_printer_transports import wait_for
from turnero import calls, day, desk, floor, tickets
from turnero.clock import ManualClock
from turnero.store import Store


class FakePort:
    """A serial device at a stable path (a symlink, like /dev/serial/by-id/...) backed by a
    pseudo-terminal: ``unplug`` closes the terminal and removes the name, ``plug`` makes a new
    terminal behind the same name. Keeps what the box wrote; ``send`` plays the device."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._received = bytearray()
        self._lock = threading.Lock()
        self.master: int | None = None
        self.slave: int | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.plug()
        self._thread.start()

    @property
    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    def plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        self.master, self.slave = master, slave
        os.symlink(os.ttyname(slave), self.path)

    def unplug(self) -> None:
        self.path.unlink()
        master, slave, self.master, self.slave = self.master, self.slave, None, None
        for fd in (master, slave):
            if fd is not None:
                os.close(fd)

    def send(self, data: bytes) -> None:
        assert self.master is not None
        os.write(self.master, data)

    def _run(self) -> None:
        while not self._stop.is_set():
            fd = self.master
            if fd is None:
                self._stop.wait(0.01)
                continue
            try:
                ready, _, _ = select.select([fd], [], [], 0.02)
                if ready:
                    data = os.read(fd, 4096)
                    with self._lock:
                        self._received += data
            except OSError:
                self._stop.wait(0.01)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        if self.master is not None:
            self.unplug()


@pytest.fixture
def ports(tmp_path: Path) -> Iterator[dict[str, FakePort]]:
    made = {name: FakePort(tmp_path / f"tty-{name}") for name in ("button", "sign")}
    yield made
    for port in made.values():
        port.close()


# --- the line protocol ------------------------------------------------------------------------

def test_a_button_line_is_next_or_recall_in_any_case_and_anything_else_is_ignored():
    assert [parse(x) for x in ("N", "n", "NEXT", " R ", "recall", "X", "", "NN")] == \
        ["next", "next", "next", "recall", "recall", None, None, None]


def test_the_line_splitter_drops_noise_and_overlong_lines():
    splitter = LineSplitter()
    assert splitter.feed(b"\x00\xffN\r\n") == ["N"]
    assert splitter.feed(b"R") == []
    assert splitter.feed(b"\n\r\n\n") == ["R"]
    assert splitter.feed(b"\xaa" * 10 + b"Z" * 100) == []
    assert splitter.feed(b"tail of the noise\nN\n") == ["N"]


def test_the_sign_gets_plain_upper_case_ascii_and_the_whole_label():
    assert sign_text("rn-1000") == "RN-1000"
    assert sign_text("Ñá-001\x07") == "NA-001"


# --- the devices on pseudo-terminals ----------------------------------------------------------

def test_a_button_press_reaches_the_callback_once_despite_noise_and_bounce(ports):
    presses: list[str] = []
    button = CallButton(str(ports["button"].path), on_press=presses.append,
                        debounce_seconds=0.3, retry_seconds=0.05)
    button.start()
    try:
        assert wait_for(lambda: button.connected)
        ports["button"].send(b"\xff\x00garbage\nN\nN\n")  # noise, then a bouncing contact
        assert wait_for(lambda: presses == ["next"])
        ports["button"].send(b"R\r\n")
        assert wait_for(lambda: presses == ["next", "recall"])
        assert button.ignored == 1
    finally:
        button.stop()


def test_a_sign_shows_the_latest_label_without_blocking_the_caller(ports):
    sign = NumberSign(str(ports["sign"].path), retry_seconds=0.05)
    sign.start()
    try:
        assert wait_for(lambda: sign.connected)
        sign.show("RN-023")
        assert wait_for(lambda: ports["sign"].received.endswith(b"RN-023\r\n"))
        sign.clear()
        assert wait_for(lambda: ports["sign"].received.endswith(b"RN-023\r\n\r\n"))
    finally:
        sign.stop()


def test_unplugging_and_plugging_back_is_reported_and_the_sign_shows_its_label_again(ports):
    states: list[bool] = []
    port = ports["sign"]
    sign = NumberSign(str(port.path), on_state=states.append, retry_seconds=0.05)
    sign.show("BN-007")
    sign.start()
    try:
        assert wait_for(lambda: port.received == b"BN-007\r\n")
        port.unplug()
        assert wait_for(lambda: states == [True, False])
        sign.show("BN-008")  # while unplugged: returns at once, sent on return
        port.plug()
        assert wait_for(lambda: states == [True, False, True])
        assert wait_for(lambda: port.received.endswith(b"BN-008\r\n"))
    finally:
        sign.stop()


def test_a_device_whose_port_is_missing_at_start_connects_when_it_appears(tmp_path):
    path = tmp_path / "tty-late"
    states: list[bool] = []
    button = CallButton(str(path), on_press=lambda c: None, on_state=states.append,
                        retry_seconds=0.05)
    button.start()
    try:
        assert not button.connected
        port = FakePort(path)
        try:
            assert wait_for(lambda: states == [True])
        finally:
            port.close()
        assert wait_for(lambda: states == [True, False])
    finally:
        button.stop()


# --- wired to the engine ----------------------------------------------------------------------

@pytest.fixture
def wired(tmp_path: Path, ports: dict[str, FakePort]) -> Iterator[tuple[Store, object]]:
    data = demo_data()
    data["desk_devices"] = [
        {"counter": 1, "kind": "button", "port": str(ports["button"].path)},
        {"counter": 1, "kind": "sign", "port": str(ports["sign"].path), "baudrate": 19200}]
    settings = load_settings(data=data, environ={})
    assert problems(settings) == []
    store = open_store(settings, tmp_path, clock=ManualClock(START))
    day.open_day(store, actor="test")
    app = create_app(settings, store, TESTING=True, DESK_RETRY_SECONDS=0.05)
    yield store, app
    parts.of(app).desk.stop()
    parts.of(app).printing.stop()
    store.close()


def device_events(store: Store) -> list[tuple[str, bool]]:
    rows = store.reader().execute("SELECT payload FROM events WHERE kind = "
                                  "'desk_device.status' ORDER BY seq").fetchall()
    return [(p["device"], p["connected"]) for p in (json.loads(r[0]) for r in rows)]


def health(app: object) -> dict:
    return app.test_client().get("/api/v1/health").get_json()["components"]["desk_devices"]


def rn_service(store: Store) -> int:
    return store.reader().execute("SELECT id FROM services WHERE queue = 'RN' "
                                  "ORDER BY id").fetchone()[0]


def test_a_button_press_calls_the_next_ticket_and_the_sign_receives_its_label(wired, ports):
    store, app = wired
    first, _ = tickets.issue_ticket(store, service_id=rn_service(store), channel="reception")
    floor.change_counter(store, 1, "open", actor="test")
    assert wait_for(lambda: health(app)["status"] == "ok")
    ports["button"].send(b"N\n")
    assert wait_for(lambda: ports["sign"].received.endswith(f"{first['label']}\r\n".encode()))
    row = store.reader().execute("SELECT actor, counter, ticket FROM events WHERE kind = "
                                 "'ticket.called'").fetchone()
    assert tuple(row) == ("button:1", 1, first["uid"])
    ports["button"].send(b"R\n")
    assert wait_for(lambda: store.reader().execute(
        "SELECT COUNT(*) FROM events WHERE kind = 'ticket.recalled' AND actor = 'button:1'"
    ).fetchone()[0] == 1)
    calls.start(store, 1, actor="asesor")
    calls.finish(store, 1, actor="asesor")
    assert wait_for(lambda: ports["sign"].received.endswith(b"\r\n\r\n"))  # blanked


def test_unplugged_devices_are_reported_and_work_again_when_plugged_back(wired, ports):
    store, app = wired
    floor.change_counter(store, 1, "open", actor="test")
    labels = [tickets.issue_ticket(store, service_id=rn_service(store),
                                   channel="reception")[0]["label"] for _ in range(2)]
    assert wait_for(lambda: sorted(device_events(store)) == [("button", True), ("sign", True)])
    for port in ports.values():
        port.unplug()
    assert wait_for(lambda: not any(d["connected"] for d in health(app)["devices"]))
    assert health(app)["status"] == "warning"
    assert wait_for(lambda: sorted(device_events(store)[2:]) == [("button", False),
                                                                 ("sign", False)])
    calls.call_next(store, 1, actor="asesor")  # the desk works while the sign is away
    for port in ports.values():
        port.plug()
    assert wait_for(lambda: all(d["connected"] for d in health(app)["devices"]))
    assert health(app)["status"] == "ok"
    assert wait_for(lambda: sorted(device_events(store)[4:]) == [("button", True),
                                                                 ("sign", True)])
    assert wait_for(lambda: ports["sign"].received.endswith(f"{labels[0]}\r\n".encode()))
    calls.no_show(store, 1, actor="asesor")
    ports["button"].send(b"N\n")
    assert wait_for(lambda: ports["sign"].received.endswith(f"{labels[1]}\r\n".encode()))


def test_a_device_for_a_modulo_that_does_not_exist_is_a_config_problem():
    data = demo_data()
    data["desk_devices"] = [{"counter": 999, "kind": "sign", "port": "/dev/ttyUSB0"},
                            {"counter": 1, "kind": "button", "port": "/dev/ttyUSB0"}]
    settings = load_settings(data=data, environ={})
    assert problems(settings) == [(("desk_devices", 0, "counter"), "no módulo 999"),
                                  (("desk_devices", 1, "port"), "'/dev/ttyUSB0' is used twice")]


# --- the automatic no-show --------------------------------------------------------------------

@pytest.fixture
def floor_store(open_store_day: Store) -> Store:
    floor.change_counter(open_store_day, 1, "open", actor="test")
    floor.change_counter(open_store_day, 2, "open", actor="test")
    for _ in range(3):
        tickets.issue_ticket(open_store_day, service_id=rn_service(open_store_day),
                             channel="reception")
    return open_store_day


def test_automatic_no_show_after_recalls_waits_the_grace_after_the_last_call(
        floor_store: Store, clock: ManualClock):
    called = calls.call_next(floor_store, 1, actor="asesor")
    for _ in range(2):
        calls.recall(floor_store, 1, actor="asesor")
    clock.advance(seconds=30)
    assert desk.auto_no_show(floor_store, recalls=2, grace_seconds=60) == []
    clock.advance(seconds=31)
    marked = desk.auto_no_show(floor_store, recalls=2, grace_seconds=60)
    assert marked == [{"counter": 1, "uid": called["uid"], "label": called["label"],
                       "reason": "recalls"}]
    assert calls.call_next(floor_store, 1, actor="asesor") is not None  # the módulo is free


def test_automatic_no_show_by_minutes_spares_tickets_in_attention_and_when_off(
        floor_store: Store, clock: ManualClock):
    waiting = calls.call_next(floor_store, 1, actor="asesor")
    served = calls.call_next(floor_store, 2, actor="asesor")
    calls.start(floor_store, 2, actor="asesor")
    clock.advance(minutes=10)
    assert desk.auto_no_show(floor_store) == []  # both rules off
    assert desk.auto_no_show(floor_store, minutes=11) == []
    marked = desk.auto_no_show(floor_store, minutes=10)
    assert [m["uid"] for m in marked] == [waiting["uid"]]
    row = floor_store.reader().execute(
        "SELECT actor, payload FROM events WHERE kind = 'ticket.no_show'").fetchone()
    assert row["actor"] == desk.AUTO_ACTOR and json.loads(row["payload"])["auto"] == "minutes"
    assert served["uid"] not in [m["uid"] for m in desk.auto_no_show(floor_store, minutes=1)]
    assert clock.now() - START >= timedelta(minutes=10)


def test_the_automatic_no_show_worker_runs_by_itself_in_the_server(tmp_path: Path):
    data = demo_data()
    data["counter"] = {"auto_no_show_recalls": 1, "auto_no_show_grace_seconds": 30}
    settings = load_settings(data=data, environ={})
    clock = ManualClock(START)
    store = open_store(settings, tmp_path, clock=clock)
    day.open_day(store, actor="test")
    app = create_app(settings, store, TESTING=True, AUTO_NO_SHOW_SECONDS=0.05)
    try:
        floor.change_counter(store, 1, "open", actor="test")
        tickets.issue_ticket(store, service_id=rn_service(store), channel="reception")
        calls.call_next(store, 1, actor="asesor")
        calls.recall(store, 1, actor="asesor")
        clock.advance(seconds=31)
        assert wait_for(lambda: store.reader().execute(
            "SELECT actor FROM events WHERE kind = 'ticket.no_show'").fetchone() is not None)
    finally:
        parts.of(app).desk.stop()
        parts.of(app).printing.stop()
        store.close()
