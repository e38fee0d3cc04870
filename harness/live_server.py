"""A real mac-turnos server in a subprocess on 127.0.0.1, for concurrency, crash and
benchmark runs: writes a centre config, creates a supervisor and a kiosk, starts, waits for
health, can be killed with SIGKILL and started again on the same state."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

PIN = "246810"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path: Path, queues: int = 4, counters: int = 8, threads: int = 128,
                 printer: bool = False) -> Path:
    """A centre with ``queues`` queues (prefixes QA, QB, …) and ``counters`` módulos that
    each serve every queue. Its kiosks have no per-minute limit and do not refuse tickets
    near closing time, and the scheduler neither opens nor closes the day: the load runs 16
    kiosks flat out into queues of thousands, at any hour of the day the suite happens to
    run."""
    lines = ['[centre]', 'code = "bench"', 'name = "MAC Bench"', '',
             '[server]', f'threads = {threads}',
             # as a centre is configured: phones reach the box at its LAN address (the
             # server itself listens on 127.0.0.1 only), so health has no QR warning
             'public_url = "http://192.168.1.10:8080"', '',
             '[kiosk]', 'tickets_per_minute = 0', 'refuse_after_closing = false', '',
             '[schedule]', 'open_day = "manual"', 'close_day = "manual"',
             'stop_issuing = false', '']
    codes = [f"Q{chr(ord('A') + i)}" for i in range(queues)]
    for code in codes:
        lines += ['[[entities]]', f'code = "E{code}"', f'name = "Entidad {code}"', '',
                  '[[queues]]', f'code = "{code}"', f'entity = "E{code}"',
                  f'prefix = "{code}"', '']
    for i, code in enumerate(codes, start=1):
        lines += ['[[services]]', f'id = {i}', f'queue = "{code}"', f'name = "Servicio {i}"', '']
    for n in range(1, counters + 1):
        lines += ['[[counters]]', f'number = {n}', f'entity = "E{codes[(n - 1) % queues]}"',
                  'queues = [' + ", ".join(f'"{c}"' for c in codes) + ']', '']
    if printer:  # a virtual printer for the enrolled kiosk, as in a centre
        lines += ['[[printers]]', 'name = "kiosko-1"', 'transport = "virtual"',
                  'devices = ["kiosk-1"]', 'reception = true', '']
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def add_uplink(config: Path, central_url: str, token: str, **options: object) -> Path:
    """Append an enabled ``[uplink]`` to the centre ``config`` (as ``write_config`` wrote
    it) sending to ``central_url`` with ``token``; ``options`` are more of its keys."""
    keys = {"enabled": True, "central_url": central_url, "token": token, "secret": "s3cret",
            **options}
    with config.open("a", encoding="utf-8") as out:
        out.write("\n[uplink]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in keys.items()))
    return config


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


class LiveServer:
    def __init__(self, state: Path, config: Path, port: int | None = None,
                 serve_args: tuple[str, ...] = (),
                 launcher: Callable[..., subprocess.Popen] = subprocess.Popen) -> None:
        """``serve_args`` are more options of ``serve`` (e.g. the simulated clock's);
        ``launcher`` starts the process (``Popen``'s arguments), e.g. inside a budget of
        ``bench.budget``."""
        self.state, self.config = state, config
        self.serve_args = serve_args
        self.launcher = launcher
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.log = state / "server.log"

    def cli(self, *args: str) -> str:
        out = subprocess.run([sys.executable, "-m", "appliance", "--config", str(self.config),
                              "--state-dir", str(self.state), *args],
                             capture_output=True, text=True, check=True)
        return out.stdout

    def setup(self) -> tuple[str, str]:
        """Create the supervisor and a kiosk device; returns (kiosk token, supervisor pin)."""
        self.cli("user", "add", "supervisor", "--role", "supervisor", "--pin", PIN)
        token = self.cli("device", "add", "kiosk-1", "--role", "kiosk").strip().split()[-1]
        return token, PIN

    def start(self, timeout: float = 60.0) -> float:
        """Start and wait until /api/v1/health answers; returns seconds to healthy."""
        began = time.monotonic()
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as log:
            self.proc = self.launcher(
                [sys.executable, "-m", "appliance", "--config", str(self.config),
                 "--state-dir", str(self.state), "serve", "--host", "127.0.0.1",
                 "--port", str(self.port), *self.serve_args], stdout=log, stderr=log,
                env=env, start_new_session=True)
        while time.monotonic() - began < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                status, _ = self.request("GET", "/api/v1/health")
                if status == 200:
                    return time.monotonic() - began
            except OSError:
                pass
            time.sleep(0.02)
        raise TimeoutError("server did not become healthy")

    def kill(self) -> None:
        """SIGKILL to the whole service (supervisor and worker), as a power cut would."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self._wait_group_gone()

    def _wait_group_gone(self, timeout: float = 10.0) -> None:
        assert self.proc is not None
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                os.killpg(self.proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)
        raise TimeoutError("server processes did not exit")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
                self._wait_group_gone()
            except (subprocess.TimeoutExpired, TimeoutError):
                self.kill()

    def request(self, method: str, path: str, body: object = None,
                headers: dict[str, str] | None = None,
                timeout: float = 10.0) -> tuple[int, object]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json",
                                                           **(headers or {})})
            response = conn.getresponse()
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
        finally:
            conn.close()

    def login(self, username: str = "supervisor", pin: str = PIN) -> dict[str, str]:
        """Headers of a staff session: cookie and CSRF token."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("POST", "/api/v1/auth/login",
                     body=json.dumps({"username": username, "password": pin}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        data = json.loads(response.read())
        cookie = response.getheader("Set-Cookie", "").split(";")[0]
        conn.close()
        return {"Cookie": cookie, "X-CSRF-Token": data["csrf_token"]}


class KeepAliveClient:
    """One keep-alive HTTP connection that reconnects after the server died: a kiosk or a
    módulo of the load tests."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port, self.headers = port, headers
        self.conn: http.client.HTTPConnection | None = None

    def post(self, path: str, body: dict, extra: dict[str, str] | None = None
             ) -> tuple[int | None, object]:
        """(status, JSON body), or (None, None) when the server could not be reached."""
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            self.conn.request("POST", path, body=json.dumps(body),
                              headers={"Content-Type": "application/json", **self.headers,
                                       **(extra or {})})
            response = self.conn.getresponse()
            raw = response.read()
            return response.status, (json.loads(raw) if raw else None)
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = None
            return None, None
