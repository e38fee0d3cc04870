"""A printer on the LAN: raw TCP, usually port 9100 (JetDirect / "RAW" printing).

One connection per job or status query: printers serve one connection at a time, and a
connection left open would keep a second box (or a test print from a laptop) out.
"""

from __future__ import annotations

import socket
import time

from hardware.printer.status import (
    PAPER_STATUS_QUERY,
    PaperStatus,
    PrinterOffline,
    parse_paper_status,
)

DRAIN_SECONDS = 0.5


class NetworkTransport:
    """Sends bytes to ``host:port`` and asks for the paper with DLE EOT 4 on it."""

    def __init__(self, host: str, port: int = 9100, timeout: float = 2.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout

    def _connect(self) -> socket.socket:
        try:
            return socket.create_connection((self.host, self.port), timeout=self.timeout)
        except OSError as exc:
            raise PrinterOffline(f"cannot reach {self.host}:{self.port}: {exc}") from exc

    def send(self, data: bytes) -> None:
        """Send ``data`` and close politely: half-close, then read what the printer still
        says (status bytes), because closing with unread data resets the connection and a
        printer may drop a job that was reset."""
        with self._connect() as sock:
            try:
                sock.sendall(data)
                sock.shutdown(socket.SHUT_WR)
            except OSError as exc:  # a timeout here: the printer stopped taking data
                raise PrinterOffline(f"sending to {self.host}:{self.port}: {exc}") from exc
            try:
                deadline = time.monotonic() + min(self.timeout, DRAIN_SECONDS)
                while (left := deadline - time.monotonic()) > 0:
                    sock.settimeout(left)
                    if not sock.recv(256):
                        break
            except OSError:
                pass  # all sent; the printer keeps the connection open or reset it

    def paper_status(self) -> PaperStatus:
        """The paper sensor's state; UNKNOWN when the printer does not answer in time."""
        with self._connect() as sock:
            try:
                sock.sendall(PAPER_STATUS_QUERY)
                reply = sock.recv(16)
            except TimeoutError:
                return PaperStatus.UNKNOWN
            except OSError as exc:
                raise PrinterOffline(f"asking {self.host}:{self.port}: {exc}") from exc
        return parse_paper_status(reply)

    def close(self) -> None:
        """Nothing stays open between jobs."""
