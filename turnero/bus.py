"""In-process publish/subscribe for events that have been committed.

Publishing never blocks the writer: each subscriber has a bounded queue, and one that falls
behind is dropped (its stream ends and the browser reconnects to a fresh snapshot).
A failing listener never breaks the others.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)


class Subscription:
    def __init__(self, bus: Bus, size: int) -> None:
        self._bus = bus
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=size)
        self.dropped = False

    def get(self, timeout: float) -> Any | None:
        try:
            return self.queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self) -> None:
        self._bus.unsubscribe(self)

    def end(self) -> None:
        """Stop now: marked dropped, and a waiting ``get`` is woken (it returns None)."""
        self.dropped = True
        self._bus.unsubscribe(self)
        try:
            self.queue.put_nowait(None)
        except queue.Full:
            pass  # the reader is not waiting: it sees ``dropped`` on its next turn


class Bus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._listeners: list[Callable[[Any], None]] = []

    def subscribe(self, size: int = 1000) -> Subscription:
        sub = Subscription(self, size)
        with self._lock:
            self._subs.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def listen(self, fn: Callable[[Any], None]) -> None:
        """Call ``fn`` synchronously for each event (workers enqueue, never block)."""
        with self._lock:
            self._listeners.append(fn)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, events: Iterable[Any]) -> None:
        events = list(events)
        with self._lock:
            subs, listeners = list(self._subs), list(self._listeners)
        for sub in subs:
            # A commit of more events than a subscriber has room for (closing a day with
            # thousands waiting) would fill its queue and drop it anyway: it is ended now,
            # and its stream reconnects to a fresh snapshot, rather than first serialising
            # and sending a thousand events that the snapshot makes useless.
            if len(events) > sub.queue.maxsize - sub.queue.qsize():
                sub.end()
        for event in events:
            for fn in listeners:
                try:
                    fn(event)
                except Exception:
                    log.exception("event listener failed on %s", getattr(event, "kind", event))
            for sub in subs:
                if sub.dropped:
                    continue
                try:
                    sub.queue.put_nowait(event)
                except queue.Full:
                    sub.dropped = True
                    self.unsubscribe(sub)
