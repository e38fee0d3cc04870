"""The módulo desk's workers in the composition root: the automatic no-show and the serial
devices (call buttons, number signs). Started by ``create_app``, stopped with the server."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from appliance.auto_no_show import AutoNoShow
from appliance.desk_devices import DeskDevices
from config.model import Settings
from turnero.store import Store

KEY = "mac_turnos.desk"


@dataclass
class DeskWorkers:
    auto_no_show: AutoNoShow
    devices: DeskDevices

    def stop(self) -> None:
        self.auto_no_show.stop()
        self.devices.stop()


def start(app: Flask, settings: Settings, store: Store) -> DeskWorkers:
    """App config ``AUTO_NO_SHOW_SECONDS`` and ``DESK_RETRY_SECONDS`` shorten the waits in
    tests."""
    auto = AutoNoShow(settings.counter, store,
                      interval=float(app.config.get("AUTO_NO_SHOW_SECONDS", 5.0)))
    devices = DeskDevices(settings, store,
                          retry_seconds=float(app.config.get("DESK_RETRY_SECONDS", 1.0)))
    workers = DeskWorkers(auto, devices)
    app.extensions[KEY] = workers
    if devices.devices:
        app.extensions["mac_turnos.health"].setdefault("desk_devices", devices.health)
    auto.start()
    devices.start()
    return workers


def stop(app: Flask) -> None:
    workers = app.extensions.get(KEY)
    if workers is not None:
        workers.stop()
