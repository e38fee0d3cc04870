"""Run the app under waitress, a production WSGI server that is pure Python (fine on a Pi)."""

from __future__ import annotations

import logging
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from types import FrameType
from typing import Any

from flask import Flask
from waitress.server import create_server

from appliance import front, memory, parts, server_errors, systemd
from appliance.app import MAX_BODY
from appliance.dispatch import HotThreadsDispatcher
from turnero.store import Store

log = logging.getLogger(__name__)
SWITCH_INTERVAL_S = 0.0005
# waitress keeps a streaming response's output buffer, sent bytes included, until it reaches
# this size (16 MiB by default): a TV's or desk's live stream carries about 11 MB of events
# in a busy day, so each held most of the day in memory. At 1 MiB the buffer is replaced
# every megabyte (measured on a simulated day: +31 MB of RSS by evening became +12 MB), and
# a stream whose client reads slowly waits once 1 MiB is pending.
OUTBUF_HIGH_WATERMARK = 1 << 20
# A quiet floor needs a handful of readers at once; more than that were opened by a burst.
READERS_KEPT_IDLE = 4
READER_IDLE_SECONDS = 120.0
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _ThenCall:
    """A response body that calls ``after`` once the server has closed it."""

    def __init__(self, body: Iterable[bytes], after: Callable[[], None]) -> None:
        self.body, self.after = body, after

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.after()


def returning_readers(app: WSGIApp, store: Store) -> WSGIApp:
    """``app`` with each worker thread handing its SQLite reader back to the store's pool
    once a response is sent (its body too: a stream may read while it runs), so readers
    follow the requests in flight rather than the server's threads (see ``turnero.store``)."""
    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            body = app(environ, start_response)
        except BaseException:
            store.return_reader()
            raise
        file_wrapper = environ.get("wsgi.file_wrapper")
        if file_wrapper is not None and isinstance(body, file_wrapper):
            store.return_reader()  # a file reads no database; waitress sends it as it is
            return body
        return _ThenCall(body, store.return_reader)
    return wsgi


def serve(app: Flask, store: Store, host: str, port: int, threads: int,
          on_ready: object = None, front_port: int = 0) -> None:
    """Serve until SIGTERM or SIGINT, then close the database cleanly."""
    # Every SQLite call releases the GIL; with the default 5 ms switch interval the writer
    # holding the write lock can wait that long to get it back from a thread busy rendering a
    # response, and all other writers queue behind it. A short interval keeps the critical
    # section short (measured: +40% call-next throughput with 60 módulos).
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    # The arenas were capped by the CLI, before any thread; readers a burst opened and left
    # idle go back first, so their page caches are among what the trim returns.
    trimmer = memory.Trimmer(tidy=lambda: store.close_idle_readers(
        keep=READERS_KEPT_IDLE, idle_for=READER_IDLE_SECONDS)).start()
    # waitress takes a dispatcher of the caller's through ``_dispatcher`` (its test hook; the
    # pinned waitress version is what tests/test_dispatch.py checks) and then leaves the
    # starting of its threads to the caller.
    dispatcher = HotThreadsDispatcher()
    dispatcher.set_thread_count(threads)
    # Behind the front the client's address is the one it passes on, believed from the
    # front's own address only; without a front no forwarding header is believed.
    proxy: dict[str, Any] = ({"trusted_proxy": front.TRUSTED_FRONT, "trusted_proxy_count": 1,
                              "trusted_proxy_headers": {"x-forwarded-for"}}
                             if front_port else {})
    server = create_server(returning_readers(app, store), host=host, port=port,
                           _dispatcher=dispatcher, threads=threads, ident="mac-turnos",
                           connection_limit=max(200, threads * 4), backlog=1024,
                           asyncore_use_poll=True, channel_timeout=120,
                           clear_untrusted_proxy_headers=True,
                           # a longer body is refused from its length, before waitress
                           # would spool it to a temporary file (past 512 KiB)
                           max_request_body_size=MAX_BODY,
                           outbuf_high_watermark=OUTBUF_HIGH_WATERMARK, **proxy)
    server_errors.answer_errors_in_json(server)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    app_parts = parts.of(app)
    listening = app_parts.settings.server
    app_parts.health["front"] = lambda: front.health(listening)
    app_parts.uplink.start()  # does nothing when the uplink is disabled (or in safe mode)
    if callable(on_ready):
        on_ready(server)
    log.info("listening on http://%s:%s", host, server.effective_port)  # type: ignore[union-attr]
    systemd_stop = systemd.start(store, host, server.effective_port)  # type: ignore[union-attr]
    try:
        server.run()
    except (SystemExit, KeyboardInterrupt):
        log.info("stopping")
    finally:
        trimmer.stop()
        systemd_stop()
        server.close()
        for stop_part in reversed(app_parts.on_stop):
            stop_part()  # the scheduler (waits for a running job), start-up bookkeeping
        app_parts.uplink.stop()
        app_parts.printing.stop()
        app_parts.desk.stop()  # automatic no-show, serial devices
        store.close()
