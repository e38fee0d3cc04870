"""A centre's box with its uplink, run round by round against a real central: the flows
down from the central (catalogue, citas) are tested with two of them."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from appliance.runtime import open_store
from config.model import Settings
from harness.sync_support import FakeTime
from sync.service import Uplink
from turnero import catalog, day
from turnero.clock import ManualClock


class Box:
    """A centre's box: its store (day open) and its uplink, run round by round."""

    def __init__(self, settings: Settings, code: str, url: str, token: str,
                 folder: Path, timeout: float = 5.0, *, start: datetime) -> None:
        folder.mkdir()
        self.code = code
        self.settings = dataclasses.replace(
            settings, centre=dataclasses.replace(settings.centre, code=code),
            uplink=dataclasses.replace(settings.uplink, enabled=True, central_url=url,
                                       token=token, secret="s", timeout_seconds=timeout))
        self.clock = ManualClock(start)
        self.store = open_store(self.settings, folder, clock=self.clock)
        day.open_day(self.store, actor="test")
        self.time = FakeTime()
        self.uplink = Uplink(self.store, self.settings, clock=self.time, jitter=lambda: 0.5)

    def round(self) -> str:
        self.time.advance(3600)  # past any backoff
        return self.uplink.run_round(drain=True)

    def events(self, kind: str) -> list[dict[str, Any]]:
        rows = self.store.reader().execute(
            "SELECT payload FROM events WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
        return [json.loads(r["payload"]) for r in rows]

    def offered_services(self) -> set[int]:
        return {s["id"] for s in catalog.read_catalog(self.store.reader())["services"]}

    def close(self) -> None:
        self.uplink.stop()
        self.store.close()
