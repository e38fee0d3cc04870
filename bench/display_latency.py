"""Call to visible on the waiting-room TV, in Debian's Chromium driven by Playwright.

A live server (its own process) with 60 módulos and a TV page in Chromium, plus 19 more TVs
as lightweight SSE clients and 60 desks holding their own live streams, as in a centre with
20 TVs. Each round a desk calls next (``POST /counters/{n}/call-next``); the figure runs from
just before the request is sent until the page has drawn the new label (a MutationObserver
on the big label, then the next animation frame), both read from the same wall clock. The
desk first ends its previous attention (not timed). p50 and p99 per run.

    .venv/bin/python -m bench.display_latency [--runs 3] [--calls 200]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from bench.common import Client, Figure, arguments, cli, command, ms, progress
from bench.sse_hold import StreamCrowd
from harness.live_server import LiveServer, write_config

CHROMIUM = os.environ.get("MAC_TURNOS_CHROMIUM", "/usr/bin/chromium")
DESKS, TVS, WARMUP = 60, 20, 10
OBSERVE = """() => {
  window.__seen = [];
  const label = document.getElementById("now-label");
  new MutationObserver(() => {
    const text = label.textContent;
    requestAnimationFrame(() => window.__seen.push(
      { label: text, at: performance.timeOrigin + performance.now() }));
  }).observe(label, { childList: true, characterData: true, subtree: true });
}"""


def one_run(calls: int) -> list[float]:
    with tempfile.TemporaryDirectory(prefix="mt-bench-") as tmp:
        root = Path(tmp)
        config = write_config(root / "centre.toml", queues=4, counters=DESKS)
        state = root / "state"
        state.mkdir()
        server = LiveServer(state, config)
        kiosk, _ = server.setup()
        tv = server.cli("device", "add", "tv-1", "--role", "display").strip().split()[-1]
        try:
            server.start()
            staff = server.login()
            server.request("POST", "/api/v1/day/open", {}, staff)
            with Client(server.port, {"Authorization": f"Bearer {kiosk}"}) as k:
                for n in range(calls + WARMUP + 10):
                    k.post("/api/v1/tickets", {"service_id": 1 + n % 4})
            with Client(server.port, staff) as desk:
                for n in range(1, DESKS + 1):
                    desk.post(f"/api/v1/counters/{n}/open", {})
            desks = StreamCrowd(server.port, {"Cookie": staff["Cookie"]}, DESKS)
            tvs = StreamCrowd(server.port, {"Authorization": f"Bearer {tv}"}, TVS - 1)
            desks.start()
            tvs.start()
            progress(f"{desks.opened} desk streams and {tvs.opened} TV streams open")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=[
                    "--autoplay-policy=no-user-gesture-required"])
                page = browser.new_page(viewport={"width": 1920, "height": 1080})
                page.goto(f"http://127.0.0.1:{server.port}/display/sala-1#device={tv}")
                page.wait_for_function("() => Number(document.body.dataset.snapshots) >= 1")
                page.evaluate(OBSERVE)
                seconds = rounds(server.port, staff, page, calls)
                browser.close()
            desks.stop()
            tvs.stop()
            return seconds
        finally:
            server.stop()


def rounds(port: int, staff: dict[str, str], page: object, calls: int) -> list[float]:
    busy: set[int] = set()
    latencies = []
    with Client(port, staff) as desk:
        for n in range(calls + WARMUP):
            counter = random.randint(1, DESKS)
            if counter in busy:
                desk.post(f"/api/v1/counters/{counter}/start", {})
                desk.post(f"/api/v1/counters/{counter}/finish", {})
            sent = time.time()
            status, raw, _ = desk.post(f"/api/v1/counters/{counter}/call-next", {})
            if status != 200:
                raise RuntimeError(f"call-next answered {status}: {raw[:200]!r}")
            busy.add(counter)
            label = raw.split(b'"label":"', 1)[1].split(b'"', 1)[0].decode()
            page.wait_for_function(  # type: ignore[attr-defined]
                "l => window.__seen.some(s => s.label === l)", arg=label, polling=5,
                timeout=10_000)
            seen = page.evaluate(  # type: ignore[attr-defined]
                "l => window.__seen.find(s => s.label === l).at", label)
            if n >= WARMUP:
                latencies.append(max(0.0, seen / 1000 - sent))
            time.sleep(random.uniform(0.05, 0.15))
    return latencies


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=3)
    p.add_argument("--calls", type=int, default=200, help="measured calls per run")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("display_latency", argv)
    label = f"Call to visible on the TV in Chromium ({TVS} TVs, {DESKS} desks)"
    p50 = Figure("display.call.p50", f"{label}: p50", "ms", None, cmd)
    p99 = Figure("display.call.p99", f"{label}: p99", "ms", ("<=", 150), cmd)
    for n in range(1, args.runs + 1):
        seconds = one_run(args.calls)
        p50.add(ms(seconds, 50))
        p99.add(ms(seconds, 99))
        progress(f"display run {n}: p50 {ms(seconds, 50):.0f} ms p99 {ms(seconds, 99):.0f} ms")
    return [p50, p99]


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
