"""The front door's drill: Debian's nginx with the installed site before a real server, an
attacker on 127.0.0.2 and the centre's kiosk and desk on 127.0.0.3.

1. Siege (``--siege`` s, 200): the attacker keeps 600 connections whose header never ends
   (reopening those the front cuts) and 10 that trickle a byte every 5 s, while a kiosk
   issues and a desk calls and releases a ticket every 0.5 s each: their p99 and errors.
2. Login flood (``--flood`` s, 60): 100 wrong logins a second from the attacker (open loop);
   the kiosk issues every 0.25 s (p99), the real asesor logs in every 5 s from the staff
   address (failures), the server's peak RSS.
3. A 1 GiB body from the attacker: refused, and the bytes the front and the server wrote to
   the disk meanwhile.
4. One TV token opens 200 streams from the attacker: another TV and a desk still get theirs.

    .venv/bin/python -m bench.front_drill [--runs 1] [--siege 200] [--flood 60]
"""

from __future__ import annotations

import argparse
import http.client
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from bench.common import Figure, arguments, cli, command, percentile, progress, rss_kib
from harness import front
from harness.front import Front
from harness.live_server import PIN, LiveServer, free_port, write_config

ATTACKER, STAFF = "127.0.0.2", "127.0.0.3"


class Pair:
    def __init__(self, server: LiveServer, front: Front, kiosk: str, tv: str, other_tv: str):
        self.server, self.front = server, front
        self.kiosk, self.tv, self.other_tv = kiosk, tv, other_tv

    def request(self, source: str, method: str, path: str, body: object = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict, float]:
        """(status, JSON body, seconds); status 0 when the connection failed."""
        began = time.perf_counter()
        try:
            status, data, _ = front.request(self.front.port, source, method, path, body,
                                            headers)
        except (OSError, http.client.HTTPException, ValueError):
            status, data = 0, {}
        return status, data, time.perf_counter() - began

    def login(self, source: str, username: str) -> dict[str, str] | None:
        try:
            return front.login(self.front.port, source, username, PIN)
        except (OSError, http.client.HTTPException, ValueError):
            return None


@contextmanager
def pair() -> Iterator[Pair]:
    with TemporaryDirectory(prefix="front-drill-") as tmp:
        work = Path(tmp)
        (work / "state").mkdir()
        front_port = free_port()
        server = LiveServer(work / "state", write_config(work / "centre.toml", 2, 4),
                            serve_args=("--front-port", str(front_port)))
        kiosk, _ = server.setup()
        server.cli("user", "add", "asesora", "--role", "agent", "--entity", "EQA",
                   "--pin", PIN)
        tv = server.cli("device", "add", "tv-1", "--role", "display").split()[-1]
        other = server.cli("device", "add", "tv-2", "--role", "display").split()[-1]
        server.start()
        door = Front(work / "nginx", server.port, front_port)
        door.start()
        try:
            found = Pair(server, door, kiosk, tv, other)
            found.request(STAFF, "POST", "/api/v1/day/open", {},
                          found.login(STAFF, "supervisor"))
            yield found
        finally:
            door.stop()
            server.stop()


def every(period: float, until: float, action: Callable[[], None]) -> None:
    """Run ``action`` every ``period`` s until the monotonic deadline ``until``."""
    next_at = time.monotonic()
    while time.monotonic() < until:
        action()
        next_at += period
        time.sleep(max(0.0, next_at - time.monotonic()))


def siege(p: Pair, seconds: float) -> tuple[list[float], int]:
    """Staff latencies and failed staff requests during the half-open siege."""
    until = time.monotonic() + seconds
    stop = threading.Event()

    def hold(count: int, trickle: float | None) -> None:
        held: list[socket.socket] = []
        while not stop.is_set():
            held = [s for s in held if s.fileno() != -1]
            while len(held) < count and not stop.is_set():
                try:
                    s = socket.create_connection(("127.0.0.1", p.front.port), timeout=5,
                                                 source_address=(ATTACKER, 0))
                    s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: ")
                    s.setblocking(False)
                    held.append(s)
                except OSError:
                    break
            for s in held:  # closed by the front? drop it, to be reopened
                try:
                    if trickle is not None:
                        s.send(b"a")
                    if s.recv(1) == b"":
                        s.close()
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
            stop.wait(trickle or 1.0)
        for s in held:
            s.close()

    attackers = [threading.Thread(target=hold, args=(600, None)),
                 threading.Thread(target=hold, args=(10, 5.0))]
    for t in attackers:
        t.start()
    latencies: list[float] = []
    failed = [0]
    desk = p.login(STAFF, "asesora")
    assert desk is not None
    p.request(STAFF, "POST", "/api/v1/counters/1/open", {}, desk)
    bearer = {"Authorization": f"Bearer {p.kiosk}"}

    def timed(status: int, seconds: float, ok: set[int]) -> None:
        latencies.append(seconds)
        if status not in ok:
            failed[0] += 1

    def kiosk() -> None:
        status, _, s = p.request(STAFF, "POST", "/api/v1/tickets", {"service_id": 1}, bearer)
        timed(status, s, {201})

    def desk_work() -> None:
        status, _, s = p.request(STAFF, "POST", "/api/v1/counters/1/call-next", {}, desk)
        timed(status, s, {200, 204})
        if status == 200:
            status, _, s = p.request(STAFF, "POST", "/api/v1/counters/1/no-show", {}, desk)
            timed(status, s, {200})

    workers = [threading.Thread(target=every, args=(0.5, until, kiosk)),
               threading.Thread(target=every, args=(0.5, until, desk_work))]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    stop.set()
    for t in attackers:
        t.join()
    p.request(STAFF, "POST", "/api/v1/counters/1/close", {}, desk)
    return latencies, failed[0]


def flood(p: Pair, seconds: float) -> tuple[list[float], int, int, float]:
    """(kiosk latencies, kiosk failures, asesor login failures, peak RSS MiB)."""
    until = time.monotonic() + seconds
    assert p.server.proc is not None
    pid = p.server.proc.pid
    peak = [0.0]
    kiosk_lat: list[float] = []
    kiosk_failed, owner_failed = [0], [0]
    bearer = {"Authorization": f"Bearer {p.kiosk}"}
    pool = ThreadPoolExecutor(32)

    def attempt() -> None:
        p.request(ATTACKER, "POST", "/api/v1/auth/login",
                  {"username": "asesora", "password": "999999"})

    def attack() -> None:
        pool.submit(attempt)

    def kiosk() -> None:
        status, _, s = p.request(STAFF, "POST", "/api/v1/tickets", {"service_id": 2}, bearer)
        kiosk_lat.append(s)
        kiosk_failed[0] += status != 201

    def owner() -> None:
        owner_failed[0] += p.login(STAFF, "asesora") is None

    def sample() -> None:
        peak[0] = max(peak[0], rss_kib(pid)[0] / 1024)

    threads = [threading.Thread(target=every, args=(period, until, action))
               for period, action in ((0.01, attack), (0.25, kiosk), (5.0, owner),
                                      (1.0, sample))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    pool.shutdown(wait=True)
    return kiosk_lat, kiosk_failed[0], owner_failed[0], peak[0]


def huge_body(p: Pair) -> tuple[int, int]:
    """(status, bytes written to disk by the front and the server meanwhile)."""
    assert p.server.proc is not None
    from bench.common import service_pids
    pids = p.front.pids() + service_pids(p.server.proc.pid)
    before = front.written_bytes(pids)
    s = socket.create_connection(("127.0.0.1", p.front.port), source_address=(ATTACKER, 0))
    s.sendall(b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
              b"application/json\r\nContent-Length: 1073741824\r\n\r\n")
    s.settimeout(0.05)
    answer, block = b"", b"x" * 65536
    for _ in range(16384):
        try:
            s.sendall(block)
            answer += s.recv(4096)
        except TimeoutError:
            continue
        except OSError:
            break
        if b"\r\n" in answer:
            break
    s.close()
    time.sleep(1.0)  # let the page cache's write-back be counted
    status = int(answer.split()[1]) if answer.startswith(b"HTTP/") else 0
    return status, front.written_bytes(pids) - before


def streams(p: Pair) -> tuple[int, int]:
    """(attacker's streams admitted of 200, other callers' streams refused of 2)."""
    opened, admitted = [], 0
    for _ in range(200):
        s = socket.create_connection(("127.0.0.1", p.front.port), source_address=(ATTACKER, 0))
        s.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
                  + p.tv.encode() + b"\r\n\r\n")
        s.settimeout(10)
        admitted += s.recv(64).startswith(b"HTTP/1.1 200")
        opened.append(s)
    refused = 0
    desk = p.login(STAFF, "supervisor") or {}
    for headers in ({"Authorization": f"Bearer {p.other_tv}"}, desk):
        conn = http.client.HTTPConnection("127.0.0.1", p.front.port, timeout=10,
                                          source_address=(STAFF, 0))
        conn.request("GET", "/api/v1/stream", headers=headers)
        refused += conn.getresponse().status != 200
        conn.close()
    for s in opened:
        s.close()
    return admitted, refused


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=1)
    p.add_argument("--siege", type=float, default=200.0, help="seconds of half-open siege")
    p.add_argument("--flood", type=float, default=60.0, help="seconds of login flood")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("front_drill", argv)
    f = {
        "siege_p99": Figure("front.siege.p99", "Front drill, 600 half-open connections and a "
                            "trickle from one address: kiosk and desk p99", "ms",
                            ("<=", 200), cmd),
        "siege_errors": Figure("front.siege.errors", "Front drill, siege: kiosk and desk "
                               "requests that failed", "requests", ("<=", 0), cmd),
        "flood_p99": Figure("front.flood.p99", "Front drill, 100 logins/s from one address: "
                            "kiosk p99", "ms", ("<=", 300), cmd),
        "flood_errors": Figure("front.flood.errors", "Front drill, login flood: kiosk requests "
                               "that failed", "requests", ("<=", 0), cmd),
        "owner": Figure("front.flood.owner", "Front drill, login flood: the asesor's logins "
                        "from another address that failed", "logins", ("<=", 0), cmd),
        "rss": Figure("front.flood.rss", "Front drill, login flood: server peak RSS", "MiB",
                      ("<=", 200), cmd),
        "disk": Figure("front.body.disk", "Front drill, a 1 GiB body: bytes written to disk "
                       "by the front and the server", "bytes", ("<=", 1_000_000), cmd),
        "streams": Figure("front.streams.refused", "Front drill, one token opening 200 "
                          "streams: other TV and desk streams refused", "streams",
                          ("<=", 0), cmd),
    }
    for n in range(1, args.runs + 1):
        with pair() as p:
            lat, errors = siege(p, args.siege)
            f["siege_p99"].add(percentile(lat, 99) * 1000)
            f["siege_errors"].add(errors)
            progress(f"front drill run {n}: siege {len(lat)} staff requests, p99 "
                     f"{percentile(lat, 99) * 1000:.1f} ms, {errors} failed")
            lat, kiosk_failed, owner_failed, peak = flood(p, args.flood)
            f["flood_p99"].add(percentile(lat, 99) * 1000)
            f["flood_errors"].add(kiosk_failed)
            f["owner"].add(owner_failed)
            f["rss"].add(peak)
            progress(f"front drill run {n}: flood kiosk p99 {percentile(lat, 99) * 1000:.1f} "
                     f"ms, {kiosk_failed} kiosk and {owner_failed} asesor failures, peak RSS "
                     f"{peak:.1f} MiB")
            status, disk = huge_body(p)
            f["disk"].add(disk)
            f["disk"].notes.append(f"answered {status}")
            admitted, refused = streams(p)
            f["streams"].add(refused)
            f["streams"].notes.append(f"{admitted} of the attacker's 200 admitted")
            progress(f"front drill run {n}: 1 GiB body → {status}, {disk} B written; "
                     f"streams: attacker {admitted}/200 admitted, others refused {refused}")
    return list(f.values())


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
