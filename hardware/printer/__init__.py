"""Thermal ticket printing: a ticket to ESC/POS bytes, the ways to a printer, and the
worker that prints in order and retries. Imports nothing of ours (see README.md).

Importing the package loads no printer library: python-escpos (``_escpos``), pyserial and
the preview's Pillow and qrcode are imported by the code that uses them, so a box without a
printer does not hold them in memory."""

from __future__ import annotations

from hardware.printer.captions import CAPTIONS, captions
from hardware.printer.model import PrintableTicket, PrinterState, PrintJob
from hardware.printer.render import render
from hardware.printer.settings import PrinterSettings
from hardware.printer.status import PaperOut, PaperStatus, PrinterOffline
from hardware.printer.stream import decode_text, qr_payloads
from hardware.printer.transport import Transport, open_transport
from hardware.printer.virtual import VirtualTransport
from hardware.printer.worker import PrintWorker

__all__ = [
    "CAPTIONS", "PaperOut", "PaperStatus", "PrintJob", "PrintWorker", "PrintableTicket",
    "PrinterOffline", "PrinterSettings", "PrinterState", "Transport", "VirtualTransport",
    "captions", "decode_text", "open_transport", "qr_payloads", "render",
]
