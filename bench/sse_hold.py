"""Many live streams held at once: ``--clients`` SSE clients on ``/api/v1/stream`` for
``--seconds``, while a módulo calls once a second, on a server with ``--threads`` threads.

Each stream holds one server thread, and the server keeps a reserve of threads for ordinary
requests (``appliance/api_devices.py``), so 500 streams need about 600 threads. The clients
live in this process on one thread (non-blocking sockets and a selector), so the load
generator costs little. Figures: streams that failed (refused, dropped, or missing an
event), the server's peak RSS while holding them, and the p99 of a health check during the
hold (an ordinary request must not wait behind the streams).

    .venv/bin/python -m bench.sse_hold [--runs 1] [--clients 500] [--seconds 300]
"""

from __future__ import annotations

import argparse
import selectors
import socket
import tempfile
import threading
import time
from pathlib import Path

from bench.common import Client, Figure, arguments, cli, command, ms, progress, rss_kib
from harness.live_server import LiveServer, write_config

MIB = 1024


class StreamCrowd:
    """``count`` SSE connections read by one thread: how many events each has seen, and which
    ones failed. ``on_event(kind, data, at)`` is called for every event of the first one."""

    def __init__(self, port: int, headers: dict[str, str], count: int,
                 on_event: object = None) -> None:
        self.port, self.headers, self.count = port, headers, count
        self.events = [0] * count
        self.failed: set[int] = set()
        self.opened = 0
        self.on_event = on_event
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sse-crowd", daemon=True)
        self._buffers: dict[int, bytes] = {}

    def start(self, timeout: float = 120.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while self.opened + len(self.failed) < self.count and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)

    def _request(self) -> bytes:
        lines = ["GET /api/v1/stream HTTP/1.1", "Host: 127.0.0.1",
                 "Accept: text/event-stream", *(f"{k}: {v}" for k, v in self.headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def _run(self) -> None:
        selector = selectors.DefaultSelector()
        sockets: list[socket.socket] = []
        request = self._request()
        for i in range(self.count):
            try:
                s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                s.sendall(request)
                s.setblocking(False)
                selector.register(s, selectors.EVENT_READ, i)
                sockets.append(s)
                self._buffers[i] = b""
            except OSError:
                self.failed.add(i)
        try:
            while not self._stop.is_set():
                for key, _ in selector.select(timeout=0.2):
                    self._read(selector, key.fileobj, key.data)  # type: ignore[arg-type]
        finally:
            for s in sockets:
                s.close()

    def _read(self, selector: selectors.BaseSelector, s: socket.socket, i: int) -> None:
        try:
            chunk = s.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            self.failed.add(i)
            selector.unregister(s)
            return
        data = self._buffers[i] + chunk
        if b"HTTP/1.1 " in data[:9] and b"\r\n\r\n" in data:
            head, _, data = data.partition(b"\r\n\r\n")
            if b" 200 " not in head.split(b"\r\n")[0]:
                self.failed.add(i)
                selector.unregister(s)
                return
            self.opened += 1
        *frames, rest = data.split(b"\n\n")
        self._buffers[i] = rest
        for frame in frames:
            if b"event: " in frame:
                self.events[i] += 1
                if i == 0 and callable(self.on_event):
                    kind = frame.split(b"event: ", 1)[1].split(b"\n", 1)[0].decode()
                    self.on_event(kind, frame, time.time())


def one_run(clients: int, seconds: float, threads: int) -> tuple[int, float, list[float], int]:
    """(failed streams, peak RSS MiB, health latencies, calls made)."""
    with tempfile.TemporaryDirectory(prefix="mt-bench-") as tmp:
        root = Path(tmp)
        config = write_config(root / "centre.toml", queues=4, counters=8, threads=threads)
        state = root / "state"
        state.mkdir()
        server = LiveServer(state, config)
        kiosk, _ = server.setup()
        tv = server.cli("device", "add", "tv-1", "--role", "display").strip().split()[-1]
        try:
            server.start()
            staff = server.login()
            server.request("POST", "/api/v1/day/open", {}, staff)
            server.request("POST", "/api/v1/counters/1/open", {}, staff)
            assert server.proc is not None
            crowd = StreamCrowd(server.port, {"Authorization": f"Bearer {tv}"}, clients)
            crowd.start()
            progress(f"{crowd.opened} streams open, {len(crowd.failed)} failed")
            peak, health, made = 0.0, [], 0
            with Client(server.port, staff) as desk, Client(server.port, {}) as probe:
                desk_kiosk = Client(server.port, {"Authorization": f"Bearer {kiosk}"})
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    desk_kiosk.post("/api/v1/tickets", {"service_id": 1})
                    desk.post("/api/v1/counters/1/finish", {})
                    desk.post("/api/v1/counters/1/start", {})
                    desk.post("/api/v1/counters/1/finish", {})
                    status, _, _ = desk.post("/api/v1/counters/1/call-next", {})
                    made += status == 200
                    status, _, took = probe.get("/api/v1/health")
                    health.append(took)
                    peak = max(peak, rss_kib(server.proc.pid)[0] / MIB)
                    time.sleep(max(0.0, 1.0 - took))
                desk_kiosk.close()
            time.sleep(1.0)
            crowd.stop()
            # Every stream must have seen its snapshot and every call's events.
            least = 1 + made
            missing = sum(1 for i, n in enumerate(crowd.events)
                          if i not in crowd.failed and n < least)
            return len(crowd.failed) + missing, peak, health, made
        finally:
            server.stop()


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=1)
    p.add_argument("--clients", type=int, default=500)
    p.add_argument("--seconds", type=float, default=300.0)
    p.add_argument("--threads", type=int, default=600)
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("sse_hold", argv)
    label = f"{args.clients} SSE clients held {args.seconds:.0f} s"
    errors = Figure("sse.errors", f"{label}: failed streams", "streams", ("<=", 0), cmd)
    rss = Figure("sse.rss", f"{label}: server peak RSS", "MiB", ("<=", 200 * 1e6 / 2**20),
                 cmd)
    health = Figure("sse.health.p99", f"{label}: health check p99 meanwhile", "ms", None, cmd)
    for n in range(1, args.runs + 1):
        failed, peak, took, made = one_run(args.clients, args.seconds, args.threads)
        errors.add(failed)
        rss.add(peak)
        health.add(ms(took, 99))
        progress(f"sse hold run {n}: {failed} failed, peak RSS {peak:.0f} MiB, "
                 f"{made} calls, health p99 {ms(took, 99):.1f} ms")
    return [errors, rss, health]


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
