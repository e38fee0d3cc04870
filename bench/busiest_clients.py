"""The clients of the busiest day that ``bench.day_people`` does not have, each cheap in CPU
(the generator shares the machine with the server): staff logging in over HTTP, every live
stream of the day on one thread (``StreamHub``: the TVs' live and announcement streams, the
desks' and the supervisor's live streams), the citizens' phones polling their status page
(``PhoneBank``: a few threads, each with one keep-alive connection, driving many phones on
a schedule) and the supervisor's dashboard."""

from __future__ import annotations

import heapq
import http.client
import itertools
import json
import random
import selectors
import socket
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from appliance.http import SESSION_COOKIE
from bench.common import Client
from bench.day_people import Floor

# ----------------------------------------------------------------------------- logins


def login(port: int, username: str, pin: str) -> tuple[int, dict[str, str] | None, float]:
    """Log in as the staff page does: (status, session headers or None, seconds). A new
    connection, as a browser opening the page in the morning."""
    began = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", "/api/v1/auth/login",
                     body=json.dumps({"username": username, "password": pin}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        raw = response.read()
        seconds = time.perf_counter() - began
        if response.status != 200:
            return response.status, None, seconds
        cookie = next((c.split(";")[0] for c in response.headers.get_all("Set-Cookie") or []
                       if c.startswith(f"{SESSION_COOKIE}=")), "")
        return 200, {"Cookie": cookie, "X-CSRF-Token": json.loads(raw)["csrf_token"]}, seconds
    except (OSError, http.client.HTTPException, ValueError, KeyError):
        return 0, None, time.perf_counter() - began
    finally:
        conn.close()


# ----------------------------------------------------------------------------- live streams

# What the figures and checks read of an announcement (the rest is dropped as it arrives).
VOICE_KEYS = ("seq", "event", "ticket", "counter", "recall", "seconds")


@dataclass(eq=False)
class Stream:
    """One live stream a page keeps open all day, reconnected as the page would."""

    kind: str  # "tv" (live stream), "voice" (announcements), "desk", "supervisor"
    path: str
    auth: str  # header lines
    index: int = 0  # the TV's number, from 0
    zone: str = ""
    sock: socket.socket | None = None
    head: bool = True
    buf: bytes = b""
    event: bytes = b""
    connections: int = 0
    events: int = 0
    retry_at: float = 0.0
    backoff: float = 1.0


class StreamHub:
    """Every live stream of the day on one thread with a selector. HTTP/1.0, so a stream
    comes without chunking until either side ends it. Only what the figures need is parsed:
    ``ticket.called`` on the TVs' live streams and ``announcement`` on their announcement
    streams, with the monotonic time each arrived; the desks' and the supervisor's streams
    are counted. A stream refused (503 beyond the server's stream budget, 429 beyond the
    caller's cap) is tried again after 1 s, doubling up to 30 s, as the pages do."""

    def __init__(self, port: int, tvs: int, stop: threading.Event, deadline: float) -> None:
        self.port, self.stop, self.deadline = port, stop, deadline
        self.lock = threading.Lock()
        self.streams: list[Stream] = []
        self.closed: set[Stream] = set()  # not connected: to open at their retry_at
        self.selector = selectors.DefaultSelector()
        self.tv_calls = [0] * tvs
        self.tv_seen: list[dict[int, float]] = [{} for _ in range(tvs)]  # event seq → when
        self.voice: list[list[tuple[float, dict[str, Any]]]] = [[] for _ in range(tvs)]
        self.refused: Counter[tuple[str, int]] = Counter()
        self.dropped: Counter[str] = Counter()  # streams the server ended, by kind
        self.thread = threading.Thread(target=self._run, name="stream-hub", daemon=True)

    def add(self, stream: Stream) -> None:
        with self.lock:
            self.streams.append(stream)
            self.closed.add(stream)

    def start(self) -> None:
        self.thread.start()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)

    def connections(self, kind: str) -> list[int]:
        return [s.connections for s in self.streams if s.kind == kind]

    def events(self, kind: str) -> int:
        return sum(s.events for s in self.streams if s.kind == kind)

    def _run(self) -> None:
        try:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                now = time.monotonic()
                with self.lock:
                    due = [s for s in self.closed if s.retry_at <= now]
                for stream in due:
                    self._open(stream)
                for key, _ in self.selector.select(0.25):
                    self._read(key.data)
        finally:
            for stream in list(self.streams):
                if stream.sock is not None:
                    self._close(stream, retry=None)

    def _open(self, s: Stream) -> None:
        request = (f"GET {s.path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{s.auth}"
                   "Accept: text/event-stream\r\n\r\n").encode()
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            sock.sendall(request)
            sock.setblocking(False)
        except OSError:
            s.retry_at = time.monotonic() + 2.0
            return
        s.sock, s.head, s.buf, s.event = sock, True, b"", b""
        with self.lock:
            self.closed.discard(s)
        self.selector.register(sock, selectors.EVENT_READ, s)

    def _close(self, s: Stream, retry: float | None) -> None:
        if s.sock is not None:
            self.selector.unregister(s.sock)
            s.sock.close()
            s.sock = None
        if retry is not None:
            s.retry_at = time.monotonic() + retry
            with self.lock:
                self.closed.add(s)

    def _read(self, s: Stream) -> None:
        assert s.sock is not None
        try:
            chunk = s.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        now = time.monotonic()
        if not chunk:
            if not s.head:
                self.dropped[s.kind] += 1
            self._close(s, retry=2.0)  # EventSource's retry (the streams say 2000 ms)
            return
        if s.head:
            s.buf += chunk
            end = s.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = int(s.buf.split(b" ", 2)[1])
            if status != 200:
                self.refused[(s.kind, status)] += 1
                self._close(s, retry=s.backoff)
                s.backoff = min(30.0, s.backoff * 2)
                return
            s.head, s.backoff, chunk, s.buf = False, 1.0, s.buf[end + 4:], b""
            s.connections += 1
        if s.kind in ("desk", "supervisor"):
            s.events += chunk.count(b"\nevent: ") + chunk.startswith(b"event: ")
            return
        wanted = b"ticket.called" if s.kind == "tv" else b"announcement"
        *lines, s.buf = (s.buf + chunk).split(b"\n")
        for line in lines:
            if line.startswith(b"event: "):
                s.event = line[7:]
            elif not line:
                s.event = b""
            elif s.event == wanted and line.startswith(b"data: "):
                s.events += 1
                data = json.loads(line[6:])
                if s.kind == "tv":
                    self.tv_calls[s.index] += 1
                    self.tv_seen[s.index][int(data["seq"])] = now
                else:
                    self.voice[s.index].append((now, {k: data.get(k) for k in VOICE_KEYS}))


# ----------------------------------------------------------------------------- phones


@dataclass(order=True)
class _Due:
    at: float
    n: int
    token: str = field(compare=False)
    opened: bool = field(compare=False, default=False)  # the status page was read


class PhoneBank:
    """The citizens' phones: a citizen with a ticket opens its status page (the QR's
    ``/t/<token>``) and the page reads ``/api/v1/public/tickets/<token>`` every ``period``
    real seconds (``kiosk/static/status.js``) while the ticket waits. At most ``cap`` phones
    poll at once; a ticket issued while all are busy gets the next free one (its citizen
    scans the QR later). ``workers`` threads, each with one keep-alive connection, take the
    polls as they fall due; a poll that starts more than a second after its time is
    counted late (the generator fell behind, not the server)."""

    def __init__(self, port: int, floor: Floor, cap: int, stop: threading.Event,
                 deadline: float, period: float = 5.0, workers: int = 16,
                 seed: int = 1) -> None:
        self.port, self.floor, self.cap, self.stop = port, floor, cap, stop
        self.deadline, self.period = deadline, period
        self.cond = threading.Condition()
        self.due: list[_Due] = []
        self.pending: deque[str] = deque()
        self.active = self.peak = 0
        self.counter = itertools.count()
        self.rng = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.threads = [threading.Thread(target=self._work, name=f"phones-{i}", daemon=True)
                        for i in range(workers)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self, timeout: float) -> None:
        with self.cond:
            self.cond.notify_all()
        for t in self.threads:
            t.join(timeout)

    def issued(self, ticket: dict[str, Any]) -> None:
        """``Floor.on_issued``: the citizen has the ticket in hand."""
        token = ticket.get("token")
        if not token or ticket.get("status") != "waiting":
            return
        with self.cond:
            if self.active < self.cap:
                self._begin(token)
            else:
                self.pending.append(token)
                self.counts["waited_for_a_phone"] += 1

    def _begin(self, token: str) -> None:
        """Under the lock: a phone opens the page a few seconds after the ticket."""
        self.active += 1
        self.peak = max(self.peak, self.active)
        self.counts["phones"] += 1
        heapq.heappush(self.due, _Due(time.monotonic() + self.rng.uniform(1, 4),
                                      next(self.counter), token))
        self.cond.notify()

    def _take(self) -> _Due | None:
        with self.cond:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                now = time.monotonic()
                if self.due and self.due[0].at <= now:
                    return heapq.heappop(self.due)
                self.cond.wait(min(0.5, self.due[0].at - now) if self.due else 0.5)
        return None

    def _work(self) -> None:
        with Client(self.port, {}) as client:
            while (item := self._take()) is not None:
                if time.monotonic() - item.at > 1.0:
                    self.counts["late"] += 1
                waiting = self._poll(client, item)
                with self.cond:
                    if waiting:
                        item.at = max(item.at + self.period, time.monotonic())
                        item.opened = True
                        heapq.heappush(self.due, item)
                        continue
                    self.active -= 1
                    if self.pending:
                        self._begin(self.pending.popleft())

    def _poll(self, client: Client, item: _Due) -> bool:
        """One read of the page or of its JSON; whether the ticket still waits."""
        if not item.opened:
            status, raw, seconds = client.get(f"/t/{item.token}")
            self.floor.timed("phone_page", seconds)
            self.counts["pages"] += 1
            return self.floor.answer("GET /t/<token>", status, raw, (200,))
        status, raw, seconds = client.get(f"/api/v1/public/tickets/{item.token}")
        self.floor.timed("phone_poll", seconds)
        self.counts["polls"] += 1
        if not self.floor.answer("GET /public/tickets", status, raw, (200,)):
            return False
        state = json.loads(raw).get("status")
        if state == "waiting":
            return True
        self.counts["saw_called" if state == "called" else f"saw_{state}"] += 1
        return False


# ----------------------------------------------------------------------------- supervision


def dashboard(port: int, headers: dict[str, str], floor: Floor, stop: threading.Event,
              deadline: float, seed: int = 1) -> None:
    """The supervisor's page: the floor, the uplink's state and the printers, read when it
    opens and again every 10 to 30 real seconds (its live stream is one of
    ``StreamHub``'s)."""
    rng = random.Random(seed)
    with Client(port, headers) as client:
        while time.monotonic() < deadline:
            for path in ("/api/v1/floor", "/api/v1/sync", "/api/v1/printers"):
                status, raw, seconds = client.get(path)
                floor.timed("dashboard", seconds)
                floor.answer(f"GET {path}", status, raw, (200,))
            if stop.wait(rng.uniform(10, 30)):
                return
