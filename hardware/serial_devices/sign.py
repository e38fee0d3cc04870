"""An LED number sign above a módulo: shows the label of the ticket it is attending.

Line protocol (9600 8N1 by default): the box sends the text to show as one line of printable
ASCII ended by CR LF, e.g. ``RN-023\\r\\n``; an empty line (``\\r\\n``) blanks the sign.
Labels are never cut (``RN-1000``): a sign narrower than the text scrolls it. Accented
letters are sent without their accent. Whatever the sign sends back is read and ignored
(reading is how an unplugged sign is noticed). After every (re)connection the current text
is sent again, so a sign plugged back in shows the right number at once.
"""

from __future__ import annotations

import threading
import unicodedata
from typing import Any

from hardware.serial_devices.link import SerialDevice, printable


def sign_text(label: str) -> str:
    """``label`` as the sign can show it: ASCII, upper case, no control characters."""
    plain = unicodedata.normalize("NFKD", label).encode("ascii", "ignore")
    return printable(plain).upper()


class NumberSign(SerialDevice):
    """``show(label)`` returns at once; the device's thread sends the latest text."""

    kind = "sign"

    def __init__(self, port: str, baudrate: int = 9600, **options: Any) -> None:
        super().__init__(port, baudrate, **options)
        self._lock = threading.Lock()
        self._text = ""
        self._dirty = False

    @property
    def text(self) -> str:
        """What the sign shows (or will show once connected)."""
        return self._text

    def show(self, label: str) -> None:
        with self._lock:
            text = sign_text(label)
            if text != self._text:
                self._text, self._dirty = text, True

    def clear(self) -> None:
        self.show("")

    def _opened(self) -> None:
        with self._lock:
            self._dirty = True

    def _pending(self) -> bytes | None:
        with self._lock:
            if not self._dirty:
                return None
            self._dirty = False
            return self._text.encode("ascii") + b"\r\n"
