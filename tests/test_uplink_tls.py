"""The uplink over TLS for real: a central behind a certificate of the PCM's own authority
is reached when the box trusts that authority (``ca_file``), and refused with a clear
reason when it does not; a stop or the deadline still cuts a TLS request in flight."""

from __future__ import annotations

import http.server
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.sync_support import post_in_thread
from sync.transport import SendError, Transport
from tests.waiting import wait_until


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA of its own and a certificate it signed for localhost (openssl, made here)."""
    d = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
             "ca.pem", "-days", "2", "-subj", "/CN=PCM pruebas", cwd=d)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out",
             "server.csr", "-subj", "/CN=localhost", cwd=d)
    (d / "san.cnf").write_text("subjectAltName=DNS:localhost\n", encoding="ascii")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "san.cnf",
             cwd=d)
    return d


class _Central(http.server.BaseHTTPRequestHandler):
    hold = threading.Event()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path.endswith("/hang"):
            self.hold.wait(60)
            return
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def central(authority: Path) -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Central)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(authority / "server.pem", authority / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    _Central.hold.set()
    server.shutdown()
    server.server_close()
    _Central.hold.clear()


def test_a_central_signed_by_the_trusted_authority_answers(authority: Path,
                                                           central: int) -> None:
    transport = Transport(f"https://localhost:{central}", ca_file=str(authority / "ca.pem"))
    answer = transport.post("/api/v1/ingest", b"{}", {"Content-Type": "application/json"})
    assert answer.status == 200 and answer.body == b'{"ok": true}'


def test_a_central_the_box_does_not_trust_is_refused_with_the_reason(central: int) -> None:
    with pytest.raises(SendError) as refused:
        Transport(f"https://localhost:{central}").post("/api/v1/ingest", b"{}", {})
    assert refused.value.kind == "tls" and "certificado" in refused.value.detail


def test_a_stop_cuts_a_tls_request_in_flight(authority: Path, central: int) -> None:
    transport = Transport(f"https://localhost:{central}", ca_file=str(authority / "ca.pem"),
                          timeout=120)
    sender, failed = post_in_thread(transport, "/hang")
    wait_until(lambda: transport._inflight is not None and transport._inflight.conn
               is not None and transport._inflight.conn.sock is not None
               and isinstance(transport._inflight.conn.sock, ssl.SSLSocket),
               timeout=10, what="a TLS request in flight")
    transport.abort()
    sender.join(20)
    assert not sender.is_alive() and [e.kind for e in failed] == ["stopped"]
