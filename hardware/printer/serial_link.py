"""A printer on a serial port (RS-232 or a USB-serial adapter), with pyserial.

The port is opened on first use and reopened after any error, so a printer unplugged and
plugged back in prints again without restarting the box.
"""

from __future__ import annotations

import threading
import time

import serial

from hardware.printer.status import (
    PAPER_STATUS_QUERY,
    PaperStatus,
    PrinterOffline,
    is_status_reply,
    parse_paper_status,
)


class SerialTransport:
    """Sends bytes to ``port`` and asks the printer for its paper with DLE EOT 4."""

    def __init__(self, port: str, baudrate: int = 19200, timeout: float = 2.0) -> None:
        self.port, self.baudrate, self.timeout = port, baudrate, timeout
        self._serial: serial.Serial | None = None
        self._lock = threading.Lock()

    def _open(self) -> serial.Serial:
        if self._serial is None:
            try:
                self._serial = serial.Serial(self.port, self.baudrate, timeout=self.timeout,
                                             write_timeout=self.timeout)
            except (OSError, ValueError) as exc:
                raise PrinterOffline(f"cannot open {self.port}: {exc}") from exc
        return self._serial

    def _drop(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except OSError:
                pass
            self._serial = None

    def send(self, data: bytes) -> None:
        """Write ``data``; the time allowed grows with its length at the line's speed."""
        with self._lock:
            port = self._open()
            try:
                # 10 bits a byte on the wire, twice over for flow-control pauses.
                port.write_timeout = self.timeout + 20 * len(data) / self.baudrate
                port.write(data)
            except OSError as exc:
                self._drop()
                raise PrinterOffline(f"writing to {self.port}: {exc}") from exc

    def paper_status(self) -> PaperStatus:
        """The paper sensor's state; UNKNOWN when the printer does not answer in time."""
        with self._lock:
            port = self._open()
            try:
                port.reset_input_buffer()
                port.write(PAPER_STATUS_QUERY)
                deadline = time.monotonic() + self.timeout
                while time.monotonic() < deadline:
                    port.timeout = max(deadline - time.monotonic(), 0.001)
                    byte = port.read(1)
                    if not byte:
                        break
                    if is_status_reply(byte[0]):  # skip XON/XOFF and stray bytes
                        return parse_paper_status(byte)
                return PaperStatus.UNKNOWN
            except OSError as exc:
                self._drop()
                raise PrinterOffline(f"asking {self.port} for status: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._drop()
