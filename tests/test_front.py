"""The front door: Debian's nginx with the site ``systemd/install.sh`` installs, before a real
server, with an attacker on 127.0.0.2 and the centre's staff and kiosk on 127.0.0.3.

The drill's durations and latencies (600 half-open connections and a 200 s trickle, 100
logins a second for 60 s) are measured by ``bench/front_drill.py``; these tests hold the
behaviour: what the attacker gets, that staff are served meanwhile, what reaches the disk."""

from __future__ import annotations

import http.client
import socket
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from harness import front
from harness.front import Front, main_config, render_site
from harness.live_server import PIN, LiveServer, free_port, write_config
from tests.programs import require_program
from tests.waiting import wait_until

ATTACKER, STAFF = "127.0.0.2", "127.0.0.3"
INSTALL = Path(__file__).parent.parent / "systemd" / "install.sh"


class Box:
    """The pair, with the credentials the tests use."""

    def __init__(self, server: LiveServer, front: Front, kiosk: str, tv: str,
                 other_tv: str) -> None:
        self.server, self.front = server, front
        self.kiosk, self.tv, self.other_tv = kiosk, tv, other_tv

    def request(self, source: str, method: str, path: str, body: object = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict, dict[str, str]]:
        return front.request(self.front.port, source, method, path, body, headers)

    def login(self, source: str, username: str, pin: str = PIN) -> dict[str, str]:
        found = front.login(self.front.port, source, username, pin)
        assert found is not None, f"{username} could not log in from {source}"
        return found


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    require_program("nginx")
    work = tmp_path_factory.mktemp("front")
    state = work / "state"
    state.mkdir()
    front_port = free_port()
    server = LiveServer(state, write_config(work / "centre.toml", queues=2, counters=4),
                        serve_args=("--front-port", str(front_port)))
    kiosk, _ = server.setup()
    server.cli("user", "add", "asesora", "--role", "agent", "--entity", "EQA", "--pin", PIN)
    tv = server.cli("device", "add", "tv-1", "--role", "display").strip().split()[-1]
    other_tv = server.cli("device", "add", "tv-2", "--role", "display").strip().split()[-1]
    server.start()
    door = Front(work / "nginx", server.port, front_port)
    door.start()
    found = Box(server, door, kiosk, tv, other_tv)
    status, _, _ = found.request(STAFF, "POST", "/api/v1/day/open", {},
                                 found.login(STAFF, "supervisor"))
    assert status == 200
    try:
        yield found
    finally:
        door.stop()
        server.stop()


def box_nginx() -> str:
    return require_program("nginx")


def staff_work(box: Box, tickets: int) -> list[int]:
    """A kiosk issuing and a desk calling from the staff address: every status seen."""
    seen: list[int] = []
    bearer = {"Authorization": f"Bearer {box.kiosk}"}
    for _ in range(tickets):
        seen.append(box.request(STAFF, "POST", "/api/v1/tickets", {"service_id": 1}, bearer)[0])
    desk = box.login(STAFF, "asesora")
    seen.append(box.request(STAFF, "POST", "/api/v1/counters/1/open", {}, desk)[0])
    for _ in range(tickets):
        seen.append(box.request(STAFF, "POST", "/api/v1/counters/1/call-next", {}, desk)[0])
        seen.append(box.request(STAFF, "POST", "/api/v1/counters/1/no-show", {}, desk)[0])
    seen.append(box.request(STAFF, "POST", "/api/v1/counters/1/close", {}, desk)[0])
    return seen


def half_open(count: int, port: int) -> list[socket.socket]:
    """Connections from the attacker whose request header never ends."""
    held = []
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port), source_address=(ATTACKER, 0))
        s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        held.append(s)
    return held


def test_half_open_connections_and_a_trickle_leave_the_kiosk_and_the_desk_served(box):
    held = half_open(600, box.front.port)
    trickle = socket.create_connection(("127.0.0.1", box.front.port),
                                       source_address=(ATTACKER, 0))
    trickle.settimeout(0.5)
    stop = threading.Event()
    cut = threading.Event()
    sent: list[int] = []

    def drip() -> None:
        """One byte of a never-ending header about every second: each gap is well under the
        header deadline (10 s), so only a deadline on the whole header cuts it."""
        trickle.sendall(b"GET /api/v1/health HTTP/1.1\r\nX-Slow: ")
        while not stop.is_set():
            try:
                trickle.sendall(b"a")
                sent.append(1)
                if trickle.recv(1024) == b"":
                    cut.set()
                    return
            except TimeoutError:
                pass
            except OSError:
                cut.set()
                return
            stop.wait(0.5)

    dripping = threading.Thread(target=drip)
    dripping.start()
    try:
        seen = staff_work(box, tickets=10)
        assert set(seen) <= {200, 201}, seen
        assert seen.count(201) == 10
        wait_until(cut.is_set, what="the trickled request to be cut by the header deadline")
        assert len(sent) >= 3  # cut while it was still dripping, not at its first byte
    finally:
        stop.set()
        dripping.join()
        trickle.close()
        for s in held:
            s.close()


def test_a_login_flood_from_one_address_is_refused_and_the_owner_logs_in_from_another(box):
    def attempt(_: int) -> int:
        # The attacker claims to be the staff address: the front replaces the header.
        return box.request(ATTACKER, "POST", "/api/v1/auth/login",
                           {"username": "asesora", "password": "999999"},
                           {"X-Forwarded-For": STAFF})[0]

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(attempt, range(200)))
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(429) >= 150  # the front refuses most before the server hashes any
    desk = box.login(STAFF, "asesora")
    assert box.request(STAFF, "GET", "/api/v1/auth/me", None, desk)[0] == 200
    status, body, headers = box.request(ATTACKER, "POST", "/api/v1/auth/login",
                                        {"username": "asesora", "password": PIN})
    assert status == 429 and body["error"] and headers.get("Retry-After")


def server_pids(box: Box) -> list[int]:
    assert box.server.proc is not None
    out = subprocess.run(["pgrep", "-g", str(box.server.proc.pid)], capture_output=True,
                         text=True)
    return [int(p) for p in out.stdout.split()]


@pytest.mark.parametrize("via, chunked", [("front", False), ("front", True), ("server", False)],
                         ids=["content-length", "chunked", "straight-to-the-server"])
def test_a_one_gib_body_is_refused_with_nothing_written_to_disk(box, via, chunked):
    """Through the front; and straight to the server too (a box run without its front):
    waitress refuses it from its length instead of spooling it to a temporary file."""
    pids = box.front.pids() + server_pids(box)
    before = front.written_bytes(pids)
    port = box.front.port if via == "front" else box.server.port
    s = socket.create_connection(("127.0.0.1", port), source_address=(STAFF, 0))
    # Straight to the server: one byte under 1 GiB, as the finding had it (waitress's own
    # default limit refuses 1 GiB and more); 16 MiB sent at most, enough to see a spool.
    length = (b"Transfer-Encoding: chunked" if chunked else b"Content-Length: 1073741824"
              if via == "front" else b"Content-Length: 1073741823")
    blocks = 16384 if via == "front" else 256
    s.sendall(b"POST /api/v1/tickets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Content-Type: application/json\r\n" + length + b"\r\n\r\n")
    block = b"x" * 65536
    chunk = b"10000\r\n" + block + b"\r\n" if chunked else block
    answer = b""
    s.settimeout(0.2)
    for _ in range(blocks):  # at most 1 GiB
        try:
            s.sendall(chunk)
        except OSError:
            break
        try:
            got = s.recv(65536)
        except TimeoutError:
            continue
        answer += got
        if not got or b"\r\n\r\n" in answer:
            break
    s.settimeout(5)
    try:
        while b"}" not in answer:
            got = s.recv(65536)
            if not got:
                break
            answer += got
    except OSError:
        pass
    s.close()
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    if via == "front":
        assert b'"error":"body_too_large"' in answer
    else:  # waitress's own refusal, in the API's form too
        assert b'"error": "too_large"' in answer and b"application/json" in answer
    assert front.written_bytes(pids) - before < 1_000_000
    assert not any((box.front.work / "client_body").rglob("*.*"))


def test_two_hundred_streams_on_one_token_leave_other_tvs_and_desks_served(box):
    opened: list[socket.socket] = []
    statuses: list[int] = []
    try:
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", box.front.port),
                                         source_address=(ATTACKER, 0))
            s.sendall(b"GET /api/v1/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Authorization: Bearer " + box.tv.encode() + b"\r\n\r\n")
            s.settimeout(10)
            statuses.append(int(s.recv(64).split()[1]))
            opened.append(s)
        assert statuses.count(200) <= 3 and set(statuses) <= {200, 429}, statuses
        for headers in ({"Authorization": f"Bearer {box.other_tv}"},
                        box.login(STAFF, "supervisor")):
            conn = http.client.HTTPConnection("127.0.0.1", box.front.port, timeout=10,
                                              source_address=(STAFF, 0))
            conn.request("GET", "/api/v1/stream", headers=headers)
            response = conn.getresponse()
            assert response.status == 200
            assert response.readline().startswith(b"retry:")
            conn.close()
    finally:
        for s in opened:
            s.close()


def test_static_files_come_from_the_front_and_errors_keep_the_json_shape(box):
    status, _, headers = box.request(STAFF, "GET", "/static/kiosk/common.css")
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    log = box.front.work / "mac-turnos.access.log"
    wait_until(lambda: "/static/kiosk/common.css" in log.read_text(), what="the access log line")
    line = [t for t in log.read_text().splitlines() if "/static/kiosk/common.css" in t][-1]
    assert line.endswith('"-" "-"')  # no upstream time: the server was never asked
    status, body, _ = box.request(STAFF, "GET", "/api/v1/health",
                                  headers={"Host": "rebound.example"})
    assert status == 400 and body["error"] == "host_not_allowed"
    status, body, _ = box.request(STAFF, "GET", "/api/v1/health")
    assert status == 200 and body["components"]["front"]["status"] == "ok"


def test_the_installer_renders_the_same_site_the_drill_runs_and_nginx_accepts_it(tmp_path):
    require_program("nginx")
    root = tmp_path / "root"
    (root / "etc/nginx").mkdir(parents=True)
    (root / "etc/nginx/nginx.conf").write_text(
        "worker_processes auto;\nevents {\n\tworker_connections 768;\n}\n", encoding="utf-8")
    out = subprocess.run(["bash", str(INSTALL), "--root", str(root), "--no-venv"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    installed = (root / "etc/nginx/sites-available/mac-turnos").read_text(encoding="utf-8")
    site_packages = next(line.split()[1].rsplit("/appliance/", 1)[0]
                         for line in installed.splitlines() if "/appliance/static/" in line)
    assert installed == render_site(8080, "127.0.0.1:8081", Path(site_packages),
                                    Path("/var/log/nginx"))
    assert (root / "etc/nginx/sites-enabled/mac-turnos").readlink() == Path(
        "/etc/nginx/sites-available/mac-turnos")
    conf = (root / "etc/nginx/nginx.conf").read_text(encoding="utf-8")
    assert "worker_connections 4096;" in conf and "worker_rlimit_nofile 10000;" in conf
    # nginx -t on the installed file itself; the log folder it opens is a tmpfs of a mount
    # namespace of its own, so the check leaves nothing in the system's logs.
    work = tmp_path / "check"
    work.mkdir()
    main = work / "nginx.conf"
    main.write_text(main_config(work, root / "etc/nginx/sites-available/mac-turnos"),
                    encoding="utf-8")
    require_program("unshare")
    checked = subprocess.run(
        ["unshare", "--mount", "sh", "-c", 'mkdir -p /var/log/nginx && mount -t tmpfs tmpfs '
         '/var/log/nginx && exec "$0" -t -p "$1" -c "$2"', box_nginx(), str(work), str(main)],
        capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
