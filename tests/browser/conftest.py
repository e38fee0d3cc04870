"""Browser tests: Debian's Chromium driven by Playwright against the real app served by
waitress on 127.0.0.1, in this process so a test can reach the engine, the clock and the
virtual printer directly (to close a queue, move time, or take the paper out).

The browser is never downloaded: it is the system's ``/usr/bin/chromium`` (or
``MAC_TURNOS_CHROMIUM``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask import Flask
from playwright.sync_api import Browser, Page, expect, sync_playwright

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from config.demo import demo_data
from config.loader import load_settings
from config.model import Settings
from tests.wsgi_thread import ServedApp
from turnero import accounts, day
from turnero.clock import ManualClock
from turnero.store import Store

CHROMIUM = os.environ.get("MAC_TURNOS_CHROMIUM", "/usr/bin/chromium")
# A condition gets up to 20 s to become true (it usually takes milliseconds), so a busy
# machine slows the suite down rather than failing it.
expect.set_options(timeout=20_000)
# 10:00 in Lima on a Friday: the centre is open, far from closing time.
MORNING = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
PIN = "482916"


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM)
        yield chromium
        chromium.close()


@dataclass
class Centre:
    """The demo centre served over HTTP, with handles on its insides."""

    app: Flask
    store: Store
    clock: ManualClock
    settings: Settings
    base: str
    kiosk_token: str
    pages: list[Page] = field(default_factory=list)

    @property
    def printing(self) -> Any:
        return parts.of(self.app).printing

    def printer(self, name: str = "kiosko-demo") -> Any:
        return self.printing.transports[name]

    def tickets(self) -> list[dict[str, Any]]:
        rows = self.store.reader().execute(
            "SELECT uid, label, priority, document, document_type, name, channel FROM tickets "
            "ORDER BY id").fetchall()
        return [dict(r) for r in rows]


def serve(settings: Settings, tmp: Path, clock: ManualClock) -> Iterator[Centre]:
    store = open_store(settings, tmp, clock=clock)
    day.open_day(store, actor="test")
    accounts.create_user(store, "orientador", "receptionist", PIN,
                         security=settings.security)
    accounts.create_user(store, "supervisor", "supervisor", PIN, security=settings.security)
    token = accounts.enrol_device(store, "kiosk-demo", "kiosk")
    app = create_app(settings, store, SSE_HEARTBEAT_SECONDS=0.5)
    served = ServedApp(app)
    centre = Centre(app, store, clock, settings, served.base, token)
    try:
        yield centre
    finally:
        served.stop()
        parts.of(app).printing.stop()
        parts.of(app).desk.stop()
        store.close()


def demo_with(patch: Callable[[dict], None] | None = None,
              **sections: dict[str, Any]) -> Settings:
    """The demo centre with some sections changed (e.g. ``kiosk={"idle_seconds": 10}``),
    and ``patch`` applied to its data."""
    data = demo_data()
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    if patch is not None:
        patch(data)
    return load_settings(data=data, environ={})


@pytest.fixture
def centre_factory(tmp_path: Path) -> Iterator[Callable[..., Centre]]:
    """Start a centre with the given section overrides; all are stopped afterwards."""
    running: list[Iterator[Centre]] = []

    def start(clock_at: datetime = MORNING, patch: Callable[[dict], None] | None = None,
              files: dict[str, bytes] | None = None, **sections: dict[str, Any]) -> Centre:
        directory = tmp_path / f"c{len(running)}"
        directory.mkdir()
        for name, content in (files or {}).items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(content)
        gen = serve(demo_with(patch, **sections), directory, ManualClock(clock_at))
        running.append(gen)
        return next(gen)

    yield start
    for gen in running:
        next(gen, None)


@pytest.fixture
def centre(centre_factory: Callable[..., Centre]) -> Centre:
    return centre_factory()


@pytest.fixture
def page(browser: Browser, centre_factory: Callable[..., Centre]) -> Iterator[Page]:
    """A fresh browser page; closed before the centres stop (it depends on their factory),
    so no live stream is left open on a server that is shutting down."""
    context = browser.new_context(viewport={"width": 1280, "height": 1024}, locale="es-PE")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def open_kiosk(page: Page, centre: Centre) -> None:
    page.goto(f"{centre.base}/kiosk#device={centre.kiosk_token}")
    page.wait_for_selector("#s-entities:not([hidden]) button")


def login(page: Page, centre: Centre, username: str = "orientador") -> None:
    page.goto(f"{centre.base}/reception")
    page.fill("#login-user", username)
    page.fill("#login-pin", PIN)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#console:not([hidden])")
    page.wait_for_selector("#queue-rows tr")


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now."""
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']} ({len(v['nodes'])})"
            for v in results.response["violations"]
            if v.get("impact") in ("serious", "critical")]
