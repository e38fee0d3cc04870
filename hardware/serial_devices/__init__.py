"""Módulo hardware on serial ports: a call button (next, recall) and an LED number sign.
Each keeps its port open by itself and survives unplugging. Imports nothing of ours."""

from __future__ import annotations

from hardware.serial_devices.button import CallButton, parse
from hardware.serial_devices.link import LineSplitter, SerialDevice
from hardware.serial_devices.sign import NumberSign, sign_text

__all__ = ["CallButton", "LineSplitter", "NumberSign", "SerialDevice", "parse", "sign_text"]
