"""A printer that is a file: appends each job's bytes, e.g. to /dev/usb/lp0 (the kernel's
usblp driver) or to a file kept for inspection."""

from __future__ import annotations

import threading
from pathlib import Path

from hardware.printer.status import PaperStatus, PrinterOffline


class FileTransport:
    """Appends bytes to ``path``; the file cannot tell about paper, so status is OK."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def send(self, data: bytes) -> None:
        with self._lock:
            try:
                with self.path.open("ab") as sink:
                    sink.write(data)
            except OSError as exc:
                raise PrinterOffline(f"cannot write {self.path}: {exc}") from exc

    def paper_status(self) -> PaperStatus:
        return PaperStatus.OK

    def close(self) -> None:
        """Nothing stays open between jobs."""
