"""A printer on USB (printer class, raw bulk endpoints) through python-escpos and pyusb.

pyusb is optional: without it a USB printer reports offline with the reason, and the
config check says so before the day starts.
"""

from __future__ import annotations

import threading

from hardware.printer._escpos import RT_STATUS_PAPER, Usb
from hardware.printer.status import PaperStatus, PrinterOffline, parse_paper_status


class UsbTransport:
    """Sends bytes to the USB device ``vendor:product``."""

    def __init__(self, vendor: int, product: int, timeout: float = 2.0) -> None:
        self.vendor, self.product, self.timeout = vendor, product, timeout
        self._usb: Usb | None = None
        self._lock = threading.Lock()

    def _open(self) -> Usb:
        if not Usb.is_usable():
            raise PrinterOffline("USB printing needs pyusb, which is not installed")
        if self._usb is None:
            usb = Usb(self.vendor, self.product, timeout=int(self.timeout * 1000))
            try:
                usb.open()
            except Exception as exc:  # python-escpos raises its own DeviceNotFoundError
                raise PrinterOffline(f"USB {self.vendor:04x}:{self.product:04x}: {exc}") \
                    from exc
            self._usb = usb
        return self._usb

    def _drop(self) -> None:
        if self._usb is not None:
            try:
                self._usb.close()
            except Exception:  # closing a vanished device may fail any way
                pass
            self._usb = None

    def send(self, data: bytes) -> None:
        with self._lock:
            usb = self._open()
            try:
                usb._raw(data)  # python-escpos's only way to send prepared bytes
            except Exception as exc:
                self._drop()
                raise PrinterOffline(f"writing to USB printer: {exc}") from exc

    def paper_status(self) -> PaperStatus:
        """DLE EOT 4 over the bulk endpoints; UNKNOWN when the device cannot answer."""
        with self._lock:
            usb = self._open()
            try:
                reply = bytes(usb.query_status(RT_STATUS_PAPER))
            except Exception:  # many USB printers have no readable endpoint
                return PaperStatus.UNKNOWN
        return parse_paper_status(reply)

    def close(self) -> None:
        with self._lock:
            self._drop()
