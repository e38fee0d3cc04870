"""Tap to ticket on screen at the kiosk, in Debian's Chromium driven by Playwright.

A live server (its own process, a centre with a virtual printer bound to the kiosk) and one
kiosk page. Each round a citizen picks an entity, a service, "No" to the preferential
question, and then taps "Continuar sin DNI": the figure runs from that last tap (sent by
Playwright) until the new label is on screen, so it includes the browser's work, the
request, issuing, queueing the print job and drawing the ticket screen. Timed from Python,
it also counts Playwright's own round trip: an upper bound. p50 and p95 per run.

    .venv/bin/python -m bench.kiosk_tap [--runs 3] [--tickets 60]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from bench.common import Figure, arguments, cli, command, ms, progress
from harness.live_server import LiveServer, write_config

CHROMIUM = os.environ.get("MAC_TURNOS_CHROMIUM", "/usr/bin/chromium")
WARMUP = 5


def one_ticket(page: Page, n: int) -> float:
    """Seconds from the last tap to the label of ticket ``n`` on screen."""
    page.locator("#entities button").nth(n % 4).click()
    page.locator("#services button").first.click()
    page.click("[data-category=none]")
    before = page.locator("#ticket-label").text_content()
    began = time.perf_counter()
    page.click("#skip-document")
    page.wait_for_function(
        "old => { const s = document.getElementById('s-ticket');"
        " const l = document.getElementById('ticket-label');"
        " return !s.hidden && l.textContent && l.textContent !== old; }",
        arg=before, polling="raf")
    seconds = time.perf_counter() - began
    page.click("#s-ticket [data-action=home]")
    page.wait_for_selector("#s-entities:not([hidden]) button")
    return seconds


def one_run(tickets: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="mt-bench-") as tmp:
        root = Path(tmp)
        config = write_config(root / "centre.toml", queues=4, counters=8, printer=True)
        state = root / "state"
        state.mkdir()
        server = LiveServer(state, config)
        token, _ = server.setup()
        try:
            server.start()
            staff = server.login()
            server.request("POST", "/api/v1/day/open", {}, staff)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM)
                page = browser.new_page(viewport={"width": 1280, "height": 1024})
                page.goto(f"http://127.0.0.1:{server.port}/kiosk#device={token}")
                page.wait_for_selector("#s-entities:not([hidden]) button")
                for n in range(WARMUP):
                    one_ticket(page, n)
                taps = [one_ticket(page, n) for n in range(tickets)]
                browser.close()
            return taps
        finally:
            server.stop()


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=3)
    p.add_argument("--tickets", type=int, default=60, help="measured tickets per run")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("kiosk_tap", argv)
    label = "Kiosk in Chromium, tap to ticket on screen"
    p50 = Figure("kiosk.tap.p50", f"{label}: p50", "ms", None, cmd)
    p95 = Figure("kiosk.tap.p95", f"{label}: p95", "ms", ("<=", 500), cmd)
    for n in range(1, args.runs + 1):
        taps = one_run(args.tickets)
        p50.add(ms(taps, 50))
        p95.add(ms(taps, 95))
        progress(f"kiosk tap run {n}: p50 {ms(taps, 50):.0f} ms p95 {ms(taps, 95):.0f} ms")
    return [p50, p95]


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
