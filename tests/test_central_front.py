"""The central's front door: Debian's nginx with the site ``systemd/install.sh --central``
installs (HTTPS with a certificate made here), before a real ``mac-turnos central serve
--behind-front`` on loopback, with an attacker on 127.0.0.2 and the PCM's people on
127.0.0.3. A box sends through it as it does in production (verifying the certificate),
what is too large or too frequent is refused in the central's own JSON shape, and the
central counts failed logins against the real address nginx passes on."""

from __future__ import annotations

import gzip
import ipaddress
import json
import re
import socket
import ssl
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from harness import front
from harness.front import CENTRAL_TEMPLATE, CentralServer, Front, main_config, render_site
from harness.live_server import free_port
from harness.sync_support import CENTRE, SECRET, VIEWER_PASSWORD, FakeTime, add_events, drain
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.central.times import iso
from sync.central.viewers import add_viewer
from sync.sender import Options, Sender
from tests.programs import require_program
from tests.waiting import wait_until

ATTACKER, STAFF = "127.0.0.2", "127.0.0.3"
VIEWER = "analista"
ROOT = Path(__file__).parent.parent
INSTALL = ROOT / "systemd" / "install.sh"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (also the authority the box trusts) and its
    key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "central de prueba")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "central.crt", folder / "central.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_file.chmod(0o600)
    return cert_file, key_file


class Door:
    """The central behind its front, with what the tests need to talk to them."""

    def __init__(self, db: Database, central: CentralServer, front_door: Front, cert: Path,
                 token: str) -> None:
        self.db, self.central, self.front, self.cert, self.token = (db, central, front_door,
                                                                    cert, token)
        self.tls = ssl.create_default_context(cafile=str(cert))

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.front.port}"

    def request(self, source: str, method: str, path: str, body: object = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict, dict[str, str]]:
        return front.request(self.front.port, source, method, path, body, headers, self.tls)

    def stored(self) -> int:
        return int(self.db.conn().query("SELECT COUNT(*) AS n FROM events")[0]["n"])

    def batch(self, count: int = 1) -> bytes:
        """A gzip batch of ``count`` tickets issued now, as a box (unsigned) sends it."""
        held = self.stored()
        events = [{"uid": uuid.uuid4().hex, "seq": held + 1000 + i, "kind": "ticket.issued",
                   "at": iso(datetime.now(UTC)), "actor": None, "counter": None,
                   "ticket": f"t{uuid.uuid4().hex[:8]}",
                   "payload": {"queue": "RN", "day": datetime.now(UTC).date().isoformat(),
                               "step": 1, "entity": "RENIEC"}} for i in range(count)]
        return gzip.compress(json.dumps({"centre": CENTRE, "batch_id": uuid.uuid4().hex,
                                         "events": events}).encode())

    def ingest(self, source: str, body: bytes) -> tuple[int, dict]:
        status, answer, _ = self.request(source, "POST", "/api/v1/ingest", body, {
            "Authorization": f"Bearer {self.token}", "Content-Encoding": "gzip"})
        return status, answer


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Door]:
    require_program("nginx")
    work = tmp_path_factory.mktemp("central-front")
    cert, key = make_certificate(work)
    db = Database(f"sqlite:///{work}/central.sqlite")
    db.migrate()
    token = add_centre(db, CENTRE, "MAC de prueba")
    add_viewer(db, VIEWER, VIEWER_PASSWORD, "viewer")
    central = CentralServer(db.url, work / "central.log", "--behind-front")
    door_front = Front(work / "nginx", central.port, free_port(), CENTRAL_TEMPLATE,
                       {"CERT": str(cert), "KEY": str(key)})
    try:
        central.start()
        door_front.start()
        yield Door(db, central, door_front, cert, token)
    finally:
        door_front.stop()
        central.stop()
        db.close()


def test_a_boxs_batches_go_through_https_verified_and_are_stored_once(door, store):
    add_events(store, 30)
    clock = FakeTime()
    sender = Sender(store, Options(centre=CENTRE, url=door.url, token=door.token,
                                   secret=SECRET, ca_file=str(door.cert), batch_events=10,
                                   timeout=20), clock=clock, jitter=lambda: 0.5)
    before = door.stored()
    assert drain(sender, clock) == "idle"
    assert door.stored() - before == 30
    acked = store.reader().execute("SELECT acked_seq FROM sync_state WHERE destination = "
                                   "'central'").fetchone()[0]
    assert acked == store.reader().execute("SELECT MAX(seq) FROM events").fetchone()[0]
    log = door.front.work / "mac-turnos-central.access.log"
    wait_until(lambda: "POST /api/v1/ingest" in log.read_text(), what="the access log line")
    # A box that does not trust the certificate sends nothing.
    stranger = Sender(store, Options(centre=CENTRE, url=door.url, token=door.token,
                                     secret=SECRET, timeout=20), clock=clock,
                      jitter=lambda: 0.5)
    add_events(store, 1)
    assert stranger.round() == "failed"
    assert door.stored() - before == 30


def send_large(door: Door, chunked: bool) -> bytes:
    """An ingest of 40 MiB (past the central's 32 MiB) from the staff address over TLS,
    sent until the front answers: what it answered."""
    raw = socket.create_connection(("127.0.0.1", door.front.port), source_address=(STAFF, 0))
    s = door.tls.wrap_socket(raw, server_hostname="127.0.0.1")
    length = b"Transfer-Encoding: chunked" if chunked else b"Content-Length: 41943040"
    s.sendall(b"POST /api/v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              b"Authorization: Bearer " + door.token.encode() + b"\r\n"
              b"Content-Type: application/json\r\nContent-Encoding: gzip\r\n" + length
              + b"\r\n\r\n")
    block = b"x" * 1048576
    chunk = b"100000\r\n" + block + b"\r\n" if chunked else block
    answer = b""
    for _ in range(40):  # 40 MiB at most, a look for the answer after each MiB
        try:
            s.settimeout(10)
            s.sendall(chunk)
            s.settimeout(0.05)
            got = s.recv(65536)
        except (TimeoutError, ssl.SSLWantReadError):
            continue
        except OSError:
            break
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
    return answer


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_body_past_the_centrals_limit_is_refused_with_json_413_and_nothing_stored(door,
                                                                                    chunked):
    before = door.stored()
    answer = send_large(door, chunked)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"application/json" in head
    assert json.loads(body)["error"] == "too_large"
    assert door.stored() == before
    # The central itself was never asked: no upstream time on the log line.
    log = door.front.work / "mac-turnos-central.access.log"
    wait_until(lambda: '"POST /api/v1/ingest HTTP/1.1" 413' in log.read_text(),
               what="the 413 in the access log")
    line = [t for t in log.read_text().splitlines() if '/api/v1/ingest HTTP/1.1" 413' in t][-1]
    assert line.endswith('"-" "-"')
    status, answer_json = door.ingest(STAFF, door.batch(2))  # the next box batch goes through
    assert status == 200 and len(answer_json["accepted"]) == 2


def login_attempt(door: Door, cookie: str, token: str, password: str,
                  source: str = ATTACKER) -> tuple[int, str]:
    """One POST /login with a form token already read: status and Content-Type."""
    form = f"usuario={VIEWER}&contrasena={password}&csrf={token}".encode()
    conn = front.connection(door.front.port, source, door.tls)
    try:
        # The attacker claims to be the staff address: the front replaces the header.
        conn.request("POST", "/login", body=form, headers={
            "Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-For": STAFF})
        response = conn.getresponse()
        response.read()
        return response.status, response.getheader("Content-Type", "")
    finally:
        conn.close()


def test_a_login_flood_gets_429_while_ingest_from_the_same_address_goes_through(door):
    status, _, headers, page = front._raw(door.front.port, ATTACKER, "GET", "/login",
                                          tls=door.tls)
    assert status == 200
    cookie = headers["Set-Cookie"].split(";")[0]
    token = re.search(r'name="csrf" value="([^"]+)"', page)
    assert token is not None
    before = door.stored()

    def attempt(i: int) -> tuple[str, int, str]:
        if i % 10 == 0:  # the same address's box keeps sending meanwhile
            return ("ingest", *door.ingest(ATTACKER, door.batch(1))[:1], "")
        return ("login", *login_attempt(door, cookie, token.group(1), "contrasena-mala-1"))

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(attempt, range(110)))
    logins = [(s, kind) for what, s, kind in results if what == "login"]
    ingests = [s for what, s, _ in results if what == "ingest"]
    assert ingests == [200] * 11
    assert door.stored() - before == 11
    assert {s for s, _ in logins} <= {401, 429}, logins
    refused_by_front = [s for s, kind in logins if s == 429 and kind == "application/json"]
    assert len(refused_by_front) >= 60  # nginx refuses most before the central hashes any
    status, body, headers = door.request(ATTACKER, "POST", "/login", b"usuario=x",
                                         {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 429 and body["error"] == "too_many_requests" and headers["Retry-After"]
    assert door.ingest(ATTACKER, door.batch(1))[0] == 200
    # The central counted the failures against 127.0.0.2, not against nginx's 127.0.0.1
    # (nor the staff address the attacker claimed): five of them locked that address out of
    # the account for 15 minutes, and its owner logs in from another address at once.
    status, session = front.central_login(door.front.port, STAFF, VIEWER, VIEWER_PASSWORD,
                                          door.tls)
    assert status == 303 and session
    status, html = front.page(door.front.port, STAFF, "/", session, door.tls)
    assert status == 200 and CENTRE in html


def test_static_files_come_from_the_front_and_plain_http_is_told_to_use_https(door):
    status, _, headers = door.request(STAFF, "GET", "/static/dashboard.css")
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    log = door.front.work / "mac-turnos-central.access.log"
    wait_until(lambda: "/static/dashboard.css" in log.read_text(), what="the access log line")
    line = [t for t in log.read_text().splitlines() if "/static/dashboard.css" in t][-1]
    assert line.endswith('"-" "-"')  # no upstream time: the central was never asked
    status, body, _ = front.request(door.front.port, STAFF, "GET", "/api/v1/health")
    assert status == 400 and body["error"] == "https_required"
    status, body, _ = door.request(STAFF, "GET", "/api/v1/health")
    assert status == 200 and body["status"] == "ok"


def test_the_central_down_is_answered_503_in_json_and_a_box_is_served_when_it_is_back(door):
    door.central.stop()
    try:
        status, body, headers = door.request(STAFF, "GET", "/api/v1/health")
        assert status == 503 and body["error"] == "central_unavailable" and body["message"]
        assert headers["Retry-After"] == "5"
        status, body = door.ingest(STAFF, door.batch(1))
        assert status == 503 and body["error"] == "central_unavailable"
    finally:
        door.central.start()
    status, body = door.ingest(STAFF, door.batch(1))
    assert status == 200 and len(body["accepted"]) == 1


def installer(root: Path, cert: Path, key: Path, *extra: str) -> subprocess.CompletedProcess:
    out = subprocess.run(["bash", str(INSTALL), "--root", str(root), "--no-venv", "--central",
                          "--cert", str(cert), "--key", str(key), *extra],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


def test_the_installer_puts_the_central_behind_the_same_site_the_tests_run(tmp_path):
    require_program("nginx")
    require_program("systemd-analyze")
    cert, key = make_certificate(tmp_path)
    root = tmp_path / "root"
    (root / "etc/nginx").mkdir(parents=True)
    (root / "etc/nginx/nginx.conf").write_text(
        "worker_processes auto;\nevents {\n\tworker_connections 768;\n}\n", encoding="utf-8")
    installer(root, cert, key)
    installed = (root / "etc/nginx/sites-available/mac-turnos-central").read_text(
        encoding="utf-8")
    site_packages = next(line.split()[1].rsplit("/sync/central/", 1)[0]
                         for line in installed.splitlines() if "/sync/central/static/" in line)
    assert installed == render_site(443, "127.0.0.1:8090", Path(site_packages),
                                     Path("/var/log/nginx"), CENTRAL_TEMPLATE,
                                     CERT=str(cert), KEY=str(key))
    assert (root / "etc/nginx/sites-enabled/mac-turnos-central").readlink() == Path(
        "/etc/nginx/sites-available/mac-turnos-central")
    assert not (root / "etc/nginx/sites-enabled/mac-turnos").exists()  # no box here
    wants = root / "etc/systemd/system/multi-user.target.wants"
    assert [p.name for p in wants.iterdir()] == ["mac-turnos-central.service"]
    env = root / "etc/mac-turnos/central.env"
    assert env.stat().st_mode & 0o777 == 0o640
    assert "MAC_TURNOS_CENTRAL_DB=" in env.read_text(encoding="utf-8")
    unit = (root / "etc/systemd/system/mac-turnos-central.service").read_text(encoding="utf-8")
    assert "--host 127.0.0.1 --port 8090" in unit and "--behind-front" in unit
    passwd = (root / "etc/passwd").read_text(encoding="utf-8")
    assert "mac-turnos-central:" in passwd and "\nmac-turnos:" not in "\n" + passwd
    # Run again: nothing copied, the edited environment file kept.
    env.write_text(env.read_text(encoding="utf-8") + "# editado\n", encoding="utf-8")
    again = installer(root, cert, key)
    assert "+ install" not in again.stdout
    assert env.read_text(encoding="utf-8").endswith("# editado\n")
    # The unit passes systemd-analyze verify with its program pointed at a stand-in.
    program = tmp_path / "opt/venv/bin/mac-turnos"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n", encoding="utf-8")
    program.chmod(0o755)
    units = tmp_path / "units"
    units.mkdir()
    (units / "mac-turnos-central.service").write_text(
        unit.replace("/opt/mac-turnos/", f"{tmp_path}/opt/"), encoding="utf-8")
    verified = subprocess.run(["systemd-analyze", "verify", "./mac-turnos-central.service"],
                              cwd=units, capture_output=True, text=True, timeout=60)
    assert verified.returncode == 0 and verified.stderr.strip() == "", verified.stderr
    # nginx -t on the installed file itself, its log folder a tmpfs of a mount namespace of
    # its own (nothing is left in the system's logs).
    work = tmp_path / "check"
    work.mkdir()
    main = work / "nginx.conf"
    main.write_text(main_config(work, root / "etc/nginx/sites-available/mac-turnos-central"),
                    encoding="utf-8")
    require_program("unshare")
    checked = subprocess.run(
        ["unshare", "--mount", "sh", "-c", 'mkdir -p /var/log/nginx && mount -t tmpfs tmpfs '
         '/var/log/nginx && exec "$0" -t -p "$1" -c "$2"', require_program("nginx"),
         str(work), str(main)], capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


def test_the_installer_warns_of_a_missing_certificate_and_takes_no_box_option_with_central(
        tmp_path):
    out = subprocess.run(["bash", str(INSTALL), "--central", "--dry-run", "--no-venv",
                          "--cert", str(tmp_path / "none.crt"),
                          "--key", str(tmp_path / "none.key")],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "AVISO: no existe" in out.stdout
    mixed = subprocess.run(["bash", str(INSTALL), "--central", "--dry-run", "--kiosk-user",
                            "pi"], capture_output=True, text=True, timeout=120)
    assert mixed.returncode == 2 and "--central" in mixed.stderr
