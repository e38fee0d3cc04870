"""Click on "Llamar siguiente" to the called ticket on that desk, in Chromium, with 60 desks
connected by SSE.

A live server (its own process) with 60 módulos. 59 light Python clients, each with its own
staff session, hold ``/api/v1/stream`` open and read every event as the other desks' browsers
would, while those 59 módulos keep working at ``--background-rate`` calls a second in all
(each call-next followed by a no-show, so every call reaches every stream). One real desk runs
in Debian's Chromium: an asesor bound to módulo 1. Each round the desk is freed from Python
(no-show) and the page shows it free; the figure runs from Playwright's click on "Llamar
siguiente" until the called label is on screen, so it includes the browser's work, the
request, the serialized call and the drawing. Timed from Python, it also counts Playwright's
own round trip: an upper bound. p50 and p95 per run.

    .venv/bin/python -m bench.desk_click [--runs 3] [--clicks 60] [--background-rate 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import threading
import time

from playwright.sync_api import Page, sync_playwright

from bench.common import (
    COUNTERS,
    Bench,
    Client,
    Figure,
    arguments,
    cli,
    command,
    issue_many,
    ms,
    open_counters,
    progress,
    running,
)
from harness.live_server import PIN

CHROMIUM = os.environ.get("MAC_TURNOS_CHROMIUM", "/usr/bin/chromium")
WARMUP = 5
DESK = 1


class StreamReader(threading.Thread):
    """One desk's live stream, read line by line until ``close``."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.headers = headers
        self.events = 0
        self.connected = threading.Event()

    def run(self) -> None:
        try:
            self.conn.request("GET", "/api/v1/stream", headers=self.headers)
            response = self.conn.getresponse()
            if response.status != 200:
                return
            self.connected.set()
            while line := response.fp.readline():
                if line.startswith(b"event: "):
                    self.events += 1
        except OSError:
            return

    def close(self) -> None:
        """Ends the read loop: a shut-down socket reads as the end of the stream."""
        if self.conn.sock is not None:
            try:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.join(3)
        self.conn.close()


def background(bench: Bench, rate: float, stop: threading.Event, errors: list[int]) -> None:
    """Módulos 2..60 in turn: call-next then no-show, ``rate`` calls a second in all."""
    if rate <= 0:
        return
    with Client(bench.port, bench.staff) as client:
        n, next_at = 0, time.monotonic()
        while not stop.is_set():
            counter = 2 + n % (COUNTERS - 1)
            n += 1
            status, _, _ = client.post(f"/api/v1/counters/{counter}/call-next", {})
            if status == 200:
                client.post(f"/api/v1/counters/{counter}/no-show", {})
            elif status != 204:
                errors[0] += 1
            next_at += 1 / rate
            stop.wait(max(0.0, next_at - time.monotonic()))


def one_click(page: Page, staff: Client) -> float:
    """Seconds from the click on "Llamar siguiente" to the called label on the desk."""
    staff.post(f"/api/v1/counters/{DESK}/no-show", {})  # free the módulo (409 if already)
    page.wait_for_selector("#call-next:enabled")
    began = time.perf_counter()
    page.click("#call-next")
    page.wait_for_function(
        "() => { const l = document.getElementById('current-label').textContent;"
        " return l && l !== '—'; }", polling="raf")
    return time.perf_counter() - began


def one_run(clicks: int, rate: float) -> tuple[list[float], int]:
    """(click latencies, events the 59 light desks read) of one fresh server."""
    with running(queues=4, counters=COUNTERS) as bench:
        bench.server.cli("user", "add", "asesor.1", "--role", "agent", "--entity", "EQA",
                         "--pin", PIN)
        seconds = clicks + WARMUP
        issue_many(bench, 2 * (clicks + WARMUP) + int(rate * seconds * 4) + 100)
        open_counters(bench, COUNTERS)
        stop = threading.Event()
        readers = [StreamReader(bench.port, {"Cookie": bench.server.login()["Cookie"]})
                   for _ in range(COUNTERS - 1)]
        for reader in readers:
            reader.start()
        for reader in readers:
            if not reader.connected.wait(10):
                raise RuntimeError("a light desk could not open its stream")
        errors = [0]
        load = threading.Thread(target=background, args=(bench, rate, stop, errors))
        try:
            with sync_playwright() as p, Client(bench.port, bench.staff) as staff:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                page = browser.new_page(viewport={"width": 1280, "height": 1024})
                page.goto(f"http://127.0.0.1:{bench.port}/counter?counter={DESK}")
                page.fill("#login-user", "asesor.1")
                page.fill("#login-pin", PIN)
                page.click("#login-form button[type=submit]")
                page.wait_for_selector("#desk:not([hidden])")
                _, raw, _ = staff.get("/api/v1/health")
                progress(f"live streams open: {json.loads(raw)['stream_clients']}")
                load.start()
                for _ in range(WARMUP):
                    one_click(page, staff)
                taps = [one_click(page, staff) for _ in range(clicks)]
                browser.close()
        finally:
            stop.set()
            if load.is_alive():
                load.join()
            for reader in readers:
                reader.close()
        if errors[0]:
            progress(f"background calls with errors: {errors[0]}")
        return taps, sum(r.events for r in readers)


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=3)
    p.add_argument("--clicks", type=int, default=60, help="measured clicks per run")
    p.add_argument("--background-rate", type=float, default=5.0,
                   help="calls a second made by the other 59 módulos in all")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("desk_click", argv)
    label = f"Desk in Chromium with {COUNTERS} desks on SSE, click to called ticket on screen"
    p50 = Figure("desk.click.p50", f"{label}: p50", "ms", None, cmd)
    p95 = Figure("desk.click.p95", f"{label}: p95", "ms", ("<=", 300), cmd)
    for n in range(1, args.runs + 1):
        taps, events = one_run(args.clicks, args.background_rate)
        p50.add(ms(taps, 50))
        p95.add(ms(taps, 95))
        progress(f"desk click run {n}: p50 {ms(taps, 50):.0f} ms p95 {ms(taps, 95):.0f} ms; "
                 f"the {COUNTERS - 1} light desks read {events} events")
    return [p50, p95]


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
