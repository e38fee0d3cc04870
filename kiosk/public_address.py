"""The address citizens' phones open from a ticket's QR code.

The kiosk's browser usually runs on the box itself and opens ``http://127.0.0.1:8080``: a QR
made from the address the kiosk used would send every phone to itself. So the address is,
in this order: ``[server] public_url``; the address of the request when it is not a loopback
one (a kiosk elsewhere reached the box by it); the box's own LAN address, read from its
network interfaces, when the server listens on all addresses or on a LAN address. When none
of these exists the request's address is used, and health, ``check-config`` and supervision
say why the QR leads nowhere.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app, request

from appliance import parts

Interfaces = Callable[[], list[tuple[str, str]]]
"""A source of (interface name, address) pairs; tests pass their own through the app's
``INTERFACE_ADDRESSES`` setting."""
CONFIG_KEY = "INTERFACE_ADDRESSES"
# Bridges and tunnels of containers, virtual machines and VPNs: no phone on the guest Wi-Fi
# reaches the box through them.
VIRTUAL_PREFIXES = ("docker", "br-", "veth", "virbr", "vnet", "lxcbr", "lxdbr", "podman",
                    "cni", "flannel", "tun", "tap", "wg", "tailscale", "zt")
LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


@dataclass(frozen=True)
class PublicAddress:
    """The base address for QR codes (``""`` when none), where it came from (``config``,
    ``detected`` or ``none``) and, when phones cannot use it, why (Spanish, for staff)."""

    url: str
    source: str
    problem: str | None = None

    def health(self) -> dict[str, object]:
        """The ``public_address`` component of ``GET /api/v1/health``."""
        found: dict[str, object] = {"status": "warning" if self.problem else "ok",
                                    "url": self.url or None, "source": self.source}
        if self.problem:
            found["detail"] = self.problem
        return found


def interface_addresses() -> list[tuple[str, str]]:
    """Every (interface, address) of this machine, as the operating system lists them."""
    import ifaddr  # only to list the addresses; nothing else needs it in memory

    found: list[tuple[str, str]] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            found.append((adapter.name, ip.ip if isinstance(ip.ip, str) else ip.ip[0]))
    return found


def _reachable(name: str, text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address if a device on the LAN could use it, else None."""
    try:
        ip = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None
    if ip.is_loopback or ip.is_link_local or ip.is_unspecified or ip.is_multicast:
        return None
    return None if name.lower().startswith(VIRTUAL_PREFIXES) else ip


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address, IPv6 with or without brackets) is this machine
    only."""
    host = host.strip("[]").lower()
    if host in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def lan_addresses(listen_host: str, interfaces: Interfaces = interface_addresses) -> list[str]:
    """The addresses devices on the LAN reach a server listening on ``listen_host`` by,
    IPv4 first: the listen address itself, or for 0.0.0.0 / :: the interfaces' addresses."""
    host = listen_host.strip("[]")
    try:
        listen = ipaddress.ip_address(host)
    except ValueError:
        return [] if is_loopback(host) or not host else [host]  # a name the LAN resolves
    if listen.is_loopback:
        return []
    if not listen.is_unspecified:
        return [str(listen)] if _reachable("", host) else []
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for name, text in interfaces():
        ip = _reachable(name, text)
        if ip is not None and ip not in found and (listen.version == 6 or ip.version == 4):
            found.append(ip)
    return [str(ip) for ip in sorted(found, key=lambda ip: ip.version)]


def _url(host: str, port: int, scheme: str = "http") -> str:
    shown = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}.get(scheme)
    return f"{scheme}://{shown}" + ("" if port == default else f":{port}")


def resolve(public_url: str, listen_host: str, port: int,
            interfaces: Interfaces = interface_addresses) -> PublicAddress:
    """The address phones get without looking at any request, and what is wrong with it."""
    if public_url:
        url = public_url.rstrip("/")
        if is_loopback(urlsplit(url).hostname or ""):
            return PublicAddress(url, "config", "[server] public_url apunta a este mismo equipo "
                                 f"({url}): los teléfonos no pueden abrir el código QR. Ponga "
                                 "la dirección del equipo en la red del centro.")
        return PublicAddress(url, "config")
    found = lan_addresses(listen_host, interfaces)
    if found:
        return PublicAddress(_url(found[0], port), "detected")
    if is_loopback(listen_host):
        why = (f"El servidor escucha solo en {listen_host} (este mismo equipo): los "
               "teléfonos y los quioscos de otros equipos no lo alcanzan. Use [server] host = "
               "\"0.0.0.0\" o configure [server] public_url.")
    else:
        why = ("No se encontró ninguna dirección de red local del equipo: el código QR de "
               "los tickets no llevará a ninguna parte. Conecte el equipo a la red del centro "
               "o configure [server] public_url (por ejemplo \"http://192.168.1.10:8080\").")
    return PublicAddress("", "none", why)


def base_for(public_url: str, listen_host: str, host_url: str,
             interfaces: Interfaces = interface_addresses) -> str:
    """The base of a ticket's status address for a request that came to ``host_url``."""
    if public_url:
        return public_url.rstrip("/")
    asked = urlsplit(host_url)
    if not is_loopback(asked.hostname or ""):
        return host_url.rstrip("/")
    scheme = asked.scheme or "http"
    port = asked.port or {"http": 80, "https": 443}.get(scheme, 80)
    found = lan_addresses(listen_host, interfaces)
    return _url(found[0], port, scheme) if found else host_url.rstrip("/")


def for_request() -> str:
    """The base of the status address for the current request (see the module docstring)."""
    server = parts.settings().server
    interfaces = current_app.config.get(CONFIG_KEY, interface_addresses)
    return base_for(server.public_url, server.lan_endpoint()[0], request.host_url, interfaces)


def current() -> PublicAddress:
    """The app's public address as health and supervision report it (in a request)."""
    server = parts.settings().server
    interfaces = current_app.config.get(CONFIG_KEY, interface_addresses)
    return resolve(server.public_url, *server.lan_endpoint(), interfaces)
