"""Advertising the server on the LAN with zeroconf, so a TV finds it without configuration.

Only on the addresses the server listens on: a server bound to one address is advertised
on that address alone; one bound to every address (0.0.0.0 or ::) on the machine's LAN
addresses, never on loopback or link-local ones, which no TV could reach. Registration
(a few seconds of probing) runs on a thread of its own once the server is listening, and
never in a request; a failure is logged and the server goes on without it.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import threading
from typing import Any

from appliance import __version__
from config.model import Settings

log = logging.getLogger(__name__)
ADVERTISE_ENV = "MAC_TURNOS_ADVERTISE"
DISPLAY_PATH = "/display/{name}"


def enabled(flag: bool | None) -> bool:
    """The CLI flag if given, else ``MAC_TURNOS_ADVERTISE`` (0/false/no turn it off)."""
    if flag is not None:
        return flag
    return os.environ.get(ADVERTISE_ENV, "1").strip().lower() not in ("0", "false", "no")


def _usable(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not (ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast)


def addresses_for(host: str) -> list[str]:
    """The addresses to advertise for a server listening on ``host``."""
    try:
        listen = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return []  # a host name: zeroconf needs addresses; advertise nothing rather than guess
    if not listen.is_unspecified:
        return [str(listen)]
    import ifaddr  # only to list the LAN addresses; nothing else needs it in memory

    found: list[str] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            address = ipaddress.ip_address(text)
            if address.version == listen.version or listen.version == 6:
                if _usable(address) and str(address) not in found:
                    found.append(str(address))
    return found


class Advertising:
    """The server's zeroconf registration, started on a thread and closed at shutdown."""

    def __init__(self, settings: Settings, host: str, port: int) -> None:
        self.addresses = addresses_for(host)
        self.name = f"mac-turnos {settings.centre.name}"
        self.port = port
        self.properties = {"centre": settings.centre.code, "version": __version__,
                           "display": DISPLAY_PATH, "path": "/display/"}
        self.advertiser: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if not self.addresses:
            log.info("zeroconf: no LAN address to advertise on")
            return
        self._thread = threading.Thread(target=self._register, name="zeroconf", daemon=True)
        self._thread.start()

    def _register(self) -> None:
        # Imported here, on this thread: zeroconf takes 0.1–0.5 s to import, which would
        # otherwise delay every start of the server before it answers its first request.
        from hardware.discovery import Advertiser

        try:
            self.advertiser = Advertiser(self.name, self.port, self.addresses, self.properties)
            self.advertiser.start()
            log.info("zeroconf: advertised as %r on %s", self.advertiser.registered_name,
                     ", ".join(self.addresses))
        except Exception as error:  # discovery is a convenience; serving goes on
            log.warning("zeroconf: could not advertise: %s", error)

    def stop(self) -> None:
        if self._thread is not None:
            self._thread.join(10)
        if self.advertiser is not None:
            try:
                self.advertiser.close()
            except Exception as error:
                log.warning("zeroconf: could not withdraw: %s", error)
