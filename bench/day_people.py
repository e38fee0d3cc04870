"""The simulated day's people and clock: kiosks, the orientador, the asesores and the TVs,
acting over HTTP at the simulated instants, and the ``Floor`` they share."""

from __future__ import annotations

import json
import math
import random
import socket
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bench.common import (
    Client,
)
from bench.day_plan import (
    IT_PAUSE_MINUTES,
    IT_PAUSE_SHARE,
    NO_SHOW_AFTER,
    NO_SHOW_RECALL_AFTER,
    SIGMA,
    WALK_SECONDS,
    Plan,
    Visitor,
)
from harness.live_server import LiveServer
from turnero.clock import from_iso

# ----------------------------------------------------------------------------- simulated time


class SimTime:
    """The simulated instant on the clients' side, in step with the server's clock: read
    once from /api/v1/health, then carried on by the monotonic clock at the same speed, or
    at the same two speeds when the server's clock changes speed at ``change_at`` (epoch
    seconds; ``serve --clock-speed-after``)."""

    def __init__(self, server_now: float, at_real: float, speed: float,
                 uncertainty: float = 0.0, *, change_at: float | None = None,
                 speed_after: float | None = None) -> None:
        if change_at is not None and speed_after is not None and server_now >= change_at:
            speed, change_at = speed_after, None  # read after the change: one speed left
        self.origin, self.real, self.speed = server_now, at_real, speed
        self.change_at = change_at if speed_after is not None else None
        self.speed_after: float = speed_after if speed_after is not None else speed
        # Simulated seconds either way: the server read its clock somewhere inside the
        # request, and a real millisecond is `speed` simulated ones.
        self.uncertainty = uncertainty

    @classmethod
    def of_server(cls, server: LiveServer, speed: float, *, change_at: float | None = None,
                  speed_after: float | None = None) -> SimTime:
        before = time.monotonic()
        status, health = server.request("GET", "/api/v1/health")
        after = time.monotonic()
        assert status == 200 and isinstance(health, dict)
        now = from_iso(health["components"]["clock"]["now"]).timestamp()
        return cls(now, (before + after) / 2, speed, (after - before) / 2 * speed,
                   change_at=change_at, speed_after=speed_after)

    def now(self) -> float:
        elapsed = time.monotonic() - self.real
        if self.change_at is None:
            return self.origin + elapsed * self.speed
        to_change = (self.change_at - self.origin) / self.speed  # real seconds
        if elapsed <= to_change:
            return self.origin + elapsed * self.speed
        return self.change_at + (elapsed - to_change) * self.speed_after

    def real_at(self, at: float) -> float:
        """The monotonic instant of the simulated instant ``at``."""
        if self.change_at is None or at <= self.change_at:
            return self.real + (at - self.origin) / self.speed
        return self.real + (self.change_at - self.origin) / self.speed \
            + (at - self.change_at) / self.speed_after

    def real_seconds(self, simulated: float) -> float:
        """Real seconds that ``simulated`` seconds from now take."""
        if self.change_at is None:
            return max(0.0, simulated / self.speed)
        return max(0.0, self.real_at(self.now() + simulated) - time.monotonic())

    def sleep_until(self, at: float, stop: threading.Event) -> bool:
        """Wait for the simulated instant ``at``; False if ``stop`` came first."""
        if self.change_at is None:
            return not stop.wait(self.real_seconds(at - self.now()))
        return not stop.wait(max(0.0, self.real_at(at) - time.monotonic()))


# ----------------------------------------------------------------------------- the floor


@dataclass
class Issued:
    """What the 201 of one ticket said, and when."""

    uid: str
    label: str
    queue: str
    preferential: bool
    estimate: int | None
    ahead: int | None
    at: float
    channel: str
    steps: int


class Floor:
    """What the simulated people share: the tickets confirmed to them, which módulo holds
    which ticket as far as they know, the wake-ups of idle módulos (a real desk hears of a
    new ticket on its live stream), and everything that went wrong. Also what a benchmark
    reads of it: each request's seconds by what it was (``timings``), when each call-next
    answer came (``calls``, monotonic), the unexpected statuses, and ``on_issued``, told of
    every ticket a 201 gave (its JSON)."""

    def __init__(self, serves: dict[str, list[int]]) -> None:
        self.lock = threading.Lock()
        self.serves = serves
        self.wake = {n: threading.Event() for ns in serves.values() for n in ns}
        self.issued: dict[str, Issued] = {}
        self.holding: dict[int, str] = {}
        self.sending_on: set[int] = set()
        self.violations: list[str] = []
        self.unexpected: Counter[str] = Counter()
        self.counts: Counter[str] = Counter()
        self.stop_calls = threading.Event()  # asesores stop calling (the day is over)
        self.stop_all = threading.Event()  # every thread stops now (deadline or failure)
        self.timings: defaultdict[str, list[float]] = defaultdict(list)
        self.calls: list[tuple[str, float]] = []  # (ticket uid, monotonic) per call-next 200
        self.statuses: Counter[int] = Counter()  # unexpected statuses (0: no answer)
        self.on_issued: Callable[[dict[str, Any]], None] | None = None
        # Told of each violation as it happens (a long run says it at once, not at its end).
        self.on_violation: Callable[[str], None] | None = None

    def notify(self, queue: str) -> None:
        for n in self.serves.get(queue, ()):
            self.wake[n].set()

    def count(self, what: str, n: int = 1) -> None:
        with self.lock:
            self.counts[what] += n

    def timed(self, what: str, seconds: float) -> None:
        self.timings[what].append(seconds)  # list.append holds the GIL: no lock needed

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)
        if self.on_violation is not None:
            self.on_violation(text)

    def answer(self, what: str, status: int, raw: bytes, expected: tuple[int, ...]) -> bool:
        """Whether ``status`` is one of ``expected``; anything else is recorded: a 5xx or a
        dropped connection is a violation, other statuses are unexpected answers."""
        if status in expected:
            return True
        with self.lock:
            self.statuses[status] += 1
        text = f"{what}: {status} {raw[:160].decode('utf-8', 'replace')}"
        if status == 0 or status >= 500:
            self.violation(f"server error on {text}")
        else:
            with self.lock:
                self.unexpected[f"{what.split(' ')[0]} {status} {_code(raw)}"] += 1
        return False

    def hold(self, counter: int, uid: str, label: str) -> None:
        """A módulo got ``uid`` from call-next: nobody else may hold it, and it holds
        nothing else. A ticket whose holder has sent it on (a transfer, or a finish that
        leaves the visit's next step waiting) may already be waiting elsewhere before the
        holder has read the answer: another módulo calling it then is no double call."""
        with self.lock:
            other = next((n for n, u in self.holding.items()
                          if u == uid and n not in self.sending_on), None)
            if other is not None:
                self.violations.append(f"double call: {label} given to módulo {counter} "
                                       f"while módulo {other} holds it")
            if counter in self.holding:
                self.violations.append(f"módulo {counter} got {label} while holding "
                                       f"{self.holding[counter]}")
            self.holding[counter] = uid
            self.calls.append((uid, time.monotonic()))

    def send_on(self, counter: int, sending: bool) -> None:
        """``counter`` is sending its ticket on (True), or is done with that (False)."""
        with self.lock:
            if sending:
                self.sending_on.add(counter)
            else:
                self.sending_on.discard(counter)

    def release(self, counter: int) -> None:
        with self.lock:
            self.holding.pop(counter, None)
            self.sending_on.discard(counter)


def _estimate(ticket: dict) -> int | None:
    """The wait a 201 told the citizen: its estimate, or none at all (0) for a ticket an idle
    módulo had already called when the answer was read."""
    minutes = ticket.get("estimated_wait_minutes")
    if minutes is None and ticket.get("status") in ("called", "serving"):
        return 0
    return minutes


def _code(raw: bytes) -> str:
    try:
        return str(json.loads(raw).get("error", ""))
    except (ValueError, AttributeError):
        return ""


def _json(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


# ----------------------------------------------------------------------------- people


@dataclass
class Day:
    """One running simulated day: the plan, the server, the time and the shared floor."""

    plan: Plan
    server: LiveServer
    time: SimTime
    floor: Floor
    kiosk_tokens: dict[str, str]
    deadline: float  # monotonic; every loop ends by then
    reception: dict[str, str] = field(default_factory=dict)
    next_visitor: int = 0
    tv_calls: list[int] = field(default_factory=list)
    tv_connections: list[int] = field(default_factory=list)
    close_seconds: float | None = None  # how long the end-of-day close took to answer

    @property
    def port(self) -> int:
        return self.server.port

    def over(self) -> bool:
        return self.floor.stop_all.is_set() or time.monotonic() > self.deadline

    def take_visitor(self) -> Visitor | None:
        with self.floor.lock:
            if self.next_visitor >= len(self.plan.visitors):
                return None
            self.next_visitor += 1
            return self.plan.visitors[self.next_visitor - 1]


def kiosk(day: Day, k: int) -> None:
    """One kiosk: the next arriving citizen takes a ticket; one the kiosk refuses near
    closing time goes to the orientador, who issues it anyway."""
    floor = day.floor
    headers = {"Authorization": f"Bearer {day.kiosk_tokens[f'kiosk-{k}']}"}
    with Client(day.port, headers) as client, Client(day.port, day.reception) as desk:
        while not day.over() and (visitor := day.take_visitor()) is not None:
            if not day.time.sleep_until(visitor.at, floor.stop_all):
                return
            # simulated seconds the kiosk is behind its citizen (busy with the one before)
            floor.timed("kiosk_behind", day.time.now() - visitor.at)
            body: dict[str, Any] = {"service_id": visitor.service,
                                    "language": visitor.language}
            if visitor.priority:
                body["priority"] = visitor.priority
            if visitor.visit:
                body["visit"] = list(visitor.visit)
            key = {"Idempotency-Key": uuid.uuid4().hex}
            status, raw, seconds = client.post("/api/v1/tickets", body, key)
            floor.timed("issue", seconds)
            channel = "kiosk"
            if status == 409 and _code(raw) == "after_closing":
                floor.count("refused_at_kiosk")
                status, raw, seconds = desk.post("/api/v1/tickets", body, key)
                floor.timed("issue_at_reception", seconds)
                channel = "reception"
            if status == 409 and _code(raw) == "after_hours":
                floor.count("turned_away_after_hours")
                continue
            if not floor.answer("POST /tickets", status, raw, (201,)):
                continue
            t = _json(raw)
            with floor.lock:
                floor.issued[t["uid"]] = Issued(
                    t["uid"], t["label"], t["queue"], bool(t["preferential"]),
                    _estimate(t), t.get("ahead"), day.time.now(), channel,
                    1 + len(visitor.visit))
            floor.notify(t["queue"])
            if floor.on_issued is not None:
                floor.on_issued(t)


class Asesor:
    """One módulo's asesor: opens at the start of the day, calls, serves, pauses, closes."""

    IDLE_POLL = 120.0  # simulated seconds between call-next when no wake-up came

    def __init__(self, day: Day, number: int, headers: dict[str, str], rng: random.Random):
        self.day, self.n, self.headers, self.rng = day, number, headers, rng
        self.floor = day.floor
        row = next(c for c in day.plan.counters if c["number"] == number)
        self.entity = row["entity"]
        plan, o = day.plan, day.plan.options
        length = plan.closes_at - plan.opens_at
        self.pauses = [(plan.opens_at + length * rng.uniform(0.3, 0.7),
                        60 * plan.break_minutes * rng.uniform(2 / 3, 4 / 3), "break")]
        if rng.random() < IT_PAUSE_SHARE:
            self.pauses.append((plan.opens_at + length * rng.uniform(0.1, 0.9),
                                60 * IT_PAUSE_MINUTES * rng.uniform(2 / 3, 4 / 3), "it_support"))
        self.pauses.sort()
        self.o = o

    def base(self) -> str:
        return f"/api/v1/counters/{self.n}"

    def post(self, client: Client, action: str, body: object | None = None,
             expected: tuple[int, ...] = (200,)) -> tuple[int, dict[str, Any]]:
        status, raw, seconds = client.post(f"{self.base()}/{action}", body or {})
        self.floor.timed(action, seconds)
        self.floor.answer(f"{action} (módulo {self.n})", status, raw, expected)
        return status, _json(raw)

    def sleep(self, seconds: float) -> bool:
        return self.day.time.sleep_until(self.day.time.now() + seconds, self.floor.stop_all)

    def run(self) -> None:
        try:
            with Client(self.day.port, self.headers) as client:
                self._run(client)
        except Exception as exc:  # a failure of the simulator is reported, never hidden
            self.floor.violation(f"módulo {self.n} stopped: {exc!r}")

    def _run(self, client: Client) -> None:
        plan, t = self.day.plan, self.day.time
        opening = plan.opens_at - self.rng.uniform(0, 300)
        if not t.sleep_until(opening, self.floor.stop_all):
            return
        self.post(client, "open")
        wake = self.floor.wake[self.n]
        while not self.floor.stop_calls.is_set() and not self.day.over():
            if self.pauses and t.now() >= self.pauses[0][0]:
                _, seconds, reason = self.pauses.pop(0)
                self.post(client, "pause", {"reason": reason})
                self.floor.count(f"pauses_{reason}")
                self.sleep(seconds)
                self.post(client, "resume")
                continue
            wake.clear()
            status, ticket = self.post(client, "call-next", expected=(200, 204))
            if status == 204:
                until = min(t.now() + self.IDLE_POLL,
                            self.pauses[0][0] if self.pauses else math.inf)
                wake.wait(t.real_seconds(until - t.now()))
                continue
            if status != 200:
                self.sleep(5)
                continue
            self.serve(client, ticket)
        self.post(client, "close", expected=(200, 409))

    def serve(self, client: Client, ticket: dict[str, Any]) -> None:
        floor, o, rng = self.floor, self.o, self.rng
        uid = ticket["uid"]
        floor.hold(self.n, uid, ticket["label"])
        try:
            if ticket["step"] == 1 and ticket["recalls"] == 0 and rng.random() < o.no_show:
                self.sleep(NO_SHOW_RECALL_AFTER)
                self.post(client, "recall")
                self.sleep(NO_SHOW_AFTER)
                self.post(client, "no-show")
                floor.count("no_show_marked")
                return
            self.sleep(rng.lognormvariate(math.log(WALK_SECONDS) - SIGMA ** 2 / 2, SIGMA))
            self.post(client, "start")
            mean = self.day.plan.minutes[ticket["service_id"]] * 60
            seconds = rng.lognormvariate(math.log(mean) - SIGMA ** 2 / 2, SIGMA)
            target = self.day.plan.other_service(rng, self.entity)
            if target is not None and rng.random() < o.transfer:
                self.sleep(seconds * rng.uniform(0.3, 0.6))
                floor.send_on(self.n, True)
                status, after = self.post(client, "transfer",
                                          {"service_id": target, "position": "arrival"})
                floor.send_on(self.n, status == 200)
                if status == 200:
                    floor.count("transferred")
                    floor.notify(after["queue"])
                return
            self.sleep(seconds)
            floor.send_on(self.n, True)  # a visit's next step waits at once
            status, after = self.post(client, "finish", {"outcome": "attended"})
            floor.send_on(self.n, status == 200)
            if status != 200:
                return
            if after["status"] == "waiting":  # the visit's next trámite
                floor.count("next_steps")
                floor.notify(after["queue"])
            elif rng.random() < o.rating:
                code, raw, seconds = client.post(f"/api/v1/tickets/{uid}/rating",
                                                 {"score": rng.choice((3, 4, 4, 5, 5, 5))})
                floor.timed("rating", seconds)
                if floor.answer("rating", code, raw, (200,)):
                    floor.count("ratings")
        finally:
            floor.release(self.n)


def tv(day: Day, token: str, index: int) -> None:
    """A waiting-room TV on the live stream for the whole day: counts the calls it hears.
    HTTP/1.0, so the stream comes without chunking until the server or the TV ends it."""
    request = (f"GET /api/v1/stream HTTP/1.0\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n").encode()
    buffer = b""
    while not day.floor.stop_all.is_set() and time.monotonic() < day.deadline:
        try:
            with socket.create_connection(("127.0.0.1", day.port), timeout=10) as sock:
                sock.settimeout(0.5)
                sock.sendall(request)
                day.tv_connections[index] += 1
                while not day.floor.stop_all.is_set() and time.monotonic() < day.deadline:
                    try:
                        chunk = sock.recv(65536)
                    except TimeoutError:
                        continue
                    if not chunk:
                        break
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    day.tv_calls[index] += sum(1 for line in lines
                                               if line == b"event: ticket.called")
        except OSError:
            time.sleep(0.2)
