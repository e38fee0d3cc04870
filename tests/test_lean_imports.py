"""A server holds in memory only the libraries it uses: python-escpos, pyserial, Pillow and
qrcode come with a printer, a serial device or a drawn QR code, zeroconf with advertising,
holidays with the first date asked about, cryptography with an enabled uplink, and
sqlite-utils never brings numpy. Each check
runs in a fresh interpreter, since the test process itself has imported everything."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from flask import Flask

from config.model import Settings
from turnero import tickets
from turnero.store import Store

ROOT = Path(__file__).parent.parent
ON_DEMAND = ("escpos", "serial", "usb", "PIL", "qrcode", "yaml", "zeroconf", "ifaddr",
             "holidays", "pyttsx3", "numpy", "cryptography")


def run(code: str) -> None:
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def loaded(names: tuple[str, ...]) -> str:
    """Code that evaluates to the sorted top-level names of ``names`` that are imported."""
    return f"sorted({{m.split('.')[0] for m in sys.modules}} & {set(names)!r})"


def test_starting_a_server_imports_none_of_the_libraries_used_on_demand() -> None:
    run(f"import sys, appliance.cli, appliance.server; found = {loaded(ON_DEMAND)}; "
        "assert not found, found")


def test_sqlite_utils_comes_without_numpy_and_numpy_still_imports_for_those_who_use_it() -> None:
    run("import sys, appliance, sqlite_utils.db; "
        "assert 'numpy' not in sys.modules and sqlite_utils.db.np is None; "
        "import numpy; assert numpy.int64(1) == 1")


def test_holidays_are_imported_by_the_first_date_asked_about() -> None:
    run(f"import sys, datetime, turnero.hours as h; assert not {loaded(('holidays',))}; "
        "assert h.national_holiday(datetime.date(2026, 7, 28)); "
        f"assert {loaded(('holidays',))} == ['holidays']")


def test_advertising_on_one_address_needs_neither_ifaddr_nor_zeroconf_until_it_starts() -> None:
    run("import sys, appliance.advertising as a; "
        "assert a.addresses_for('127.0.0.1') == ['127.0.0.1']; "
        f"found = {loaded(('ifaddr', 'zeroconf'))}; assert not found, found")


def test_the_kiosk_pages_import_qrcode_only_to_draw_a_ticket_qr_code() -> None:
    run(f"import sys, kiosk.pages; assert not {loaded(('qrcode', 'PIL'))}")


def test_the_ticket_qr_code_is_still_drawn_by_its_page(app: Flask, open_store_day: Store,
                                                       settings: Settings) -> None:
    ticket, _ = tickets.issue_ticket(open_store_day, service_id=settings.services[0].id,
                                     channel="reception")
    response = app.test_client().get(f"{ticket['status_url']}/qr.svg")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data and response.data.count(b"<svg:rect") > 100
