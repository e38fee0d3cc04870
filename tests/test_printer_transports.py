"""The ways to a printer, each against something real: a serial printer on a pseudo-terminal,
a network printer on 127.0.0.1, a file, and the virtual printer. The fake printers answer
DLE EOT 4 like a real one; everything else they receive is kept to compare byte for byte.
"""

from __future__ import annotations

import io
import os
import select
import socket
import threading
import time
import tty
from collections.abc import Callable, Iterator

import pytest
import zxingcpp
from PIL import Image

from hardware.printer import PaperStatus, PrinterOffline, VirtualTransport, open_transport, render
from hardware.printer.file_link import FileTransport
from hardware.printer.network_link import NetworkTransport
from hardware.printer.serial_link import SerialTransport
from hardware.printer.status import PAPER_STATUS_QUERY, PaperOut
from tests.test_printer import URL, make_settings, make_ticket

PAPER_OK, PAPER_NEAR_END, PAPER_OUT = 0x12, 0x1E, 0x72


def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    """Poll ``condition`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


class FakeSerialPrinter:
    """The printer end of a pseudo-terminal: answers DLE EOT 4 with ``status`` and keeps
    every other byte in ``received``."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        self.status = PAPER_OK
        self.answer = True
        self.queries = 0
        self._received = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    def _run(self) -> None:
        pending = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.02)
            if not ready:
                continue
            try:
                pending += os.read(self.master, 4096)
            except OSError:
                continue
            while PAPER_STATUS_QUERY in pending:
                before, _, pending = pending.partition(PAPER_STATUS_QUERY)
                with self._lock:
                    self._received += before
                    self.queries += 1
                if self.answer:
                    os.write(self.master, bytes([self.status]))
            # Keep a query that may be cut between two reads.
            keep = next((k for k in (2, 1) if pending.endswith(PAPER_STATUS_QUERY[:k])), 0)
            with self._lock:
                self._received += pending[:len(pending) - keep]
            pending = pending[len(pending) - keep:]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self.master)
        os.close(self.slave)


class FakeNetworkPrinter:
    """A raw-TCP printer on 127.0.0.1: answers DLE EOT 4 with ``status``; every other
    connection's bytes, read to the end, are one job in ``jobs``."""

    def __init__(self, port: int = 0) -> None:
        self.status = PAPER_OK
        self.jobs: list[bytes] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(4)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                try:
                    while chunk := conn.recv(4096):
                        data += chunk
                        if data == PAPER_STATUS_QUERY:
                            conn.sendall(bytes([self.status]))
                except OSError:
                    continue
                if data != PAPER_STATUS_QUERY:
                    self.jobs.append(data)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def free_port() -> int:
    """A loopback port nobody listens on (connecting to it is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def network_printer() -> Iterator[FakeNetworkPrinter]:
    printer = FakeNetworkPrinter()
    yield printer
    printer.close()


def test_a_serial_printer_receives_the_ticket_bytes_exactly(serial_printer):
    data = render(make_ticket(), make_settings())
    assert PAPER_STATUS_QUERY not in data  # so the fake printer's split is exact
    link = SerialTransport(serial_printer.path, 115200, timeout=2.0)
    try:
        link.send(data)
        assert wait_for(lambda: serial_printer.received == data)
    finally:
        link.close()


@pytest.mark.parametrize(("byte", "status"), [
    (PAPER_OK, PaperStatus.OK), (PAPER_NEAR_END, PaperStatus.NEAR_END),
    (PAPER_OUT, PaperStatus.OUT)])
def test_a_serial_printer_reports_its_paper_through_dle_eot_4(serial_printer, byte, status):
    serial_printer.status = byte
    link = SerialTransport(serial_printer.path, 19200, timeout=2.0)
    try:
        assert link.paper_status() is status
        assert serial_printer.queries == 1
    finally:
        link.close()


def test_a_silent_serial_printer_has_unknown_paper_after_the_timeout(serial_printer):
    serial_printer.answer = False
    link = SerialTransport(serial_printer.path, 19200, timeout=0.2)
    try:
        assert link.paper_status() is PaperStatus.UNKNOWN
    finally:
        link.close()


def test_a_missing_serial_port_is_offline(tmp_path):
    link = SerialTransport(str(tmp_path / "ttyUSB9"), 19200, timeout=0.2)
    with pytest.raises(PrinterOffline, match="cannot open"):
        link.send(b"\x1b@")


def test_a_network_printer_receives_the_bytes_and_answers_the_status_query(network_printer):
    data = render(make_ticket(), make_settings())
    link = NetworkTransport("127.0.0.1", network_printer.port, timeout=2.0)
    network_printer.status = PAPER_NEAR_END
    assert link.paper_status() is PaperStatus.NEAR_END
    link.send(data)
    assert wait_for(lambda: network_printer.jobs == [data])


def test_a_refused_network_connection_is_offline():
    link = NetworkTransport("127.0.0.1", free_port(), timeout=1.0)
    with pytest.raises(PrinterOffline, match="cannot reach"):
        link.send(b"\x1b@")
    with pytest.raises(PrinterOffline):
        link.paper_status()


def test_the_file_transport_appends_each_job(tmp_path):
    path = tmp_path / "printer.bin"
    link = open_transport(make_settings(transport="file", target=str(path)))
    assert isinstance(link, FileTransport)
    link.send(b"first")
    link.send(b"second")
    assert path.read_bytes() == b"firstsecond"
    assert link.paper_status() is PaperStatus.OK


def test_a_file_in_a_missing_directory_is_offline(tmp_path):
    link = FileTransport(tmp_path / "nowhere" / "printer.bin")
    with pytest.raises(PrinterOffline):
        link.send(b"x")


def test_the_virtual_printer_keeps_the_bytes_and_a_png_whose_qr_scans_to_the_url():
    settings = make_settings()
    link = open_transport(settings)
    assert isinstance(link, VirtualTransport)
    assert link.last_preview_png() is None
    data = render(make_ticket(), settings)
    link.send(data)
    assert link.jobs() == [data]
    png = link.last_preview_png()
    assert png is not None and png.startswith(b"\x89PNG")
    image = Image.open(io.BytesIO(png))
    assert 560 <= image.width <= 640
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [URL]
    assert link.last_preview_png() is png  # drawn once, then kept


def test_the_virtual_printer_keeps_only_the_last_jobs():
    link = VirtualTransport(keep=3)
    for n in range(5):
        link.send(bytes([n]))
    assert link.jobs() == [b"\x02", b"\x03", b"\x04"]


def test_a_virtual_printer_told_it_has_no_paper_reports_it_and_refuses_jobs():
    link = VirtualTransport()
    link.set_paper_out(True)
    assert link.paper_status() is PaperStatus.OUT
    with pytest.raises(PaperOut):
        link.send(b"x")
    link.set_paper_out(False)
    link.send(b"x")
    assert link.jobs() == [b"x"]


def test_open_transport_builds_each_backend_without_touching_a_device():
    assert isinstance(open_transport(make_settings(transport="serial", target="/dev/nope")),
                      SerialTransport)
    net = open_transport(make_settings(transport="network", target="[::1]:9100"))
    assert isinstance(net, NetworkTransport) and (net.host, net.port) == ("::1", 9100)
    with pytest.raises(ValueError):
        open_transport(make_settings(transport="network", target="no-port"))


def test_a_usb_printer_that_is_not_plugged_in_is_offline():
    """pyusb and libusb are installed with the appliance; no printer is on this bus."""
    from hardware.printer.usb_link import UsbTransport

    settings = make_settings(transport="usb", target="0x04b8:0x0202")
    assert settings.validate() == []
    link = open_transport(settings)
    assert isinstance(link, UsbTransport) and (link.vendor, link.product) == (0x04B8, 0x0202)
    with pytest.raises(PrinterOffline, match="04b8:0202"):
        link.send(b"\x1b@")
    with pytest.raises(PrinterOffline):
        link.paper_status()
