"""Shared pieces of the benchmarks, so each script holds only its load model: a live server
on a temporary state dir, a keep-alive HTTP client that times its requests, the thread crowd
that drives it, percentiles, the figure records the scripts print as JSON lines (and
``bench.run_all`` turns into RESULTS.md), and the scripts' command-line plumbing.

Everything talks to 127.0.0.1 only. Every load loop is bounded by a count and a deadline.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from harness.live_server import LiveServer, write_config

QUEUES = 4
COUNTERS = 60


# --------------------------------------------------------------------------- server


@dataclass
class Bench:
    """A running server with its credentials: a kiosk bearer token and supervisor headers."""

    server: LiveServer
    kiosk: dict[str, str]
    staff: dict[str, str]
    start_seconds: float

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def pid(self) -> int:
        assert self.server.proc is not None
        return self.server.proc.pid


def new_state(root: Path, queues: int = QUEUES, counters: int = COUNTERS) -> LiveServer:
    """A centre config and an empty state dir under ``root``, with supervisor and kiosk."""
    config = write_config(root / "centre.toml", queues=queues, counters=counters)
    state = root / "state"
    state.mkdir()
    return LiveServer(state, config)


@contextmanager
def running(queues: int = QUEUES, counters: int = COUNTERS,
            open_day: bool = True) -> Iterator[Bench]:
    """A fresh server on a temporary state dir, day opened; always stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="mt-bench-") as tmp:
        server = new_state(Path(tmp), queues, counters)
        token, _ = server.setup()
        try:
            seconds = server.start()
            staff = server.login()
            if open_day:
                status, data = server.request("POST", "/api/v1/day/open", {}, staff)
                if status != 200:
                    raise RuntimeError(f"day/open answered {status}: {data}")
            yield Bench(server, {"Authorization": f"Bearer {token}"}, staff, seconds)
        finally:
            server.stop()


def service_pids(pid: int) -> list[int]:
    """The server process and its descendants, if any."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children", encoding="ascii") as f:
                    todo.extend(int(c) for c in f.read().split())
        except OSError:
            pass
    return found


def rss_kib(pid: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB of the whole service, from /proc/<pid>/smaps_rollup of each process.
    Across processes RSS counts shared pages more than once (an upper bound); PSS splits
    them."""
    rss = pss = 0
    for each in service_pids(pid):
        try:
            with open(f"/proc/{each}/smaps_rollup", encoding="ascii") as rollup:
                for line in rollup:
                    key, _, rest = line.partition(":")
                    if key == "Rss":
                        rss += int(rest.split()[0])
                    elif key == "Pss":
                        pss += int(rest.split()[0])
        except (FileNotFoundError, ProcessLookupError):
            if each == pid:
                raise
            # a child that ended since it was listed holds no memory
    return rss, pss


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used by the service's processes, from /proc/<pid>/stat."""
    return sum(cpu_split(pid))


def cpu_split(pid: int) -> tuple[float, float]:
    """(the server process's, its child processes') user + system CPU seconds: the children
    are the voice's espeak-ng worker (and a printer's helper, if any)."""
    own, children = 0.0, 0.0
    for each in service_pids(pid):
        try:
            with open(f"/proc/{each}/stat", encoding="ascii") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            if each == pid:
                raise
            continue  # a child that ended since it was listed
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if each == pid:
            own += seconds
        else:
            children += seconds
    return own, children


# --------------------------------------------------------------------------- client


class Client:
    """One keep-alive connection (one kiosk, one módulo); reconnects after an error. A context
    manager, so every load thread closes its connection however it ends.

    It speaks just enough HTTP/1.1 over a plain socket, with the fixed headers encoded once:
    the load generator shares the machine's cores with the server, and ``http.client`` (an
    email-style header parser per response) cost it about as much CPU per request as a
    sixth of the server's. Requests on the wire are the same as before: one ``sendall``
    of request line, Host, the headers, Content-Length for a body, then the body."""

    def __init__(self, port: int, headers: dict[str, str], timeout: float = 30.0) -> None:
        self.port, self.timeout = port, timeout
        fixed = {"Host": f"127.0.0.1:{port}", "Accept-Encoding": "identity",
                 "Content-Type": "application/json", **headers}
        self._head = "".join(f"{k}: {v}\r\n" for k, v in fixed.items())
        self.sock: socket.socket | None = None
        self._buf = b""
        self._answered = False  # a byte of the current answer has come

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def post(self, path: str, body: object | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        """(status, body, seconds); status 0 means a connection error. ``headers`` go with
        this request only (e.g. an Idempotency-Key)."""
        data = json.dumps(body).encode() if body is not None else b""
        return self._send("POST", path, data, headers)

    def get(self, path: str) -> tuple[int, bytes, float]:
        return self._send("GET", path, None)

    def _send(self, method: str, path: str, data: bytes | None,
              headers: dict[str, str] | None = None) -> tuple[int, bytes, float]:
        """The timed exchange: from sending (connecting if needed) to the body read."""
        began = time.perf_counter()
        length = "" if data is None else f"Content-Length: {len(data)}\r\n"
        extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items()) if headers else ""
        request = (f"{method} {path} HTTP/1.1\r\n{self._head}{extra}{length}\r\n".encode()
                   + (data or b""))
        status, raw = self._exchange(request, head_only=method == "HEAD")
        return status, raw, time.perf_counter() - began

    def _exchange(self, request: bytes, head_only: bool) -> tuple[int, bytes]:
        """One request and its response. A kept-alive connection that the server had closed
        meanwhile (waitress closes one idle for 120 s: an asesor's attention in real time
        lasts longer) fails before any byte of the answer comes: like a browser, the request
        goes once more on a new connection. Any other failure is status 0."""
        for attempt in (1, 2):
            reused = self.sock is not None
            self._answered = False
            try:
                if self.sock is None:
                    self.sock = socket.create_connection(("127.0.0.1", self.port),
                                                         self.timeout)
                    self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self._buf = b""
                self.sock.sendall(request)
                status, raw, close = self._response(head_only=head_only)
                if close:
                    self.close()
                return status, raw
            except (OSError, ValueError) as exc:
                self.close()
                stale = (reused and not self._answered and attempt == 1
                         and isinstance(exc, ConnectionError))
                if not stale:
                    return 0, b""
        return 0, b""

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        self._answered = True
        self._buf += chunk

    def _take(self, size: int) -> bytes:
        while len(self._buf) < size:
            self._fill()
        out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def _line(self) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            self._fill()
        out, self._buf = self._buf[:end], self._buf[end + 2:]
        return out

    def _response(self, head_only: bool) -> tuple[int, bytes, bool]:
        """(status, body, server closes) of one response: Content-Length, chunked, or up to
        the end of the connection."""
        while (end := self._buf.find(b"\r\n\r\n")) < 0:
            self._fill()
        lines = self._buf[:end].decode("latin-1").split("\r\n")
        self._buf = self._buf[end + 4:]
        status = int(lines[0].split(" ", 2)[1])
        fields = {}
        for line in lines[1:]:
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        close = fields.get("connection", "").lower() == "close"
        if head_only or status in (204, 304) or 100 <= status < 200:
            return status, b"", close
        if fields.get("transfer-encoding", "").lower() == "chunked":
            return status, self._chunked(), close
        if "content-length" in fields:
            return status, self._take(int(fields["content-length"])), close
        while True:  # no length: the body runs to the end of the connection
            try:
                self._fill()
            except ConnectionError:
                body, self._buf = self._buf, b""
                return status, body, True

    def _chunked(self) -> bytes:
        parts = []
        while size := int(self._line().split(b";")[0], 16):
            parts.append(self._take(size))
            self._take(2)
        while self._line():  # trailers up to the empty line
            pass
        return b"".join(parts)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self._buf = b""


def crowd(port: int, headers: dict[str, str], count: int, work: Callable[[int, Client], None],
          release: Callable[[], float | None] | None = None) -> float:
    """Run ``work(i, client)`` for each i < ``count`` on a thread of its own with its own
    connection; returns wall seconds until the last thread ends.

    With ``release`` the threads wait at a barrier until all exist and ``release()`` has set
    the deadline or schedule, so thread start-up is not measured; the wall time then runs
    from the origin (perf_counter) that ``release()`` returns, or from the release itself
    when it returns None."""
    gate = threading.Barrier(count + 1) if release is not None else None

    def thread(i: int) -> None:
        with Client(port, headers) as client:
            if gate is not None:
                gate.wait()
            work(i, client)

    threads = [threading.Thread(target=thread, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    origin = release() if release is not None else None
    if gate is not None:
        gate.wait()
    began = time.perf_counter() if origin is None else origin
    for t in threads:
        t.join()
    return time.perf_counter() - began


def flat(per_client: list[list[float]]) -> list[float]:
    return [x for per in per_client for x in per]


def issue_flat_out(bench: Bench, total: int, clients: int = 16, queues: int = QUEUES,
                   deadline: float = 120.0,
                   timed: bool = False) -> tuple[float, list[float], int]:
    """``clients`` threads issue ``total`` tickets round-robin over the queues as fast as they
    go: (wall seconds, latencies of the tickets created, errors). ``timed`` holds the threads
    at a barrier and starts the deadline and the clock when all are ready."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop_at = [time.monotonic() + deadline]

    def work(i: int, client: Client) -> None:
        for k in range(i, total, clients):
            if time.monotonic() > stop_at[0]:
                return
            status, _, seconds = client.post("/api/v1/tickets", {"service_id": 1 + k % queues})
            if status == 201:
                latencies[i].append(seconds)
            else:
                errors[i] += 1

    def release() -> None:
        stop_at[0] = time.monotonic() + deadline

    wall = crowd(bench.port, bench.kiosk, clients, work, release if timed else None)
    return wall, flat(latencies), sum(errors)


def issue_many(bench: Bench, total: int, clients: int = 16, queues: int = QUEUES,
               deadline: float = 120.0) -> int:
    """Issue ``total`` tickets to fill the queues (not timed); returns how many were created."""
    return len(issue_flat_out(bench, total, clients, queues, deadline)[1])


def open_counters(bench: Bench, counters: int) -> None:
    """Open módulos 1..``counters``, so they can call; any failure stops the benchmark."""
    with Client(bench.port, bench.staff) as client:
        for n in range(1, counters + 1):
            status, raw, _ = client.post(f"/api/v1/counters/{n}/open", {})
            if status != 200:
                raise RuntimeError(f"open counter {n}: {status} {raw[:200]!r}")


# --------------------------------------------------------------------------- figures


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class Figure:
    """One measured figure over several runs. ``target`` is (op, value) with op in
    ("<=", ">="), or None for an informative figure without a target."""

    key: str
    label: str
    unit: str
    target: tuple[str, float] | None
    command: str
    values: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def met(self) -> bool | None:
        if self.target is None or not self.values:
            return None
        op, value = self.target
        return self.median <= value if op == "<=" else self.median >= value

    def target_text(self) -> str:
        if self.target is None:
            return "—"
        op, value = self.target
        return f"{'≤' if op == '<=' else '≥'} {fmt(value)} {self.unit}"

    def record(self) -> dict[str, object]:
        return {"figure": self.key, "label": self.label, "unit": self.unit,
                "target": self.target_text(), "met": self.met,
                "median": round(self.median, 3) if self.values else None,
                "min": round(min(self.values), 3) if self.values else None,
                "max": round(max(self.values), 3) if self.values else None,
                "runs": len(self.values), "values": [round(v, 3) for v in self.values],
                "command": self.command, "notes": self.notes}


def ms(seconds: list[float], q: float) -> float:
    """The q-th percentile of latencies in seconds, in milliseconds."""
    return percentile(seconds, q) * 1000


def p50_p99(seconds: list[float], digits: int = 1) -> str:
    """The progress-line text of a latency sample."""
    return f"p50 {ms(seconds, 50):.{digits}f} ms p99 {ms(seconds, 99):.{digits}f} ms"


@dataclass
class Latency:
    """The p50 and p99 figures (ms) of one phase; a target applies to the p99 only."""

    p50: Figure
    p99: Figure

    @classmethod
    def of(cls, key: str, label: str, cmd: str,
           target: tuple[str, float] | None = None) -> Latency:
        return cls(Figure(f"{key}.p50", f"{label}: p50 latency", "ms", None, cmd),
                   Figure(f"{key}.p99", f"{label}: p99 latency", "ms", target, cmd))

    def add(self, seconds: list[float]) -> None:
        self.p50.add(ms(seconds, 50))
        self.p99.add(ms(seconds, 99))

    def __iter__(self) -> Iterator[Figure]:
        return iter((self.p50, self.p99))


def fmt(value: float) -> str:
    if value != value:  # NaN
        return "n/a"
    if float(value).is_integer() and abs(value) < 1e6:
        return f"{value:.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def emit(figures: list[Figure]) -> None:
    """Print one JSON line per figure on stdout."""
    for figure in figures:
        print(json.dumps(figure.record(), ensure_ascii=False), flush=True)


def progress(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def command(module: str, argv: list[str]) -> str:
    return " ".join([".venv/bin/python -m", f"bench.{module}", *argv]).strip()


def cpu_count() -> int:
    return os.cpu_count() or 1


# --------------------------------------------------------------------------- scripts


def arguments(doc: str, runs: int) -> argparse.ArgumentParser:
    """A script's parser: described by its docstring's first paragraph, with ``--runs``."""
    p = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=runs)
    return p


def cli(run: Callable[[argparse.Namespace, list[str]], list[Figure]],
        parser: argparse.ArgumentParser, argv: list[str] | None) -> list[Figure]:
    """A script's ``main``: parse, measure, print the figures as JSON lines. ``run`` gets the
    raw argv too, to repeat it in each figure's command."""
    argv = sys.argv[1:] if argv is None else argv
    figures = run(parser.parse_args(argv), argv)
    emit(figures)
    return figures
