"""A real nginx (Debian's) before a :class:`harness.live_server.LiveServer`, with the very site
file ``systemd/install.sh`` installs, for the front's tests and its drill (``bench/``); and
the same before the central receiver (``systemd/nginx-central.conf``, HTTPS), with the
central run as ``mac-turnos central serve`` in a process of its own (:class:`CentralServer`)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

from harness.live_server import free_port

ROOT = Path(__file__).resolve().parent.parent
SITE_TEMPLATE = ROOT / "systemd" / "nginx-site.conf"
CENTRAL_TEMPLATE = ROOT / "systemd" / "nginx-central.conf"
MIME_TYPES = Path("/etc/nginx/mime.types")


def render_site(listen: int, app: str, site_packages: Path, logs: Path,
                template: Path = SITE_TEMPLATE, **more: str) -> str:
    """The site file with its placeholders filled, as the installer's sed fills them;
    ``more`` fills the template's other words (``CERT="/path"`` fills ``@CERT@``)."""
    text = template.read_text(encoding="utf-8")
    words = {"LISTEN": str(listen), "APP": app, "SITE": str(site_packages),
             "LOGS": str(logs), **more}
    for word, value in words.items():
        text = text.replace(f"@{word}@", value)
    if re.search(r"@[A-Z]+@", "".join(line.split("#")[0] for line in text.splitlines())):
        raise ValueError("a placeholder of the nginx site was left unfilled")
    return text


def main_config(work: Path, site: Path) -> str:
    """An nginx.conf of its own (Debian's is for the system's nginx): the events block the
    installer sets, temporary files inside ``work``."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers read the checkout's files
    temp = "\n".join(f"    {kind}_temp_path {work / kind};"
                     for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    mime = f"    include {MIME_TYPES};\n" if MIME_TYPES.exists() else ""
    return (f"{user}worker_processes 2;\nworker_rlimit_nofile 10000;\n"
            f"pid {work / 'nginx.pid'};\nerror_log {work / 'error.log'} warn;\n"
            "events { worker_connections 4096; }\n"
            f"http {{\n{mime}    default_type application/octet-stream;\n{temp}\n"
            f"    include {site};\n}}\n")


class Front:
    """nginx listening on ``port`` of 127.0.0.1 (every loopback address), passing to the app
    server on ``app_port``; the box's site unless ``template`` says another, whose other
    words ``more`` fills (the central's: ``CERT`` and ``KEY``)."""

    def __init__(self, work: Path, app_port: int, port: int, template: Path = SITE_TEMPLATE,
                 more: dict[str, str] | None = None) -> None:
        self.work, self.app_port, self.port = work, app_port, port
        self.template, self.more = template, dict(more or {})
        self.proc: subprocess.Popen | None = None
        self.nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    def write(self) -> Path:
        self.work.mkdir(parents=True, exist_ok=True)
        site = self.work / ("mac-turnos.conf" if self.template == SITE_TEMPLATE
                            else f"{self.template.stem}.conf")
        site.write_text(render_site(self.port, f"127.0.0.1:{self.app_port}", ROOT,
                                    self.work, self.template, **self.more), encoding="utf-8")
        conf = self.work / "nginx.conf"
        conf.write_text(main_config(self.work, site), encoding="utf-8")
        return conf

    def check(self) -> subprocess.CompletedProcess:
        """``nginx -t`` on the written configuration."""
        return subprocess.run([self.nginx, "-t", "-p", str(self.work), "-c",
                               str(self.write())], capture_output=True, text=True)

    def start(self, timeout: float = 20.0) -> None:
        conf = self.write()
        self.proc = subprocess.Popen([self.nginx, "-p", str(self.work), "-c", str(conf),
                                      "-g", "daemon off;"], start_new_session=True,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.proc.stderr.read()!r}")  # type: ignore[union-attr]
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise TimeoutError("nginx did not listen")

    def pids(self) -> list[int]:
        """The master and its workers."""
        if self.proc is None:
            return []
        out = subprocess.run(["pgrep", "-g", str(self.proc.pid)], capture_output=True,
                             text=True)
        return [int(p) for p in out.stdout.split()]

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # fast: the drill needs no grace
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def connection(port: int, source: str, tls: ssl.SSLContext | None = None,
               timeout: float = 20) -> http.client.HTTPConnection:
    """A connection to 127.0.0.1:``port`` from the loopback address ``source``; HTTPS
    with ``tls``."""
    if tls is not None:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout,
                                           source_address=(source, 0), context=tls)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0))


def request(port: int, source: str, method: str, path: str, body: object = None,
            headers: dict[str, str] | None = None,
            tls: ssl.SSLContext | None = None) -> tuple[int, dict, dict[str, str]]:
    """One request from the loopback address ``source`` (the drill's attacker or staff):
    status, JSON body (empty when there is none) and headers. ``body`` as bytes is sent as
    it is (with the caller's Content-Type), anything else as JSON."""
    conn = connection(port, source, tls)
    try:
        sent = body if isinstance(body, bytes) or body is None else json.dumps(body)
        conn.request(method, path, body=sent,
                     headers={"Content-Type": "application/json", **(headers or {})})
        response = conn.getresponse()
        raw = response.read()
        data = json.loads(raw) if raw.lstrip()[:1] == b"{" else {}
        return response.status, data, dict(response.getheaders())
    finally:
        conn.close()


def login(port: int, source: str, username: str, pin: str) -> dict[str, str] | None:
    """Headers of a staff session opened from ``source``, or None when refused."""
    status, data, headers = request(port, source, "POST", "/api/v1/auth/login",
                                    {"username": username, "password": pin})
    if status != 200:
        return None
    return {"Cookie": headers.get("Set-Cookie", "").split(";")[0],
            "X-CSRF-Token": data["csrf_token"]}


def written_bytes(pids: list[int]) -> int:
    """Bytes these processes have sent to the disk so far (``/proc/<pid>/io``)."""
    total = 0
    for pid in pids:
        try:
            text = Path(f"/proc/{pid}/io").read_text()
            total += int(text.split("write_bytes:")[1].split()[0])
        except (OSError, IndexError, ValueError):
            pass
    return total


# --- the central receiver ---------------------------------------------------------------------

class CentralServer:
    """``mac-turnos central serve`` in a process of its own on 127.0.0.1:``port``, with the
    extra arguments given (``--behind-front``, ``--read-db URL``)."""

    def __init__(self, db_url: str, log: Path, *extra: str, port: int | None = None) -> None:
        self.db_url, self.log, self.extra = db_url, log, extra
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> CentralServer:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "appliance", "central", "serve", "--db", self.db_url,
                 "--port", str(self.port), *self.extra], stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the central exited: {self.log.read_text()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
                conn.request("GET", "/api/v1/health")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"the central did not answer: {self.log.read_text()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def central_login(port: int, source: str, name: str, password: str,
                  tls: ssl.SSLContext | None = None) -> tuple[int, dict[str, str]]:
    """The central's login form as its page sends it, from ``source``: the form first (its
    token and pre-session cookie), then the form back. The status of the POST, and the
    headers that carry the session when it opened (303)."""
    status, _, headers, page = _raw(port, source, "GET", "/login", tls=tls)
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    cookie = headers.get("Set-Cookie", "").split(";")[0]
    if status != 200 or found is None or not cookie:
        return status, {}
    form = urlencode({"usuario": name, "contrasena": password, "csrf": found.group(1)})
    status, _, headers, _ = _raw(port, source, "POST", "/login", form.encode(), tls=tls,
                                 headers={"Cookie": cookie, "Content-Type":
                                          "application/x-www-form-urlencoded"})
    session = headers.get("Set-Cookie", "").split(";")[0]
    return status, ({"Cookie": session} if status == 303 and session else {})


def page(port: int, source: str, path: str, headers: dict[str, str],
         tls: ssl.SSLContext | None = None) -> tuple[int, str]:
    """A page (or a CSV) of the central: status and text."""
    status, _, _, text = _raw(port, source, "GET", path, headers=headers, tls=tls)
    return status, text


def _raw(port: int, source: str, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None,
         tls: ssl.SSLContext | None = None) -> tuple[int, str, dict[str, str], str]:
    conn = connection(port, source, tls)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        return (response.status, response.getheader("Content-Type", ""),
                dict(response.getheaders()), text)
    finally:
        conn.close()
