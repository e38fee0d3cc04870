"""A real nginx (Debian's) before a :class:`harness.live_server.LiveServer`, with the very site
file ``systemd/install.sh`` installs, for the front's tests and its drill (``bench/``)."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SITE_TEMPLATE = ROOT / "systemd" / "nginx-site.conf"
MIME_TYPES = Path("/etc/nginx/mime.types")


def render_site(listen: int, app: str, site_packages: Path, logs: Path) -> str:
    """The site file with its placeholders filled, as the installer's sed fills them."""
    text = SITE_TEMPLATE.read_text(encoding="utf-8")
    for word, value in (("@LISTEN@", str(listen)), ("@APP@", app),
                        ("@SITE@", str(site_packages)), ("@LOGS@", str(logs))):
        text = text.replace(word, value)
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
    server on ``app_port``."""

    def __init__(self, work: Path, app_port: int, port: int) -> None:
        self.work, self.app_port, self.port = work, app_port, port
        self.proc: subprocess.Popen | None = None
        self.nginx = shutil.which("nginx") or "/usr/sbin/nginx"

    def write(self) -> Path:
        self.work.mkdir(parents=True, exist_ok=True)
        site = self.work / "mac-turnos.conf"
        site.write_text(render_site(self.port, f"127.0.0.1:{self.app_port}", ROOT,
                                    self.work), encoding="utf-8")
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


def request(port: int, source: str, method: str, path: str, body: object = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict, dict[str, str]]:
    """One request from the loopback address ``source`` (the drill's attacker or staff):
    status, JSON body (empty when there is none) and headers."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20, source_address=(source, 0))
    try:
        conn.request(method, path, body=None if body is None else json.dumps(body),
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
