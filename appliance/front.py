"""Whether the server stands behind its front door (nginx, ``systemd/install.sh``).

The server process is pure Python with a bounded pool of threads and connections; facing an
open Wi-Fi by itself, a phone holding connections open or trickling bytes can use them up.
In an installed centre nginx receives the LAN's requests (connection, request and body
limits, deadlines a trickle cannot stretch) and the server listens on loopback only. This
module says, at start-up and in ``GET /api/v1/health``, when that is not so.
"""

from __future__ import annotations

import logging
from typing import Any

from config.model import Server
from kiosk.public_address import is_loopback

log = logging.getLogger(__name__)
TRUSTED_FRONT = "127.0.0.1"
"""The only peer whose ``X-Forwarded-For`` the server believes: the front on this box."""


def problem(server: Server) -> str | None:
    """Why the server is exposed without its front (Spanish, for staff), or None."""
    if is_loopback(server.host):
        return None
    if server.front_port:
        return (f"El servidor escucha en {server.host}:{server.port} además del front "
                f"(puerto {server.front_port}): quien llegue directo evita sus límites. "
                "Use [server] host = \"127.0.0.1\".")
    return (f"El servidor atiende la red directamente en {server.host}:{server.port}, sin el "
            "front (nginx) delante: un teléfono de la red de invitados puede agotar sus "
            "conexiones. Instale con systemd/install.sh (véase docs/operacion.md).")


def health(server: Server) -> dict[str, Any]:
    """The ``front`` component of ``GET /api/v1/health``."""
    found = problem(server)
    state: dict[str, Any] = {"status": "warning" if found else "ok",
                             "front_port": server.front_port or None,
                             "listen": f"{server.host}:{server.port}"}
    if found:
        state["detail"] = found
    return state


def warn_at_start(server: Server) -> None:
    found = problem(server)
    if found:
        log.warning("%s", found)
