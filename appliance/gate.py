"""Who may talk to the box, checked before any route: the host a request names, and, where
the centre asks for it, the network staff work from.

**Host allow-list.** A web page on the internet can make a browser on the centre's network
send requests to a name its owner controls and then point that name at the box (DNS
rebinding); the browser then treats the box's answers as that page's own. The box therefore
answers only requests that name it by an IP address, ``localhost``, this machine's own name
(with or without ``.local``), the host of ``[server] public_url`` or a name of
``[server] allowed_hosts``; any other gets 400. An IP address is always accepted: no page can
make a browser believe an IP literal is its own origin.

**Staff networks.** With ``[security] staff_networks`` set, only a ticket's status page (what a
citizen's phone opens from the QR), its data and its files are served to other addresses;
sign-in, staff pages, device tokens and the API answer 403 there. The client address is the
one the front passes on (``appliance.server`` trusts it from loopback only).
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from flask import Flask, Response, request

from appliance import parts
from appliance.http import error_response

CITIZEN_PREFIXES = ("/t/", "/api/v1/public/", "/static/kiosk/", "/kiosk/i18n/",
                    "/kiosk/logos/")
ALWAYS_OPEN = ("/api/v1/health",)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def own_names() -> frozenset[str]:
    """This machine's names, as a browser on the LAN may use them (its name as the system
    knows it, and as zeroconf announces it). No DNS lookup: on a box without a resolver one
    can take seconds."""
    name = socket.gethostname().lower().rstrip(".")
    names = {"localhost", "localhost.localdomain"}
    if name:
        names.update({name, name.split(".")[0], name.split(".")[0] + ".local"})
    return frozenset(names)


def host_allowed(host: str, allowed: set[str]) -> bool:
    """Whether the Host header ``host`` (name or address, with or without a port) names the
    box."""
    name = (urlsplit("//" + host).hostname or "") if host else ""
    if not name:
        return True  # HTTP/1.0 without Host: the server's own address stands in
    try:
        ipaddress.ip_address(name.split("%")[0])
        return True
    except ValueError:
        return name.lower().rstrip(".") in allowed


def in_networks(address: str | None, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return False
    return any(ip in network for network in networks)


def install(app: Flask) -> None:
    """Register the checks on ``app`` (first among its before-request hooks)."""
    settings = parts.of(app).settings
    allowed = set(own_names()) | {h.lower().rstrip(".") for h in settings.server.allowed_hosts}
    public_host = urlsplit(settings.server.public_url).hostname
    if public_host:
        allowed.add(public_host.lower())
    networks = [ipaddress.ip_network(n, strict=False)
                for n in settings.security.staff_networks]

    def check() -> Response | None:
        if not host_allowed(request.host, allowed):
            return error_response(400, "host_not_allowed",
                            "Este equipo no atiende con ese nombre. Use su dirección IP o "
                            "agregue el nombre en [server] allowed_hosts.")
        path = request.path
        if (networks and not path.startswith(CITIZEN_PREFIXES) and path not in ALWAYS_OPEN
                and not in_networks(request.remote_addr, networks)):
            return error_response(403, "outside_staff_network",
                            "Esta función solo está disponible desde la red del personal "
                            "del centro.")
        return None

    app.before_request_funcs.setdefault(None, []).insert(0, check)
