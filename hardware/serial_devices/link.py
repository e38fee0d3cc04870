"""A serial device that keeps itself connected: one thread opens the port, reads lines,
writes what is pending, and reopens the port after it vanished (a USB adapter unplugged and
plugged back), reporting each change of state through a callback.

Nothing here blocks the caller: ``start``, ``stop`` and the subclasses' public methods only
set state and return; the port is touched by the device's own thread alone.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

# Device traffic has its own logger, so a flapping cable never floods the main log.
log = logging.getLogger("mac_turnos.devices")

MAX_LINE = 64  # longer "lines" are noise (a wrong baud rate, a floating input)

Opener = Callable[..., Any]


def printable(data: bytes) -> str:
    """The printable ASCII of ``data``: line noise (NUL, 0xFF, framing errors) dropped."""
    return "".join(chr(b) for b in data if 32 <= b < 127).strip()


class LineSplitter:
    """Bytes in, complete lines out; CR, LF or CRLF end a line; overlong lines are dropped."""

    def __init__(self) -> None:
        self._buffer = b""
        self._overflow = False

    def reset(self) -> None:
        self._buffer, self._overflow = b"", False

    def feed(self, data: bytes) -> list[str]:
        lines = []
        self._buffer += data
        while True:
            cut = min((i for i in (self._buffer.find(b"\n"), self._buffer.find(b"\r"))
                       if i >= 0), default=-1)
            if cut < 0:
                break
            raw, self._buffer = self._buffer[:cut], self._buffer[cut + 1:]
            text = printable(raw)
            if text and not self._overflow:
                lines.append(text)
            self._overflow = False
        if len(self._buffer) > MAX_LINE:
            self._buffer, self._overflow = b"", True
        return lines


def _pyserial() -> Opener:
    """pyserial's ``Serial``, imported when a device is configured: a server without call
    buttons or number signs does not load it."""
    import serial

    return serial.Serial


class SerialDevice:
    """The connection loop shared by the call button and the number sign.

    ``on_state(connected)`` is called from the device's thread on every change; an exception
    in it is logged and ignored. ``opener`` defaults to ``serial.Serial`` (tests may pass
    another)."""

    kind = "device"

    def __init__(self, port: str, baudrate: int = 9600, *,
                 on_state: Callable[[bool], None] | None = None, retry_seconds: float = 1.0,
                 poll_seconds: float = 0.05, opener: Opener | None = None) -> None:
        self.port, self.baudrate = port, baudrate
        self.retry_seconds, self.poll_seconds = retry_seconds, poll_seconds
        self._on_state = on_state
        self._opener: Opener = opener or _pyserial()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._connected = False
        self._splitter = LineSplitter()

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name=f"{self.kind}:{self.port}")
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # --- hooks for the subclasses -----------------------------------------------------------

    def _opened(self) -> None:
        """The port was (re)opened: e.g. the sign shows its label again."""

    def _line(self, text: str) -> None:
        """A complete line arrived from the device."""

    def _pending(self) -> bytes | None:
        """Bytes to send now, if any."""
        return None

    # --- the loop ---------------------------------------------------------------------------

    def _set_state(self, connected: bool, detail: str = "") -> None:
        if connected == self._connected:
            return
        self._connected = connected
        log.info("%s on %s %s%s", self.kind, self.port,
                 "connected" if connected else "disconnected", f": {detail}" if detail else "")
        if self._on_state is not None:
            try:
                self._on_state(connected)
            except Exception:
                log.exception("state callback of %s on %s failed", self.kind, self.port)

    def _open(self) -> Any | None:
        try:
            link = self._opener(self.port, self.baudrate, timeout=self.poll_seconds,
                                write_timeout=1.0)
        except (OSError, ValueError):
            return None
        self._splitter.reset()
        return link

    def _run(self) -> None:
        link = None
        while not self._stop.is_set():
            if link is None:
                link = self._open()
                if link is None:
                    self._stop.wait(self.retry_seconds)
                    continue
                self._set_state(True)
                self._opened()
            try:
                self._exchange(link)
            except (OSError, ValueError, TypeError) as exc:  # pyserial's errors are OSErrors
                self._close(link)
                link = None
                self._set_state(False, str(exc))
                self._stop.wait(self.retry_seconds)
        if link is not None:  # stopped with the server: not a device going away
            self._close(link)
            self._connected = False

    def _exchange(self, link: Any) -> None:
        if not os.path.exists(self.port):  # the device node went away with the USB cable
            raise OSError(f"{self.port} no longer exists")
        out = self._pending()
        if out:
            link.write(out)
        data = link.read(256)  # waits up to poll_seconds
        for text in self._splitter.feed(data or b""):
            try:
                self._line(text)
            except Exception:
                log.exception("handling %r from %s on %s failed", text, self.kind, self.port)

    @staticmethod
    def _close(link: Any) -> None:
        try:
            link.close()
        except (OSError, ValueError):
            pass
