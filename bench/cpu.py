"""CPU time per request, in process: the Flask app called as a WSGI callable, without sockets
or waitress, on the bench centre (4 queues, 60 módulos). Far steadier than wall-clock latency
on a shared machine, so it is the figure to compare code changes with.

* issue: ``--issue`` POST /api/v1/tickets with a kiosk bearer token, round-robin over the
  queues (after a warm-up), as ``bench.issue`` sends them.
* call-next: ``--calls`` pairs of call-next + no-show from 60 módulos in turn with a staff
  session and CSRF token, after ``--tickets`` tickets were issued, as ``bench.call_next``.

Each request's CPU time (thread time) is recorded; the figures are the median request and the
mean over ``--runs`` runs, in ms (the median shrugs off other processes better than the
mean). ``--profile`` prints the cProfile of one run of each instead.

    .venv/bin/python -m bench.cpu [--runs 5] [--issue 2000] [--calls 1000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from bench.common import COUNTERS, QUEUES
from config import load_settings
from harness.live_server import PIN, write_config
from turnero import accounts, day


class Wsgi:
    """Calls the app as waitress would, with pre-built environ pieces, and checks statuses."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.spent: dict[str, list[float]] = {}
        self.statements: dict[str, int] = {}
        self._count = 0

    def trace(self, store: Any) -> None:
        """Count the SQL statements run by every connection of ``store`` from now on; each
        statement is at least one GIL release, which under load is a thread switch."""
        def count(_: str) -> None:
            self._count += 1
        for conn in (store._writer, *store._readers):
            conn.set_trace_callback(count)

    def timed(self, kind: str, method: str, path: str, body: bytes,
              headers: dict[str, str]) -> str:
        """The status of one request, its CPU seconds recorded under ``kind``."""
        before = self._count
        began = time.thread_time()
        status = self.call(method, path, body, headers)[0]
        self.spent.setdefault(kind, []).append(time.thread_time() - began)
        self.statements[kind] = self.statements.get(kind, 0) + self._count - before
        return status

    def call(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> tuple[
            str, bytes, list[tuple[str, str]]]:
        environ = {"REQUEST_METHOD": method, "PATH_INFO": path, "SCRIPT_NAME": "",
                   "QUERY_STRING": "", "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "8080",
                   "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1",
                   "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
                   "wsgi.errors": sys.stderr, "wsgi.multithread": True,
                   "wsgi.multiprocess": False, "wsgi.run_once": False,
                   "wsgi.version": (1, 0), "CONTENT_LENGTH": str(len(body)),
                   "CONTENT_TYPE": "application/json"}
        for key, value in headers.items():
            environ["HTTP_" + key.upper().replace("-", "_")] = value
        seen: dict[str, Any] = {}

        def start_response(status: str, response_headers: list[tuple[str, str]],
                           exc_info: object = None) -> None:
            seen["status"], seen["headers"] = status, response_headers

        chunks = self.app(environ, start_response)
        try:
            data = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        return seen["status"], data, seen["headers"]


@contextmanager
def centre() -> Iterator[tuple[Wsgi, dict[str, str], dict[str, str]]]:
    """The app on a fresh bench centre with the day open: (wsgi, kiosk, staff headers)."""
    with tempfile.TemporaryDirectory(prefix="mt-cpu-") as tmp:
        settings = load_settings(write_config(Path(tmp) / "centre.toml", queues=QUEUES,
                                              counters=COUNTERS))
        store = open_store(settings, Path(tmp))
        try:
            accounts.create_user(store, "supervisor", "supervisor", PIN,
                                 security=settings.security)
            token = accounts.enrol_device(store, "kiosk-1", "kiosk")
            day.open_day(store, actor="bench")
            wsgi = Wsgi(create_app(settings, store))
            status, data, headers = wsgi.call(
                "POST", "/api/v1/auth/login",
                json.dumps({"username": "supervisor", "password": PIN}).encode(), {})
            cookie = next(v for k, v in headers if k == "Set-Cookie").split(";")[0]
            staff = {"Cookie": cookie, "X-CSRF-Token": json.loads(data)["csrf_token"]}
            yield wsgi, {"Authorization": f"Bearer {token}"}, staff
        finally:
            store.close()


def issue(wsgi: Wsgi, kiosk: dict[str, str], n: int, start: int = 0,
          kind: str = "warm-up") -> None:
    bodies = [json.dumps({"service_id": 1 + q}).encode() for q in range(QUEUES)]
    for k in range(start, start + n):
        status = wsgi.timed(kind, "POST", "/api/v1/tickets", bodies[k % QUEUES], kiosk)
        assert status.startswith("201"), status


def call_pairs(wsgi: Wsgi, staff: dict[str, str], n: int) -> None:
    """Call-next then no-show ``n`` times over the módulos."""
    for k in range(n):
        base = f"/api/v1/counters/{1 + k % COUNTERS}"
        status = wsgi.timed("call_next", "POST", base + "/call-next", b"{}", staff)
        assert status.startswith("200"), status
        status = wsgi.timed("no_show", "POST", base + "/no-show", b"{}", staff)
        assert status.startswith("200"), status


def profiled(fn: Callable[[], object], limit: int) -> None:
    prof = cProfile.Profile()
    prof.runcall(fn)
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(limit)
    print(out.getvalue())


def one_run(args: argparse.Namespace, profile: bool) -> dict[str, list[float]]:
    """Per-request CPU seconds of issue, call-next and no-show on a fresh centre."""
    with centre() as (wsgi, kiosk, staff):
        issue(wsgi, kiosk, 320)
        wsgi.trace(parts.of(wsgi.app).store)
        run_issue = lambda: issue(wsgi, kiosk, args.issue, 320, "issue")  # noqa: E731
        if profile:
            profiled(run_issue, args.limit)
        else:
            run_issue()
        issue(wsgi, kiosk, max(0, args.tickets - args.issue - 320), 320 + args.issue)
        for c in range(1, COUNTERS + 1):
            status = wsgi.call("POST", f"/api/v1/counters/{c}/open", b"{}", staff)[0]
            assert status.startswith("200"), status
        if profile:
            profiled(lambda: call_pairs(wsgi, staff, args.calls), args.limit)
        else:
            call_pairs(wsgi, staff, args.calls)
        for kind, n in wsgi.statements.items():
            if kind != "warm-up":
                print(f"[cpu] {kind}: {n / len(wsgi.spent[kind]):.1f} SQL statements per "
                      "request", file=sys.stderr)
        return {k: v for k, v in wsgi.spent.items() if k != "warm-up"}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--issue", type=int, default=2000)
    p.add_argument("--calls", type=int, default=1000)
    p.add_argument("--tickets", type=int, default=6000)
    p.add_argument("--profile", action="store_true")
    p.add_argument("--limit", type=int, default=60)
    args = p.parse_args(argv)
    if args.profile:
        one_run(args, profile=True)
        return
    medians: dict[str, list[float]] = {}
    means: dict[str, list[float]] = {}
    for n in range(args.runs):
        for kind, spent in one_run(args, profile=False).items():
            medians.setdefault(kind, []).append(statistics.median(spent) * 1000)
            means.setdefault(kind, []).append(statistics.fmean(spent) * 1000)
        print(f"[cpu] run {n + 1}: " + ", ".join(
            f"{k} median {medians[k][-1]:.3f} mean {means[k][-1]:.3f} ms" for k in medians),
            file=sys.stderr, flush=True)
    print(json.dumps({k: {"median_ms": round(statistics.median(medians[k]), 3),
                          "mean_ms": round(statistics.median(means[k]), 3),
                          "run_medians": [round(x, 3) for x in medians[k]]}
                      for k in medians}))

if __name__ == "__main__":
    main()
