"""Rendering one ticket to ESC/POS bytes, as the print worker does, without a printer.

Each run times single renders, after a few unmeasured ones that load the profile and the
code page. The tickets differ in label, people ahead and wait; some carry a preferential
category; the service name is long enough to wrap. Figures, p50 and p99 per run:

* 80 mm TM-T20II profile, native QR code (GS ( k): ``--renders`` per run; the target.
* 58 mm POS-5890 profile, which gets the QR as a raster image: ``--raster-renders`` per
  run; informative (python-escpos encodes the QR with the pure-Python qrcode package).
* The virtual printer's PNG preview of a ticket: ``--previews`` per run; informative (it
  is drawn when staff open it, not when a ticket is issued).

No server, no device, no network.

    .venv/bin/python -m bench.render_ticket [--runs 5] [--renders 500]
        [--raster-renders 200] [--previews 50]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from bench.common import Figure, Latency, arguments, cli, command, p50_p99, progress
from hardware.printer import PrintableTicket, PrinterSettings, render
from hardware.printer.preview import preview_png

WARMUP = 20
LIMA = timezone(timedelta(hours=-5))


def ticket(n: int) -> PrintableTicket:
    """The n-th ticket of a busy morning."""
    return PrintableTicket(
        centre="Centro MAC Lima Norte", entity="RENIEC", label=f"RN-{n % 1000:03d}",
        service="Duplicado de DNI – rectificación de datos y cambio de domicilio",
        category="Persona con discapacidad" if n % 3 == 0 else None,
        issued_at=datetime(2026, 11, 27, 9, 0, tzinfo=LIMA) + timedelta(seconds=17 * n),
        people_ahead=n % 40, wait_minutes=None if n % 7 == 0 else 2 + n % 45,
        status_url=f"http://192.0.2.1:8080/t/{n:08x}Qm9sZXRvLXRva2Vu",
        footer="Gracias por su visita. Conserve este ticket hasta ser atendido.")


def timed(work: Callable[[int], object], count: int) -> list[float]:
    """Seconds of each of ``count`` calls ``work(n)``, after ``WARMUP`` unmeasured ones."""
    for n in range(WARMUP):
        work(n)
    seconds = []
    for n in range(count):
        began = time.perf_counter()
        work(n)
        seconds.append(time.perf_counter() - began)
    return seconds


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=5)
    p.add_argument("--renders", type=int, default=500, help="renders timed per run")
    p.add_argument("--raster-renders", type=int, default=200,
                   help="58 mm renders (QR as image) timed per run")
    p.add_argument("--previews", type=int, default=50, help="PNG previews timed per run")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("render_ticket", argv)
    wide = PrinterSettings("bench-80", "virtual", "", profile="TM-T20II", width=48)
    narrow = PrinterSettings("bench-58", "virtual", "", profile="POS-5890", width=32)
    native = Latency.of("render.native_qr", "Render one ticket to ESC/POS", cmd, ("<=", 20))
    raster = Latency.of("render.raster_qr",
                        "Render one ticket to ESC/POS, 58 mm, QR as raster image", cmd)
    preview = Latency.of("render.preview", "PNG preview of a ticket (virtual printer)", cmd)
    sample = render(ticket(0), wide)
    for n in range(1, args.runs + 1):
        lat = timed(lambda i: render(ticket(i), wide), args.renders)
        native.add(lat)
        progress(f"render native QR run {n}: {p50_p99(lat, 2)}")
        lat = timed(lambda i: render(ticket(i), narrow), args.raster_renders)
        raster.add(lat)
        progress(f"render raster QR run {n}: {p50_p99(lat, 2)}")
        lat = timed(lambda _: preview_png(sample, "CP858", wide.paper_dots), args.previews)
        preview.add(lat)
        progress(f"preview run {n}: {p50_p99(lat)}")
    return [*native, *raster, *preview]


def main(argv: list[str] | None = None) -> list[Figure]:
    return cli(run, parser(), argv)


if __name__ == "__main__":
    main()
