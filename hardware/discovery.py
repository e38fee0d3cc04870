"""Finding the server on the LAN with mDNS/DNS-SD (zeroconf), so a TV needs no configuration.

The server advertises `_mac-turnos._tcp.local.` with its port and a few TXT properties (the
path of the display page, the version); a TV-side client browses for that type and opens
the page. Both sides take the interface addresses to use, so the appliance answers only on
its LAN and tests stay on loopback.
"""

from __future__ import annotations

import ipaddress
import queue
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from zeroconf import (
    InterfaceChoice,
    IPVersion,
    ServiceBrowser,
    ServiceInfo,
    ServiceStateChange,
    Zeroconf,
)

SERVICE_TYPE = "_mac-turnos._tcp.local."


@dataclass(frozen=True)
class ServerAddress:
    """Where a mac-turnos server answers, as found on the network."""

    name: str
    host: str
    port: int
    properties: dict[str, str] = field(default_factory=dict)

    def url(self, path: str | None = None) -> str:
        """http URL of `path` (default: the advertised "path" property, else "/")."""
        path = path or self.properties.get("path") or "/"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/{path.lstrip('/')}"


def _ip_version(addresses: Sequence[str]) -> IPVersion:
    versions = {ipaddress.ip_address(a).version for a in addresses}
    if versions == {4}:
        return IPVersion.V4Only
    if versions == {6}:
        return IPVersion.V6Only
    return IPVersion.All


def _host_label(name: str) -> str:
    """A DNS label for the advertised host name, from the instance name."""
    label = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:50]
    return label or "mac-turnos"


class Advertiser:
    """Announces this server as `<name>._mac-turnos._tcp.local.` on the given addresses.

    `addresses` are the IPs clients should connect to and the interfaces zeroconf uses
    (nothing is sent on any other interface). Use as a context manager or call `start` and
    `close`; a clash with another instance of the same name is resolved by zeroconf by
    renaming ours ("name (2)"), see `registered_name`.
    """

    def __init__(self, name: str, port: int, addresses: Sequence[str],
                 properties: Mapping[str, str] | None = None) -> None:
        if not addresses:
            raise ValueError("at least one address to advertise is required")
        self.name = name
        self.port = port
        self.addresses = list(addresses)
        self.properties = dict(properties or {})
        self._zeroconf: Zeroconf | None = None
        self._info: ServiceInfo | None = None

    @property
    def registered_name(self) -> str | None:
        return self._info.name if self._info else None

    def start(self) -> None:
        if self._zeroconf is not None:
            return
        info = ServiceInfo(
            SERVICE_TYPE, f"{self.name}.{SERVICE_TYPE}", port=self.port,
            properties=self.properties, server=f"{_host_label(self.name)}.local.",
            parsed_addresses=self.addresses)
        zeroconf = Zeroconf(interfaces=self.addresses, ip_version=_ip_version(self.addresses),
                            use_asyncio=False)
        try:
            zeroconf.register_service(info, allow_name_change=True)
        except Exception:
            zeroconf.close()
            raise
        self._zeroconf, self._info = zeroconf, info

    def close(self) -> None:
        """Withdraw the service (goodbye packets) and close the sockets."""
        zeroconf, info = self._zeroconf, self._info
        self._zeroconf = self._info = None
        if zeroconf is None:
            return
        try:
            if info is not None:
                zeroconf.unregister_service(info)
        finally:
            zeroconf.close()

    def __enter__(self) -> Advertiser:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _decode(properties: Mapping[bytes, bytes | None]) -> dict[str, str]:
    return {key.decode("utf-8", "replace"): (value or b"").decode("utf-8", "replace")
            for key, value in properties.items()}


def find_server(timeout: float = 5.0,
                interfaces: Sequence[str] | InterfaceChoice = InterfaceChoice.All,
                name: str | None = None) -> ServerAddress | None:
    """Browse for a mac-turnos server for up to `timeout` seconds; the first one found
    (or the one called `name`), or None. `interfaces` are the local IPs to browse on."""
    if isinstance(interfaces, InterfaceChoice):
        zeroconf = Zeroconf(interfaces=interfaces, use_asyncio=False)
    else:
        zeroconf = Zeroconf(interfaces=list(interfaces), ip_version=_ip_version(interfaces),
                            use_asyncio=False)
    found: queue.Queue[str] = queue.Queue()

    def on_change(zeroconf: Zeroconf, service_type: str, name: str,
                  state_change: ServiceStateChange) -> None:
        if state_change is not ServiceStateChange.Removed:
            found.put(name)

    deadline = time.monotonic() + timeout
    browser = ServiceBrowser(zeroconf, SERVICE_TYPE, handlers=[on_change])
    try:
        while (remaining := deadline - time.monotonic()) > 0:
            try:
                service = found.get(timeout=remaining)
            except queue.Empty:
                return None
            if name is not None and service != f"{name}.{SERVICE_TYPE}":
                continue
            info = zeroconf.get_service_info(SERVICE_TYPE, service,
                                             timeout=max(100, int(remaining * 1000)))
            if info is None or info.port is None:
                continue
            # IPv4 first: a TV's browser handles it everywhere, a scoped IPv6 not always.
            addresses = sorted(info.parsed_scoped_addresses(), key=lambda a: ":" in a)
            if not addresses:
                continue
            return ServerAddress(service.removesuffix(f".{SERVICE_TYPE}"), addresses[0],
                                 info.port, _decode(info.properties))
        return None
    finally:
        browser.cancel()
        zeroconf.close()

