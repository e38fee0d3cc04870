"""The announcements the TVs play, as a short in-memory feed that each TV follows.

The announcer hands each ready announcement to `AnnouncementFeed.publish`; a TV's
announcement stream waits on `wait_after` and sends what is newer than what it has. Only the
last `size` announcements are kept: an announcement is worth playing for seconds, not
minutes, and nothing here is evidence (the call itself is in the event log). `boot` changes
with every start, so a TV that reconnects to a restarted server does not skip the new
server's first announcements because their numbers restarted at 1.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from typing import Any


class AnnouncementFeed:
    """A bounded, ordered list of announcements with a way to wait for the next one."""

    def __init__(self, size: int = 64) -> None:
        self.boot = secrets.token_hex(4)
        self._items: deque[dict[str, Any]] = deque(maxlen=size)
        self._changed = threading.Condition()
        self._last = 0
        self._closed = False
        self._revoked: set[str] = set()
        self.listeners = 0

    @property
    def last(self) -> int:
        return self._last

    def publish(self, announcement: dict[str, Any]) -> dict[str, Any]:
        """Add one announcement (its ``seq`` must grow); wakes every waiting TV."""
        with self._changed:
            if announcement["seq"] <= self._last:
                raise ValueError("announcements must be published in order")
            item = {**announcement, "boot": self.boot, "published": time.monotonic()}
            self._items.append(item)
            self._last = announcement["seq"]
            self._changed.notify_all()
            return item

    def after(self, seq: int, max_age: float | None = None) -> list[dict[str, Any]]:
        """Announcements newer than ``seq`` (and younger than ``max_age`` seconds)."""
        now = time.monotonic()
        with self._changed:
            return [item for item in self._items if item["seq"] > seq
                    and (max_age is None or now - item["published"] <= max_age)]

    def wait_after(self, seq: int, timeout: float,
                   device: str | None = None) -> list[dict[str, Any]]:
        """Block up to ``timeout`` seconds for announcements newer than ``seq`` (or until
        ``device`` is revoked)."""
        with self._changed:
            self._changed.wait_for(lambda: self._last > seq or self._closed
                                   or device in self._revoked, timeout)
        return self.after(seq)

    def revoke(self, device: str) -> None:
        """A TV's token was revoked: wake its streams so that they end at once. (A revoked
        name is never enrolled again, so the set only grows by the TVs taken out.)"""
        with self._changed:
            self._revoked.add(device)
            self._changed.notify_all()

    def revoked(self, device: str) -> bool:
        with self._changed:
            return device in self._revoked

    def close(self) -> None:
        """Wake every waiting stream so it can end (the server is stopping)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def listening(self, delta: int) -> None:
        with self._changed:
            self.listeners += delta
