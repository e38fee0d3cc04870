"""No page scrolls sideways: every HTML page the box and the central receiver serve, opened
in Chromium at a laptop (1366x768), a standing kiosk or TV (1080x1920) and a phone (390x844),
with realistic content (the demo centre, tickets of the catalogue's longest service names, a
called ticket), keeps ``document.documentElement.scrollWidth <= innerWidth``.

The pages come from the Flask url_map: a new GET route outside ``/api`` and ``/static`` fails
``test_every_page_route_is_visited`` until it is added to ``VISITS`` (an HTML page) or to
``NOT_PAGES`` (a stream, a file, a catalogue). One server, one browser and one context per
signed-in role serve the whole module, and each page is loaded once and then resized."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page

from config.catalogue_document import TABLES, as_raw
from config.demo import demo_settings
from harness.sync_support import VIEWER_PASSWORD, Central
from sync.central import catalogue, citas
from sync.central.app import create_central_app
from sync.central.db import Database
from sync.central.ingest import add_centre, centre_for, ingest
from sync.central.viewers import add_viewer
from tests.browser.conftest import MORNING, PIN, Centre, demo_with, serious_violations, serve
from turnero import accounts, calls, floor, tickets
from turnero.clock import ManualClock
from turnero.errors import Conflict

VIEWPORTS = ((1366, 768), (1080, 1920), (390, 844))
LONG_NAME = "María del Carmen Quispe Huamán de la Cruz Villanueva"
TODAY = MORNING.date().isoformat()  # 10:00 in Lima: the same date there

# GET routes that are not pages a person looks at, and why.
NOT_PAGES = {
    "/display/<name>/announcements": "the TV's stream of calls to announce",
    "/display/audio/<file>": "recorded speech",
    "/display/clock": "the TV's clock, JSON",
    "/display/i18n/<language>.json": "a text catalogue",
    "/kiosk/i18n/<language>.json": "a text catalogue",
    "/kiosk/logos/<name>": "an entity's logo",
    "/t/<token>/qr.svg": "the ticket's QR image",
    "/export.csv": "the central's CSV download",
    "/entities.csv": "the central's monthly CSV per entity",
}


@dataclass(frozen=True)
class Visit:
    """One state of one page: whose session opens it, where, and what shows it is ready."""

    name: str
    rule: str
    path: str  # may hold {token}, {called}, {display}, {kiosk}
    role: str = ""  # "" anonymous; a user name of the box; "viewer" for the central
    ready: str = "body"
    then: str = ""  # an action after loading: see act()


VISITS = (
    Visit("kiosk-entities", "/kiosk", "/kiosk#device={kiosk}",
          ready="#s-entities:not([hidden]) button"),
    Visit("kiosk-services", "/kiosk", "/kiosk#device={kiosk}",
          ready="#s-entities:not([hidden]) button", then="longest-entity"),
    Visit("reception-login", "/reception", "/reception", ready="#login-form"),
    Visit("reception", "/reception", "/reception", role="orientador",
          ready="#console:not([hidden]) #queue-rows tr"),
    Visit("ticket-waiting", "/t/<token>", "/t/{token}", ready="#label"),
    Visit("ticket-called", "/t/<token>", "/t/{called}", ready="#go-to:not([hidden])"),
    Visit("desk-login", "/counter", "/counter?counter=1", ready="#login-form"),
    Visit("desk", "/counter", "/counter?counter=1", role="asesor.reniec",
          ready="#desk:not([hidden]) #queue-rows tr"),
    Visit("rating-login", "/counter/rating", "/counter/rating?counter=1", ready="#login-form"),
    Visit("rating", "/counter/rating", "/counter/rating?counter=1", role="asesor.reniec",
          ready="#idle:not([hidden])"),
    Visit("display", "/display/<name>", "/display/sala-1#device={display}",
          then="snapshot"),
    Visit("supervision-login", "/supervision", "/supervision", ready="#login-form"),
    Visit("supervision", "/supervision", "/supervision", role="supervisor",
          ready="#console:not([hidden]) #counter-rows tr", then="find-ticket"),
    Visit("reports-login", "/supervision/reports", "/supervision/reports",
          ready="#login-form"),
    Visit("reports", "/supervision/reports",
          f"/supervision/reports?period=day&date={TODAY}&group=service", role="supervisor",
          ready=f'body[data-report="service:{TODAY}:{TODAY}"] #ans-rows tr'),
    Visit("central-login", "/login", "/login", ready="input[name=usuario]"),
    Visit("central-dashboard", "/", f"/?from={TODAY}&to={TODAY}", role="viewer",
          ready="table"),
    Visit("central-entities", "/entities", f"/entities?month={TODAY[:7]}", role="viewer",
          ready="table"),
    Visit("central-catalogue", "/catalogue", "/catalogue", role="viewer",
          ready="input[name=archivo]"),
    Visit("central-citas", "/citas", f"/citas?from={TODAY}&to={TODAY}", role="viewer",
          ready="table"),
)


@dataclass
class Sites:
    """The demo box and a central receiver with data, served for the whole module."""

    box: Centre
    central: Central
    values: dict[str, str]

    def url(self, visit: Visit) -> str:
        base = self.central.url if visit.name.startswith("central-") else self.box.base
        return base + visit.path.format(**self.values)


def longest_services(centre: Centre, count: int) -> list[Any]:
    """The services with the longest names, one per queue."""
    chosen: dict[str, Any] = {}
    for service in sorted(centre.settings.services, key=lambda s: -len(s.name)):
        chosen.setdefault(service.queue, service)
    return list(chosen.values())[:count]


def fill_box(centre: Centre) -> dict[str, str]:
    """Waiting tickets of the longest service names, each with a document and a long name,
    a called ticket at módulo 1 (RENIEC) and at the módulo of the longest service, one
    attention finished; returns the values the visits' paths need."""
    store = centre.store
    accounts.create_user(store, "asesor.reniec", "agent", PIN, entity="RENIEC",
                         security=centre.settings.security)
    issued = []
    for n, service in enumerate(longest_services(centre, 8)):
        for _ in range(2):
            issued.append(tickets.issue_ticket(
                store, service_id=service.id, channel="reception", document=f"4{n:07d}",
                document_type="dni", name=LONG_NAME)[0])
    rn = max((s for s in centre.settings.services if s.queue == "RN"), key=lambda s: len(s.name))
    for _ in range(3):
        tickets.issue_ticket(store, service_id=rn.id, channel="reception", name=LONG_NAME)
    first = issued[0]
    entity = next(q.entity for q in centre.settings.queues if q.code == first["queue"])
    counter = next(c.number for c in centre.settings.counters if c.entity == entity)
    for number in (1, counter):
        with contextlib.suppress(Conflict):
            floor.change_counter(store, number, "open", actor="asesor")
    calls.call_ticket(store, counter, first["uid"], actor="asesor")
    calls.start(store, counter, actor="asesor")
    calls.finish(store, counter, actor="asesor")
    calls.call_ticket(store, counter, issued[1]["uid"], actor="asesor")
    calls.call_next(store, 1, actor="asesor.reniec")
    # The ticket the staff find is cancelled: its card shows the reason and a long note,
    # with a word longer than a phone's width.
    tickets.cancel(store, issued[3]["uid"], reason="documents_missing",
                   note=f"{LONG_NAME} {'DNI40000001' * 6}", actor="orientador")
    token = store.reader().execute("SELECT token FROM tickets WHERE uid = ?",
                                   (issued[2]["uid"],)).fetchone()["token"]
    called_token = store.reader().execute("SELECT token FROM tickets WHERE uid = ?",
                                          (issued[1]["uid"],)).fetchone()["token"]
    return {"token": token, "called": called_token, "found": str(issued[3]["label"]),
            "entity": entity,
            "kiosk": centre.kiosk_token,
            "display": accounts.enrol_device(store, "tv-sala", "display")}


def fill_central(db: Database) -> None:
    """Two centres with long names, one with a day of events of long entity names."""
    token = add_centre(db, "mac-lima-norte", "Centro MAC Lima Norte - Independencia, Plaza "
                                             "Norte, Panamericana Norte y Túpac Amaru")
    add_centre(db, "mac-huancavelica", "Centro MAC Huancavelica - Municipalidad Provincial")
    add_viewer(db, "analista", VIEWER_PASSWORD, "editor")  # sees the catalogue's form too
    raw = as_raw(demo_settings())
    catalogue.publish(db, {name: raw[name] for name in TABLES}, by="pcm.catalogo",
                      note="Servicios de RENIEC, Banco de la Nación y SUNAT revisados con "
                           "las entidades para el segundo semestre")
    with db.transaction() as tx:
        catalogue.note_reports(tx, "mac-huancavelica", [{
            "kind": "catalogue.refused", "payload": {
                "version": 1, "problems": "counters.3.queues: no queue 'INDECOPI-PROPIEDAD-"
                                          "INTELECTUAL-Y-DEFENSA-DE-LA-COMPETENCIA'"}}])
    entity = "INDECOPI-PROPIEDAD-INTELECTUAL-Y-DEFENSA-DE-LA-COMPETENCIA"
    events: list[dict[str, Any]] = []
    for n in range(3):
        for kind, minute in (("ticket.issued", 0), ("ticket.called", 10 * n + 5),
                             ("ticket.finished", 10 * n + 15)):
            events.append({"uid": uuid.uuid4().hex, "seq": len(events) + 1, "kind": kind,
                           "at": f"{TODAY}T14:{minute:02d}:00.000000Z", "actor": None,
                           "counter": None, "ticket": f"t{n}",
                           "payload": {"queue": "IN", "day": TODAY, "step": 1,
                                       "entity": entity}})
    queues = [{"code": "IN", "entity": entity, "name": entity, "max_wait_minutes": 30,
               "max_attention_minutes": 30}]
    for n in range(3):  # citas of the day, one with a long name
        citas.book(db, {"centre": "mac-lima-norte", "service": 76, "date": TODAY,
                        "time": f"09:{n}0", "document_type": "DNI",
                        "document": f"4{n}345678",
                        "name": "María de los Ángeles Quispe Huamán de la Cruz Villanueva",
                        "code": f"LN-CITA-{n}"}, "pcm.citas")
    centre = centre_for(db, f"Bearer {token}")
    assert centre is not None
    ingest(db, centre, {"centre": centre, "batch_id": uuid.uuid4().hex, "events": events,
                        "backlog": 4, "queues": queues})


@pytest.fixture(scope="module")
def sites(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sites]:
    box_dir, central_dir = tmp_path_factory.mktemp("box"), tmp_path_factory.mktemp("central")
    served = serve(demo_with(), box_dir, ManualClock(MORNING))
    box = next(served)
    db = Database(f"sqlite:///{central_dir}/central.sqlite")
    db.migrate()
    fill_central(db)
    central = Central(db).start()
    try:
        yield Sites(box, central, fill_box(box))
    finally:
        central.stop()
        db.close()
        next(served, None)


@pytest.fixture(scope="module")
def tabs(browser: Browser, sites: Sites) -> Iterator[dict[str, Page]]:
    """One page per role (its own cookie jar), made on first use; closed before the servers
    stop (it is set up after them), so no live stream is left open."""
    contexts: list[BrowserContext] = []
    made: dict[str, Page] = {}

    class Tabs(dict[str, Page]):
        def __missing__(self, role: str) -> Page:
            context = browser.new_context(locale="es-PE")
            contexts.append(context)
            made[role] = self[role] = context.new_page()
            return made[role]

    yield Tabs()
    for context in contexts:
        context.close()


def sign_in(page: Page, visit: Visit) -> None:
    """Fill the login form the page shows, if it shows one."""
    password = VIEWER_PASSWORD if visit.role == "viewer" else PIN
    user, secret = (("input[name=usuario]", "input[name=contrasena]") if visit.role == "viewer"
                    else ("#login-user", "#login-pin"))
    page.locator(f"{visit.ready}, {user}:visible").first.wait_for()
    if page.locator(user).is_visible():
        page.fill(user, "analista" if visit.role == "viewer" else visit.role)
        page.fill(secret, password)
        page.click("form button[type=submit]:visible")


def act(page: Page, visit: Visit, sites: Sites) -> None:
    """Bring the page to the state the visit is about."""
    if visit.then == "longest-entity":
        page.click(f'[data-entity="{sites.values["entity"]}"]')
        page.wait_for_selector("#s-services:not([hidden]) button")
    elif visit.then == "find-ticket":  # a ticket card: its «Derivar a» lists every service
        page.fill("#find-text", sites.values["found"])
        page.click("#find-form button[type=submit]")
        page.wait_for_selector("#found .card")
    elif visit.then == "snapshot":  # the TV drew the floor's state at least once
        page.wait_for_function("() => Number(document.body.dataset.snapshots || 0) >= 1")


# Two animation frames: the resize's layout and whatever a resize handler changed are drawn.
SETTLED = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"

WIDEST = """() => {
  const limit = innerWidth;
  const clipped = el => {
    for (let up = el.parentElement; up && up !== document.body; up = up.parentElement) {
      if (getComputedStyle(up).overflowX !== 'visible') return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > limit + 0.5 && !clipped(el))
    .map(el => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}` +
      `${el.classList.length ? '.' + [...el.classList].join('.') : ''}` +
      ` (right ${Math.round(el.getBoundingClientRect().right)})`);
  return {scroll: document.documentElement.scrollWidth, inner: limit, wide: wide.slice(0, 8)};
}"""


def show(page: Page, visit: Visit, sites: Sites, width: int, height: int) -> None:
    """Load the visit's page afresh at that size, signed in, in the state it is about."""
    page.set_viewport_size({"width": width, "height": height})
    page.goto("about:blank")  # a fresh load, even where only the fragment would differ
    page.goto(sites.url(visit))
    if visit.role:
        sign_in(page, visit)
    page.wait_for_selector(visit.ready)
    act(page, visit, sites)


@pytest.mark.parametrize("visit", VISITS, ids=[v.name for v in VISITS])
def test_the_page_never_scrolls_sideways(visit: Visit, sites: Sites,
                                         tabs: dict[str, Page]) -> None:
    """Loaded once, then turned to each size as a window or a rotated screen is: the CSS
    and the pages' own resize handling must fit every one."""
    page = tabs[visit.role]
    overflows = []
    for n, (width, height) in enumerate(VIEWPORTS):
        if n == 0:
            show(page, visit, sites, width, height)
        else:
            page.set_viewport_size({"width": width, "height": height})
        page.evaluate(SETTLED)
        found = page.evaluate(WIDEST)
        if found["scroll"] > found["inner"]:
            overflows.append(f"{width}x{height}: scrollWidth {found['scroll']} > "
                             f"{found['inner']}; wider: {found['wide']}")
    assert overflows == [], "\n".join(overflows)


def test_the_pages_refitted_for_a_phone_keep_no_serious_accessibility_violation(
        sites: Sites, tabs: dict[str, Page]) -> None:
    """The supervision floor, the report and the national dashboard fold or scroll their
    tables inside framed regions on a phone: those must stay reachable and named."""
    found = {}
    for visit in VISITS:
        if visit.name in ("supervision", "reports", "central-dashboard", "central-entities"):
            page = tabs[visit.role]
            show(page, visit, sites, 390, 844)
            found[visit.name] = serious_violations(page)
    assert found == {"supervision": [], "reports": [], "central-dashboard": [],
                     "central-entities": []}


def page_rules(app: Flask) -> set[str]:
    """The GET routes of an app outside its API and its static files."""
    return {rule.rule for rule in app.url_map.iter_rules()
            if "GET" in (rule.methods or ()) and not rule.rule.startswith(("/api/", "/static"))
            and not rule.endpoint.endswith("static")}


def test_every_page_route_is_visited(sites: Sites) -> None:
    routes = page_rules(sites.box.app) | page_rules(create_central_app(sites.central.db))
    visited = {v.rule for v in VISITS}
    assert routes - set(NOT_PAGES) == visited, "a page route is missing from VISITS"
    assert set(NOT_PAGES) <= routes, "NOT_PAGES names a route that no longer exists"
