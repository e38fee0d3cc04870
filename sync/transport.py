"""One HTTPS request to the central, with certificate verification, and nothing else.

Plain http is allowed only to the loopback addresses (the tests' receiver and proxy): a
centre's events must never cross a network in clear. Every failure comes back as
:class:`SendError` with a short text for the operator, never as a stray exception.

``timeout`` is a deadline for the whole request, not a limit per read: a central that
trickles its answer a byte at a time would otherwise hold the sender for as long as it
likes. At the deadline, or when the box stops (``abort``), the socket is shut down under
the request, which ends any read or write in progress at once.
"""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_ANSWER = 16 * 1024 * 1024


class SendError(Exception):
    """The request did not produce an answer we can use; ``kind`` groups failures for logs."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: bytes
    date: datetime | None = None  # the central's clock, from its Date header


def central_json(answer: Answer) -> Any:
    """The JSON of a 200 answer of the central; SendError when it is anything else (an
    error status, a captive portal's page, a body that is not JSON)."""
    if answer.status != 200:
        raise SendError(f"http_{answer.status}", answer.body[:200].decode("utf-8", "replace"))
    if "json" not in answer.content_type.lower():
        raise SendError("bad_answer", f"no es la respuesta del central "
                                      f"({answer.content_type or 'sin tipo'})")
    try:
        return json.loads(answer.body)
    except ValueError as exc:
        raise SendError("bad_answer", f"JSON no válido: {exc}") from None


def _date(value: str | None) -> datetime | None:
    """An HTTP Date header as an aware datetime, or None when absent or unreadable."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


class _Cut:
    """The request in flight, and the one way to end it early: shut its socket down."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.conn: http.client.HTTPConnection | None = None
        self.why: str | None = None  # "deadline" or "stopped", once cut

    def attach(self, conn: http.client.HTTPConnection) -> bool:
        """Know ``conn``'s socket from now on; False if the request was cut already (a
        socket not yet connecting cannot be shut: the caller must not go on)."""
        with self.lock:
            self.conn = conn
            if self.why is not None:
                _shut(conn)
            return self.why is None

    def cut(self, why: str) -> None:
        with self.lock:
            if self.why is None:
                self.why = why
            if self.conn is not None:
                _shut(self.conn)


def _shut(conn: http.client.HTTPConnection) -> None:
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed or never connected: nothing left to end


class _Plain(http.client.HTTPConnection):
    """A connection whose socket its cut knows before it connects: shutting a socket down
    that is still connecting ends the connect at once (Linux), so a central whose address
    swallows the connection attempt holds neither the deadline nor a stop."""

    cut: _Cut

    def connect(self) -> None:
        found: OSError | None = None
        for family, kind, proto, _, address in socket.getaddrinfo(
                self.host, self.port, 0, socket.SOCK_STREAM):
            sock = socket.socket(family, kind, proto)
            self.sock = sock
            if not self.cut.attach(self):  # the deadline or a stop came already (e.g. in
                sock.close()               # a slow name lookup): no connect at all
                self.sock = None
                raise OSError("cut before connecting")
            try:
                sock.settimeout(self.timeout)
                sock.connect(address)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return
            except OSError as exc:
                found = exc
                sock.close()
                self.sock = None
        raise found or OSError(f"no address for {self.host}")


class _Secure(http.client.HTTPSConnection, _Plain):
    """The same over TLS: ``HTTPSConnection.connect`` wraps what ``_Plain`` connected."""


class Transport:
    def __init__(self, base_url: str, *, ca_file: str = "", timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"dirección del central inválida: {base_url!r}")
        if parts.scheme == "http" and parts.hostname not in LOOPBACK:
            raise ValueError("http sin cifrar solo se permite hacia 127.0.0.1 o ::1")
        self.scheme, self.host = parts.scheme, parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base = parts.path.rstrip("/")
        self.timeout = timeout
        self.context: ssl.SSLContext | None = None
        if parts.scheme == "https":
            self.context = ssl.create_default_context(cafile=ca_file or None)
        self._lock = threading.Lock()
        self._inflight: _Cut | None = None
        self._stopped = False

    def abort(self) -> None:
        """The box is stopping: end the request in flight now and refuse any later one."""
        with self._lock:
            self._stopped = True
            inflight = self._inflight
        if inflight is not None:
            inflight.cut("stopped")

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        return self._send("POST", path, body, headers)

    def get(self, path: str, headers: dict[str, str]) -> Answer:
        return self._send("GET", path, b"", headers)

    def _send(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        cut = _Cut()
        with self._lock:
            if self._stopped:
                raise SendError("stopped", "el equipo se está deteniendo")
            self._inflight = cut
        deadline = threading.Timer(self.timeout, cut.cut, args=("deadline",))
        deadline.daemon = True
        deadline.start()
        try:
            return self._request(cut, method, path, body, headers)
        finally:
            deadline.cancel()
            with self._lock:
                self._inflight = None

    def _request(self, cut: _Cut, method: str, path: str, body: bytes,
                 headers: dict[str, str]) -> Answer:
        conn: _Plain
        if self.context is not None:
            conn = _Secure(self.host, self.port, timeout=self.timeout, context=self.context)
        else:
            conn = _Plain(self.host, self.port, timeout=self.timeout)
        conn.cut = cut
        try:
            conn.connect()
            cut.attach(conn)  # over TLS the socket is now the wrapped one
            conn.request(method, self.base + path, body=body if method == "POST" else None,
                         headers=headers)
            response = conn.getresponse()
            data = response.read(MAX_ANSWER + 1)
            if cut.why is not None:
                raise self._cut_error(cut.why)
            if len(data) > MAX_ANSWER:
                raise SendError("bad_answer", "respuesta demasiado grande")
            return Answer(response.status, response.getheader("Content-Type") or "", data,
                          _date(response.getheader("Date")))
        except SendError:
            raise
        except ssl.SSLCertVerificationError as exc:
            raise SendError("tls", f"certificado no válido: {exc.verify_message}") from None
        except (OSError, http.client.HTTPException) as exc:
            if cut.why is not None:  # the shut-down socket's own error: say why it was shut
                raise self._cut_error(cut.why) from None
            raise _network_error(exc, self.timeout) from None
        finally:
            conn.close()

    def _cut_error(self, why: str) -> SendError:
        if why == "stopped":
            return SendError("stopped", "envío interrumpido: el equipo se está deteniendo")
        return SendError("timeout", f"sin respuesta completa en {self.timeout:g} s")


def _network_error(exc: BaseException, timeout: float) -> SendError:
    if isinstance(exc, ssl.SSLError):
        return SendError("tls", str(exc))
    if isinstance(exc, TimeoutError):
        return SendError("timeout", f"sin respuesta en {timeout:g} s")
    if isinstance(exc, ConnectionRefusedError):
        return SendError("refused", "conexión rechazada")
    return SendError("network", f"{type(exc).__name__}: {exc}")
