"""One HTTPS request to the central, with certificate verification, and nothing else.

Plain http is allowed only to the loopback addresses (the tests' receiver and proxy): a
centre's events must never cross a network in clear. Every failure comes back as
:class:`SendError` with a short text for the operator, never as a stray exception.
"""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
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

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        conn: http.client.HTTPConnection
        if self.context is not None:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=self.context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("POST", self.base + path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read(MAX_ANSWER + 1)
            if len(data) > MAX_ANSWER:
                raise SendError("bad_answer", "respuesta demasiado grande")
            return Answer(response.status, response.getheader("Content-Type") or "", data)
        except ssl.SSLCertVerificationError as exc:
            raise SendError("tls", f"certificado no válido: {exc.verify_message}") from None
        except ssl.SSLError as exc:
            raise SendError("tls", str(exc)) from None
        except TimeoutError:
            raise SendError("timeout", f"sin respuesta en {self.timeout:g} s") from None
        except ConnectionRefusedError:
            raise SendError("refused", "conexión rechazada") from None
        except (OSError, http.client.HTTPException) as exc:
            raise SendError("network", f"{type(exc).__name__}: {exc}") from None
        finally:
            conn.close()
