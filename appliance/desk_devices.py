"""Wiring of the módulos' serial devices (``[[desk_devices]]``): a call button's press calls
the engine for its módulo, and a number sign follows its módulo's calls on the bus.

Devices report going away and coming back as ``desk_device.status`` events and through the
``desk_devices`` health component. Nothing here runs inside a request: presses arrive on the
button's own thread, and the bus listener only hands the sign a new text.
"""

from __future__ import annotations

import logging
from typing import Any

from config.model import DeskDevice, Settings
from hardware.serial_devices import CallButton, NumberSign, SerialDevice
from turnero import calls, desk, views
from turnero.errors import TurneroError
from turnero.store import Event, Store

log = logging.getLogger(__name__)

SHOWN = ("ticket.called", "ticket.recalled")
ENDED = ("ticket.finished", "ticket.no_show", "ticket.transferred", "counter.closed")


def problems(settings: Settings) -> list[tuple[tuple, str]]:
    """Config checks: each device names an existing módulo, and a port is used once."""
    numbers = {c.number for c in settings.counters}
    found: list[tuple[tuple, str]] = []
    ports: set[str] = set()
    for index, device in enumerate(settings.desk_devices):
        if device.counter not in numbers:
            found.append((("desk_devices", index, "counter"), f"no módulo {device.counter}"))
        if device.port in ports:
            found.append((("desk_devices", index, "port"), f"{device.port!r} is used twice"))
        ports.add(device.port)
    return found


class DeskDevices:
    """Every configured button and sign, started and stopped together."""

    def __init__(self, settings: Settings, store: Store, **options: Any) -> None:
        self.store = store
        self.devices: list[tuple[DeskDevice, SerialDevice]] = []
        numbers = {c.number for c in settings.counters}
        for config in settings.desk_devices:
            if config.counter not in numbers:
                log.error("desk device on %s: no módulo %s; ignored", config.port,
                          config.counter)
                continue
            self.devices.append((config, self._make(config, options)))
        self._listening = False

    def _make(self, config: DeskDevice, options: dict[str, Any]) -> SerialDevice:
        def on_state(connected: bool) -> None:
            self._report(config, connected)
        if config.kind == "button":
            return CallButton(config.port, config.baudrate, on_state=on_state,
                              on_press=lambda command: self.press(config.counter, command),
                              **options)
        return NumberSign(config.port, config.baudrate, on_state=on_state, **options)

    def start(self) -> None:
        if not self.devices:
            return
        if not self._listening:
            self.store.bus.listen(self.on_event)
            self._listening = True
        current = {c["id"]: c["current"] for c in views.counter_views(self.store)}
        for config, device in self.devices:
            if isinstance(device, NumberSign):
                ticket = current.get(config.counter)
                if ticket and ticket["status"] in ("called", "serving"):
                    device.show(ticket["label"])
            device.start()

    def stop(self) -> None:
        for _, device in self.devices:
            device.stop()

    def press(self, counter: int, command: str) -> None:
        """A button was pressed: call next or recall on its módulo, as ``button:<n>``."""
        action = calls.call_next if command == "next" else calls.recall
        try:
            action(self.store, counter, actor=f"button:{counter}")
        except TurneroError as exc:  # nobody to recall, módulo paused...: the desk shows why
            log.info("button of módulo %s (%s): %s", counter, command, exc.message)
        except Exception:
            log.exception("button of módulo %s (%s) failed", counter, command)

    def on_event(self, event: Event) -> None:
        """Bus listener: the signs of the event's módulo show the new label (never blocks)."""
        if event.counter is None or event.kind not in SHOWN + ENDED:
            return
        for config, device in self.devices:
            if config.counter == event.counter and isinstance(device, NumberSign):
                if event.kind in SHOWN:
                    device.show(str(event.payload.get("label", "")))
                else:
                    device.clear()

    def _report(self, config: DeskDevice, connected: bool) -> None:
        try:
            desk.record_device_state(self.store, config.counter, config.kind, config.port,
                                     connected)
        except Exception:
            log.exception("recording the state of the %s of módulo %s", config.kind,
                          config.counter)

    def health(self) -> dict[str, Any]:
        states = [{"counter": c.counter, "kind": c.kind, "port": c.port,
                   "connected": d.connected} for c, d in self.devices]
        missing = [s for s in states if not s["connected"]]
        return {"status": "warning" if missing else "ok", "devices": states}
