"""What a printer can tell about itself: paper status and the errors of reaching it.

DLE EOT 4 (transmit real-time status, n = 4: roll paper sensor) is answered with one byte,
ESC/POS spec: bits 1 and 4 are always 1, bits 0 and 7 always 0; bits 2-3 are the roll
paper near-end sensor (11 = near end), bits 5-6 the roll paper end sensor (11 = paper not
present). Both bits of a pair are defined together; a printer setting only one of them is
read as reporting the condition, which errs on the side of not printing into nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

PAPER_STATUS_QUERY = b"\x10\x04\x04"  # DLE EOT 4
_FIXED_MASK = 0x93  # bits 0, 1, 4, 7
_FIXED_VALUE = 0x12  # bits 1 and 4 set, 0 and 7 clear
_NEAR_END = 0x0C  # bits 2-3
_PAPER_END = 0x60  # bits 5-6


class PaperStatus(StrEnum):
    """Paper as the printer reports it; ``UNKNOWN`` when it cannot or did not answer."""

    OK = "ok"
    NEAR_END = "near_end"
    OUT = "out"
    UNKNOWN = "unknown"


class PrinterOffline(OSError):
    """The printer cannot be reached (unplugged, switched off, refused, timed out)."""


class PaperOut(PrinterOffline):
    """The printer is there but has no paper."""


def is_status_reply(byte: int) -> bool:
    """Whether ``byte`` has the fixed bits of a real-time status reply (tells it apart from
    XON/XOFF or stray bytes on a serial line)."""
    return byte & _FIXED_MASK == _FIXED_VALUE


def parse_paper_status(reply: bytes) -> PaperStatus:
    """The paper status in the last valid DLE EOT 4 reply byte of ``reply``."""
    for byte in reversed(reply):
        if is_status_reply(byte):
            if byte & _PAPER_END:
                return PaperStatus.OUT
            if byte & _NEAR_END:
                return PaperStatus.NEAR_END
            return PaperStatus.OK
    return PaperStatus.UNKNOWN


class _Link(Protocol):
    def send(self, data: bytes) -> None: ...
    def paper_status(self) -> PaperStatus: ...
    def close(self) -> None: ...


class PaperWatch:
    """A transport that remembers the printer's last paper answer, so staff can be told the
    roll is nearly out before it is (the worker only acts on an empty roll). An UNKNOWN
    answer (a printer that does not report, or did not answer in time) keeps the last known
    one; a printer that never answered stays UNKNOWN."""

    def __init__(self, link: _Link) -> None:
        self.link = link
        self.paper = PaperStatus.UNKNOWN

    def send(self, data: bytes) -> None:
        self.link.send(data)

    def paper_status(self) -> PaperStatus:
        answer = self.link.paper_status()
        if answer is not PaperStatus.UNKNOWN:
            self.paper = answer
        return answer

    def close(self) -> None:
        self.link.close()
