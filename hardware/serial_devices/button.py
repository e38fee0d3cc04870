"""A call button at a módulo: a small serial device with two keys.

Line protocol (9600 8N1 by default), one command per line, ended by LF, CR or CRLF:

    N        llamar siguiente (also NEXT)
    R        volver a llamar (also RECALL)

Case does not matter; bytes outside printable ASCII are dropped, other lines and lines over
64 bytes are ignored (noise), and the same command repeated within ``debounce_seconds`` counts
once (a bouncing contact). Nothing is sent to the button.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from hardware.serial_devices.link import SerialDevice, log

COMMANDS = {"N": "next", "NEXT": "next", "R": "recall", "RECALL": "recall"}


def parse(line: str) -> str | None:
    """``next``, ``recall`` or None for anything else."""
    return COMMANDS.get(line.strip().upper())


class CallButton(SerialDevice):
    """Calls ``on_press("next" | "recall")`` from its own thread for each press."""

    kind = "button"

    def __init__(self, port: str, baudrate: int = 9600, *,
                 on_press: Callable[[str], None], debounce_seconds: float = 0.3,
                 **options: Any) -> None:
        super().__init__(port, baudrate, **options)
        self._on_press = on_press
        self.debounce_seconds = debounce_seconds
        self._last: tuple[str, float] = ("", 0.0)
        self.ignored = 0  # lines that were not a command: a sign of a noisy line

    def _line(self, text: str) -> None:
        command = parse(text)
        if command is None:
            self.ignored += 1
            log.debug("button on %s: ignored %r", self.port, text)
            return
        now = time.monotonic()
        if command == self._last[0] and now - self._last[1] < self.debounce_seconds:
            return
        self._last = (command, now)
        self._on_press(command)
