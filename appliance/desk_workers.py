"""The módulo desk's workers in the composition root: the automatic no-show and the serial
devices (call buttons, number signs). Started by ``create_app``, stopped with the server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from appliance.auto_no_show import AutoNoShow
from appliance.desk_devices import DeskDevices
from config.model import Settings
from turnero.store import Store


@dataclass
class DeskWorkers:
    auto_no_show: AutoNoShow
    devices: DeskDevices

    def start(self) -> None:
        self.auto_no_show.start()
        self.devices.start()

    def stop(self) -> None:
        self.auto_no_show.stop()
        self.devices.stop()


def build(settings: Settings, store: Store, config: Mapping[str, Any]) -> DeskWorkers:
    """The desk's workers, not started. App config ``AUTO_NO_SHOW_SECONDS`` and
    ``DESK_RETRY_SECONDS`` shorten the waits in tests."""
    auto = AutoNoShow(settings.counter, store,
                      interval=float(config.get("AUTO_NO_SHOW_SECONDS", 5.0)))
    devices = DeskDevices(settings, store,
                          retry_seconds=float(config.get("DESK_RETRY_SECONDS", 1.0)))
    return DeskWorkers(auto, devices)
