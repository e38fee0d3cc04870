"""The staff pages share one script, ``staff.js``, served by the composition root: the calls
with the CSRF token, the sign-in, the «Sin conexión» state and the live stream's
reconnection live there once, and the rooms' scripts keep only their own page logic. The
orientador's console losing the network is driven in Chromium by
``tests/browser/test_offline.py``; the scripts are linted by ``scripts/lint-js``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask

ROOT = Path(__file__).parent.parent
SCRIPT = "/static/shared/staff.js"
STYLE = "/static/shared/staff.css"
# Pages signed in to with a staff session -> the room's own scripts they load after staff.js.
STAFF_PAGES = {
    "/counter": ["desk_queue.js", "desk.js"],
    "/counter/rating?counter=3": ["rating.js"],
    "/reception": ["reception-citas.js", "reception.js"],
    "/supervision": ["sup.js", "floor.js", "tickets.js", "admin.js", "sync.js", "scheduler.js",
                     "supervision.js"],
    "/supervision/reports": ["sup.js", "reports-charts.js", "reports-ans.js", "reports.js"],
}
STAFF_SCRIPTS = ["counter/static/desk.js", "counter/static/rating.js",
                 "kiosk/static/reception.js", "kiosk/static/reception-citas.js",
                 *[str(p.relative_to(ROOT))
                   for p in (ROOT / "supervision" / "static").glob("*.js")]]


def test_the_shared_script_is_served_as_javascript(app: Flask) -> None:
    response = app.test_client().get(SCRIPT)
    assert response.status_code == 200
    assert response.mimetype in ("text/javascript", "application/javascript")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "window.Staff" in response.get_data(as_text=True)
    style = app.test_client().get(STYLE)
    assert style.status_code == 200 and style.mimetype == "text/css"
    # what the notice is asked with when the network is back: only the headers
    assert app.test_client().head(SCRIPT).status_code == 200


@pytest.mark.parametrize("path", sorted(STAFF_PAGES))
def test_every_staff_page_loads_the_shared_script_before_its_own(app: Flask, path: str) -> None:
    page = app.test_client().get(path).get_data(as_text=True)
    scripts = re.findall(r'<script src="([^"]+)" defer></script>', page)
    assert scripts[0] == SCRIPT, scripts
    assert [s.rsplit("/", 1)[1] for s in scripts[1:]] == STAFF_PAGES[path]
    assert f'<link rel="stylesheet" href="{STYLE}">' in page


def test_the_rooms_keep_no_copy_of_the_calls_the_sign_in_or_the_stream() -> None:
    """Only staff.js calls fetch(), opens an EventSource, or posts the login and the CSRF
    header; the kiosk (a device's token) and the TVs keep their own, as they are not staff
    pages."""
    copies = {}
    for name in STAFF_SCRIPTS:
        text = (ROOT / name).read_text(encoding="utf-8")
        found = [w for w in ("fetch(", "new EventSource", "X-CSRF-Token", "/api/v1/auth/login")
                 if w in text]
        if found:
            copies[name] = found
    assert copies == {}
    shared = (ROOT / "appliance" / "static" / "staff.js").read_text(encoding="utf-8")
    for needed in ("fetch(", "new EventSource", "X-CSRF-Token", "/api/v1/auth/login",
                   "Sin conexión"):
        assert needed in shared, needed
