"""The TV side: find the server on the LAN, open its display page in Chromium's kiosk mode,
and keep it open on the right address.

Every `interval` seconds the client browses again; when the server answers at another
address (a new DHCP lease, a replaced box) or the browser has died, it (re)opens the page
there. While no server is found the page already open stays: it reconnects by itself when
the same server comes back. Chromium gets the autoplay flag, so calls are heard without a
tap, and its own profile folder, so the device cookie survives a reboot.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from hardware.discovery import ServerAddress, find_server

log = logging.getLogger(__name__)
BROWSER_FLAGS = ("--kiosk", "--autoplay-policy=no-user-gesture-required", "--no-first-run",
                 "--noerrdialogs", "--disable-translate", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update",
                 "--check-for-update-interval=31536000",
                 "--ozone-platform-hint=auto")  # Wayland where the session has it, else X11
Finder = Callable[[float], ServerAddress | None]


def display_url(server: ServerAddress, name: str, token: str | None = None) -> str:
    """The display page of TV `name` on `server`; with `token`, the enrolment fragment
    (a fragment never reaches the server's logs)."""
    template = server.properties.get("display") or "/display/{name}"
    url = server.url(template.replace("{name}", quote(name, safe="")))
    return f"{url}#device={quote(token, safe='')}" if token else url


def browser_command(browser: str, url: str, profile: Path) -> list[str]:
    return [browser, *BROWSER_FLAGS, f"--user-data-dir={profile}", url]


def finder(interfaces: Sequence[str] | None = None, server_name: str | None = None) -> Finder:
    """Browse on `interfaces` (default: all) for a server (called `server_name`, if given)."""
    def find(timeout: float) -> ServerAddress | None:
        if interfaces:
            return find_server(timeout, interfaces=list(interfaces), name=server_name)
        return find_server(timeout, name=server_name)
    return find


def run(name: str, *, find: Finder, browser: str, profile: Path, token: str | None = None,
        timeout: float = 10.0, interval: float = 30.0, rounds: int | None = None,
        launch: Callable[[list[str]], subprocess.Popen] = subprocess.Popen,
        sleep: Callable[[float], None] = time.sleep) -> int:
    """Keep the display page open on the server found; `rounds` bounds the loop (None: until
    stopped). Returns 0, or 1 if no server was ever found."""
    process: subprocess.Popen | None = None
    current: str | None = None
    done = 0
    try:
        while rounds is None or done < rounds:
            done += 1
            server = find(timeout)
            if server is not None:
                url = display_url(server, name, token)
                dead = process is None or process.poll() is not None
                if url != current or dead:
                    if process is not None and process.poll() is None:
                        log.info("server moved to %s:%s; reopening", server.host, server.port)
                        process.terminate()
                        process.wait(10)
                    process, current = launch(browser_command(browser, url, profile)), url
            elif current is None:
                log.info("no mac-turnos server found yet; browsing again in %.0f s", interval)
            if rounds is None or done < rounds:
                sleep(interval)
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
    return 0 if current else 1


def dry_run(name: str, *, find: Finder, timeout: float = 10.0,
            echo: Callable[[str], None] = print) -> int:
    """Print the display page's address (without the token) instead of opening it."""
    server = find(timeout)
    if server is None:
        echo("No se encontró un servidor mac-turnos en la red.")
        return 1
    echo(display_url(server, name))
    return 0
