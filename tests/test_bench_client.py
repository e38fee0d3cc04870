"""The load generator's HTTP client behaves as a browser does with a kept-alive connection
the server closed while it sat idle (waitress closes one after 120 s: an asesor's attention
in real time is longer): the request goes once more on a new connection instead of counting
as a server error. A request that gets no answer on a new connection is still an error."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from bench.common import Client

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}"


class Server:
    """Answers each connection's first request, then closes it (``then_close``) or closes
    every connection without an answer (``mute``)."""

    def __init__(self, mute: bool = False) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.mute, self.connections, self.requests = mute, 0, 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if data:
                    self.requests += 1
                    if not self.mute:
                        conn.sendall(ANSWER)  # and the connection is closed, as if idle

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.close()


def test_a_request_on_a_connection_the_server_closed_goes_again_on_a_new_one(
        server: Server) -> None:
    with Client(server.port, {}) as client:
        assert client.get("/a")[0] == 200
        # The server closed the kept-alive connection after its answer.
        status, body, _ = client.post("/b", {"x": 1})
    assert (status, body) == (200, b"{}")
    assert server.connections == 2 and server.requests == 2


def test_no_answer_on_a_new_connection_is_an_error_not_a_retry() -> None:
    mute = Server(mute=True)
    try:
        with Client(mute.port, {}) as client:
            assert client.post("/b", {})[0] == 0
        assert mute.requests == 1  # sent once: a fresh connection's failure is the server's
    finally:
        mute.close()
