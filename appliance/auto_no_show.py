"""The automatic no-show worker (``[counter] auto_no_show_*``): every few seconds it asks
the engine to mark citizens who were called and did not come. It lives on the server, so a
módulo is freed even when no browser is open at it."""

from __future__ import annotations

import logging
import threading

from config.model import CounterDesk
from turnero import desk
from turnero.store import Store

log = logging.getLogger(__name__)


class AutoNoShow:
    def __init__(self, options: CounterDesk, store: Store, interval: float = 5.0) -> None:
        self.options, self.store, self.interval = options, store, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.options.auto_no_show_recalls or self.options.auto_no_show_minutes)

    def start(self) -> None:
        if self.enabled and self._thread is None:
            self._thread = threading.Thread(target=self._run, daemon=True, name="auto-no-show")
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def check(self) -> list[dict]:
        """One pass; what was marked."""
        o = self.options
        marked = desk.auto_no_show(self.store, recalls=o.auto_no_show_recalls,
                                   grace_seconds=o.auto_no_show_grace_seconds,
                                   minutes=o.auto_no_show_minutes)
        for m in marked:
            log.info("módulo %s: %s marked as no-show (%s)", m["counter"], m["label"],
                     m["reason"])
        return marked

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.check()
            except Exception:  # a closed day or a busy database: try again next time
                log.exception("automatic no-show pass failed")
