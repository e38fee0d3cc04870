"""How to reach one printer and what it can do, with a check the config loader can report."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from hardware.printer import codepage

Transport = Literal["usb", "serial", "network", "file", "virtual"]
TRANSPORTS = ("usb", "serial", "network", "file", "virtual")
DOTS_PER_CHAR = 12  # font A is 12 x 24 dots on 180 and 203 dpi printers

_USB_TARGET = re.compile(r"^0x[0-9a-fA-F]{1,4}:0x[0-9a-fA-F]{1,4}$")
_HOST = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$")


@dataclass(frozen=True)
class PrinterSettings:
    """One printer: ``target`` is "/dev/ttyUSB0" (serial), "host:port" (network), a path
    (file), "0x04b8:0x0202" vendor:product (usb), ignored for virtual. ``width`` is
    characters per line in font A (48 on 80 mm paper, 32 on 58 mm)."""

    name: str
    transport: Transport
    target: str
    baudrate: int = 19200
    profile: str = "default"
    codepage: str = "CP858"
    width: int = 48
    timeout: float = 2.0

    @property
    def paper_dots(self) -> int:
        """Printable width in dots: what the QR image is centred in, and the preview's."""
        return self.width * DOTS_PER_CHAR

    def validate(self) -> list[str]:
        """Every problem that would stop this printer from printing right, in English for
        the config checker; an empty list when it can be used."""
        problems: list[str] = []
        if not self.name.strip():
            problems.append("the printer needs a name")
        if self.transport not in TRANSPORTS:
            problems.append(f"unknown transport {self.transport!r}; use one of "
                            + ", ".join(TRANSPORTS))
        else:
            problems += _target_problems(self.transport, self.target)
        if self.baudrate <= 0:
            problems.append(f"baudrate must be positive, not {self.baudrate}")
        if self.timeout <= 0:
            problems.append(f"timeout must be positive, not {self.timeout}")
        if not 24 <= self.width <= 80:
            problems.append(f"width {self.width} is not between 24 and 80 characters")
        from hardware.printer._escpos import CAPABILITIES  # on first use: see _escpos

        if self.profile not in CAPABILITIES["profiles"]:
            problems.append(f"unknown printer profile {self.profile!r} (python-escpos "
                            "capabilities; e.g. 'default', 'TM-T20II')")
            return problems
        problems += _profile_problems(self)
        return problems


def split_host_port(target: str) -> tuple[str, int]:
    """("host", port) of "host:port" or "[v6]:port"; ValueError when malformed."""
    host, sep, port = target.rpartition(":")
    if not sep or not _HOST.match(host) or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not host:port: {target!r}")
    return host.strip("[]"), int(port)


def split_usb_ids(target: str) -> tuple[int, int]:
    """(vendor, product) of "0x04b8:0x0202"; ValueError when malformed."""
    if not _USB_TARGET.match(target):
        raise ValueError(f"not 0xVVVV:0xPPPP: {target!r}")
    vendor, product = target.split(":")
    return int(vendor, 16), int(product, 16)


def _target_problems(transport: str, target: str) -> list[str]:
    if transport == "virtual":
        return []
    if not target.strip():
        return [f"a {transport} printer needs a target"]
    if transport == "network":
        try:
            split_host_port(target)
        except ValueError:
            return [f"network target {target!r} is not host:port (e.g. 192.0.2.10:9100)"]
    elif transport == "usb":
        try:
            split_usb_ids(target)
        except ValueError:
            return [f"usb target {target!r} is not vendor:product (e.g. 0x04b8:0x0202)"]
        from hardware.printer._escpos import Usb

        if not Usb.is_usable():
            return ["the usb transport needs pyusb, which is not installed"]
    elif transport == "serial" and not target.startswith("/"):
        return [f"serial target {target!r} is not a device path (e.g. /dev/ttyUSB0)"]
    return []


def _profile_problems(s: PrinterSettings) -> list[str]:
    """The code page must be one the model has and must hold Spanish; the line must fit."""
    from hardware.printer._escpos import get_profile

    problems = []
    pages = get_profile(s.profile).get_code_pages()
    page = s.codepage.upper()
    if page not in pages or page == "UNKNOWN" or not codepage.known(page):
        problems.append(f"code page {s.codepage!r} is not one the {s.profile} profile "
                        "offers (CP858 or CP850 suit Spanish)")
    elif not codepage.can_encode(codepage.REQUIRED, page):
        problems.append(f"code page {s.codepage!r} cannot print "
                        f"{codepage.missing(codepage.REQUIRED, page)!r}; use CP858 or CP850")
    pixels = get_profile(s.profile).profile_data["media"]["width"].get("pixels")
    if isinstance(pixels, int) and s.paper_dots > pixels:
        problems.append(f"width {s.width} does not fit the {s.profile}: it prints "
                        f"{pixels // DOTS_PER_CHAR} characters per line")
    return problems
