"""The seam between the print worker and a printer: three calls, and a factory that picks
the backend from the settings. Making a transport touches no device; the first call does.
Each backend's module (and its library: pyserial, pyusb through python-escpos) is imported
when a printer uses it."""

from __future__ import annotations

from typing import Protocol

from hardware.printer.file_link import FileTransport
from hardware.printer.network_link import NetworkTransport
from hardware.printer.settings import PrinterSettings, split_host_port, split_usb_ids
from hardware.printer.status import PaperStatus
from hardware.printer.virtual import VirtualTransport


class Transport(Protocol):
    """A way to a printer. Calls may block up to the printer's timeout; the worker makes
    them on its own thread. Failing to reach the printer raises ``PrinterOffline``."""

    def send(self, data: bytes) -> None:
        """Deliver one job's bytes."""
        ...

    def paper_status(self) -> PaperStatus:
        """Ask the printer about its paper (UNKNOWN when it cannot say)."""
        ...

    def close(self) -> None:
        """Release the device; a later call opens it again."""
        ...


def open_transport(settings: PrinterSettings) -> Transport:
    """The backend for ``settings.transport`` (ValueError for an unknown one or a malformed
    target; ``settings.validate()`` reports both in words)."""
    kind, target, timeout = settings.transport, settings.target, settings.timeout
    if kind == "serial":
        from hardware.printer.serial_link import SerialTransport

        return SerialTransport(target, settings.baudrate, timeout)
    if kind == "network":
        host, port = split_host_port(target)
        return NetworkTransport(host, port, timeout)
    if kind == "usb":
        vendor, product = split_usb_ids(target)
        from hardware.printer.usb_link import UsbTransport

        return UsbTransport(vendor, product, timeout)
    if kind == "file":
        return FileTransport(target)
    if kind == "virtual":
        return VirtualTransport(settings.codepage.upper(), settings.paper_dots)
    raise ValueError(f"unknown printer transport {kind!r}")
