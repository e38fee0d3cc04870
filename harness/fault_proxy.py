"""A proxy on 127.0.0.1 between a box's uplink and the central that fails requests on
purpose (down, 500, a captive portal, a hung or trickled answer, a lost answer, …), for the
uplink's fault drills and its benchmarks."""

from __future__ import annotations

import gzip
import http.client
import http.server
import json
import sys
import threading
import time
from collections import deque
from typing import Any

from harness.live_server import free_port


class FaultProxy(http.server.ThreadingHTTPServer):
    """Forwards the sender's requests to the central, or fails them on purpose.

    Modes, taken one per request from ``modes`` (then ``default``): ``pass``; ``down``
    (connection closed, no answer); ``500``; ``409``; ``captive`` (200 with a portal's HTML);
    ``bare_json`` (200 JSON that is not an answer); ``timeout`` (no answer until the
    sender gives up); ``slow`` (answers after ``delay`` s); ``duplicate`` (delivered twice);
    ``lost_answer`` (delivered, the answer never comes back); ``hold_before`` and
    ``hold_after`` (wait ``hold`` s before or after delivering: a window to kill someone);
    ``partial_answer`` (the answer loses half of its uids); ``trickle`` (an answer one byte
    every ``delay`` s, ``trickle_bytes`` of them, then the line is dropped; ``trickle_cut`` is
    set when the sender hung up first). Every body is kept, unzipped; a GET (the catalogue
    pull) takes its mode from ``get_modes``, and its path is kept."""

    daemon_threads = True

    def __init__(self, upstream_port: int) -> None:
        super().__init__(("127.0.0.1", free_port()), _Handler)
        self.upstream_port = upstream_port
        self.modes: deque[str] = deque()
        self.default = "pass"
        self.delay, self.hold = 0.3, 30.0
        self.bodies: list[bytes] = []
        self.gets: list[str] = []  # the paths asked for with GET (the catalogue pull)
        self.get_modes: deque[str] = deque()  # a GET's modes (then ``default``)
        self.inflight = 0
        self.released = threading.Event()  # ends a held `timeout` at once
        self.trickle_bytes = 60
        self.trickle_cut = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FaultProxy:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sender that gave up (its deadline passed) closes the socket under an answer
        being written: expected in these drills, so not printed as a traceback."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def next_mode(self) -> str:
        with self.lock:
            return self.modes.popleft() if self.modes else self.default

    def forward(self, path: str, body: bytes | None, headers: dict[str, str],
                method: str = "POST") -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.upstream_port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type") or "", r.read()
        except OSError:
            return 502, "text/plain", b"Bad gateway"
        finally:
            conn.close()


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet tests
        pass

    def _answer(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _trickle(self, p: FaultProxy) -> None:
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 4096\r\n\r\n")
        try:
            for i in range(p.trickle_bytes):
                self.wfile.write(head[i:i + 1] if i < len(head) else b" ")
                self.wfile.flush()
                time.sleep(p.delay)
        except OSError:
            p.trickle_cut.set()  # the sender gave up on the answer before it was over
            self.close_connection = True
            return
        self._hang_up()

    def _hang_up(self) -> None:
        self.close_connection = True
        self.connection.close()

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        p = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        plain = gzip.decompress(body) if self.headers.get("Content-Encoding") == "gzip" else body
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "connection")}
        with p.lock:
            p.bodies.append(plain)
            p.inflight += 1
        try:
            self._handle(p, p.next_mode(), body, headers)
        finally:
            with p.lock:
                p.inflight -= 1

    def do_GET(self) -> None:  # noqa: N802 - the box's catalogue pull, with the same faults
        p = self.server
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "connection")}
        with p.lock:
            p.gets.append(self.path)
            p.inflight += 1
        try:
            with p.lock:
                mode = p.get_modes.popleft() if p.get_modes else p.default
            self._handle(p, mode, None, headers)
        finally:
            with p.lock:
                p.inflight -= 1

    def _handle(self, p: FaultProxy, mode: str, body: bytes | None,
                headers: dict[str, str]) -> None:
        if mode == "down":
            return self._hang_up()
        if mode in ("500", "409"):
            return self._answer(int(mode), "application/json",
                                b'{"error": "fault", "message": "injected"}')
        if mode == "captive":
            return self._answer(200, "text/html", b"<html><body>Acepte los terminos del WiFi"
                                                  b"</body></html>")
        if mode == "bare_json":
            return self._answer(200, "application/json", b'{"ok": true}')
        if mode == "timeout":
            p.released.wait(p.hold)
            return self._hang_up()
        if mode == "trickle":
            return self._trickle(p)
        if mode == "hold_before":
            time.sleep(p.hold)
        if mode == "slow":
            time.sleep(p.delay)
        status, ctype, answer = p.forward(self.path, body, headers, self.command)
        if mode == "duplicate":
            status, ctype, answer = p.forward(self.path, body, headers, self.command)
        if mode == "lost_answer":
            return self._hang_up()
        if mode == "hold_after":
            time.sleep(p.hold)
            return self._hang_up()
        if mode == "partial_answer" and status == 200:
            data = json.loads(answer)
            data["accepted"] = data["accepted"][: len(data["accepted"]) // 2]
            data["duplicates"] = []
            answer = json.dumps(data).encode()
        return self._answer(status, ctype, answer)
