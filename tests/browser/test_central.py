"""The national dashboard's login in Chromium: a viewer asks for the dashboard, is sent to the
login page, gets a clear message for a wrong password, sees the figures after logging in, and
is back at the login page after "Salir"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from harness.sync_support import VIEWER_PASSWORD, Central
from sync.central.auth import BAD_LOGIN
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.central.viewers import add_viewer
from tests.browser.conftest import serious_violations


@pytest.fixture
def central(tmp_path: Path) -> Iterator[Central]:
    db = Database(f"sqlite:///{tmp_path}/central.sqlite")
    db.migrate()
    add_centre(db, "mac-piura", "MAC Piura")
    add_viewer(db, "analista", VIEWER_PASSWORD)
    served = Central(db).start()
    yield served
    served.stop()
    db.close()


@pytest.fixture
def viewer_page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(locale="es-PE")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == []


def test_a_viewer_logs_in_to_the_dashboard_and_out_again(central: Central,
                                                          viewer_page: Page) -> None:
    page = viewer_page
    page.goto(f"{central.url}/?from=2026-11-20&to=2026-11-27")
    assert page.url.startswith(f"{central.url}/login")
    assert "MAC Piura" not in page.content()
    assert serious_violations(page) == []
    page.fill("input[name=usuario]", "analista")
    page.fill("input[name=contrasena]", "no-es-la-clave")
    page.click("button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == BAD_LOGIN
    page.fill("input[name=usuario]", "analista")
    page.fill("input[name=contrasena]", VIEWER_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sesión de analista")
    assert page.url == f"{central.url}/?from=2026-11-20&to=2026-11-27"
    assert "MAC Piura" in page.content()
    page.click("text=Salir")
    page.wait_for_selector("input[name=contrasena]")
    page.goto(f"{central.url}/")
    assert page.url.startswith(f"{central.url}/login")
