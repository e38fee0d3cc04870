"""A printer that prints nowhere: it keeps the last jobs' bytes and draws a PNG of the last
ticket, for demos and for staff to see what would have printed. It can be told it is out
of paper or unplugged, to show how the rest of the box reacts."""

from __future__ import annotations

import threading
from collections import deque

from hardware.printer.status import PaperOut, PaperStatus, PrinterOffline

KEEP_JOBS = 50


class VirtualTransport:
    """Keeps at most ``keep`` jobs in memory (oldest dropped first)."""

    def __init__(self, codepage: str = "CP858", paper_dots: int = 576,
                 keep: int = KEEP_JOBS) -> None:
        self.codepage, self.paper_dots = codepage, paper_dots
        self._jobs: deque[bytes] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._paper_out = False
        self._offline = False
        self._preview: tuple[bytes, bytes] | None = None  # (job, png) drawn last

    def set_paper_out(self, out: bool) -> None:
        with self._lock:
            self._paper_out = out

    def set_offline(self, offline: bool) -> None:
        with self._lock:
            self._offline = offline

    def send(self, data: bytes) -> None:
        with self._lock:
            if self._offline:
                raise PrinterOffline("virtual printer set offline")
            if self._paper_out:
                raise PaperOut("virtual printer has no paper")
            self._jobs.append(bytes(data))

    def paper_status(self) -> PaperStatus:
        with self._lock:
            if self._offline:
                raise PrinterOffline("virtual printer set offline")
            return PaperStatus.OUT if self._paper_out else PaperStatus.OK

    def jobs(self) -> list[bytes]:
        """The bytes of the jobs kept, oldest first."""
        with self._lock:
            return list(self._jobs)

    def last_preview_png(self) -> bytes | None:
        """A PNG of the last job (drawn when first asked for), None before any job."""
        with self._lock:
            if not self._jobs:
                return None
            last = self._jobs[-1]
            if self._preview is not None and self._preview[0] is last:
                return self._preview[1]
        from hardware.printer.preview import preview_png  # Pillow and qrcode: only to draw

        png = preview_png(last, self.codepage, self.paper_dots)
        with self._lock:
            self._preview = (last, png)
        return png

    def close(self) -> None:
        """Nothing to release; the jobs stay for the preview."""
