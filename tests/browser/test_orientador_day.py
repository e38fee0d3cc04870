"""The first real day from the staff side, in Chromium: the orientador's console fits a
1366x768 laptop and a phone, finds "rn 5", groups and filters the services to transfer to and
tells what to say to the citizen; after the scheduler opened the day by itself, staff are
asked for the opening list and the floor shows it pending; times are Lima's whatever zone
the browser's computer is set to."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from appliance import parts
from tests.browser.conftest import Centre, login, serious_violations
from tests.browser.test_supervision import login_supervision
from turnero import checklist, tickets

RN = 76
SIZES = ((1366, 768), (1080, 1920), (390, 844))
MONDAY = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 10:00 in Lima, 16:00 in Madrid


@pytest.fixture
def madrid(browser: Browser) -> Iterator[BrowserContext]:
    """A laptop set to another zone (Madrid is six hours ahead of Lima in November)."""
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="es-PE",
                                  timezone_id="Europe/Madrid")
    yield context
    context.close()


WIDER = """Array.from(document.querySelectorAll("body *"))
  .filter((e) => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 6)
  .map((e) => `${e.tagName}#${e.id}.${e.className}`)"""


def no_sideways_scroll(page: Page, sizes: tuple[tuple[int, int], ...] = SIZES) -> None:
    for width, height in sizes:
        page.set_viewport_size({"width": width, "height": height})
        wide = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wide <= 0, f"{width}x{height}: {wide}px too wide: {page.evaluate(WIDER)}"


def test_the_console_fits_finds_rn_5_and_transfers_within_a_filtered_entity(
        madrid: BrowserContext, centre: Centre):
    longest = max(centre.settings.services, key=lambda s: len(s.name))
    for _ in range(5):
        tickets.issue_ticket(centre.store, service_id=RN, channel="reception")
    long_one, _ = tickets.issue_ticket(centre.store, service_id=longest.id, channel="reception")
    page = madrid.new_page()
    login(page, centre)
    page.fill("#find-text", "rn 5")
    page.click("#find-form button")
    card = page.locator('#found .card')
    expect(card.locator(".card-label")).to_have_text("RN-005")
    normal = next(p.name_es for p in centre.settings.priorities if p.code == "normal")
    expect(card.locator('[data-fact="category"]')).to_have_text(normal)
    expect(card.locator('[data-fact="issued"]')).to_have_text("10:00")   # Lima, not Madrid
    expect(card.locator('[data-fact="ahead"]')).to_have_text("4")
    expect(card.locator('[data-fact="wait"]')).to_have_text(
        re.compile(r"^(\d+ min aprox\.|La atención empieza a las \d\d:\d\d)$"))
    groups = card.locator('[data-field="service"] optgroup')
    assert groups.count() == len(centre.settings.entities)
    card.locator('[data-field="service-filter"]').fill("migracion")
    labels = {groups.nth(i).get_attribute("label") for i in range(groups.count())}
    assert labels == {"Migraciones", "RENIEC"}  # the match, and the ticket's own service
    chosen = card.locator('[data-field="service"] option:checked').inner_text()
    card.locator('[data-act="transfer"]').click()
    expect(page.locator("#found .card .card-info")).to_contain_text(chosen)
    page.fill("#find-text", long_one["label"].lower().replace("-", ""))  # the longest name
    page.click("#find-form button")
    expect(page.locator("#found .card .card-info")).to_contain_text(longest.name)
    no_sideways_scroll(page)
    page.set_viewport_size({"width": 1366, "height": 768})
    assert serious_violations(page) == []


def test_after_an_automatic_opening_staff_are_asked_for_the_list_and_the_floor_shows_it(
        madrid: BrowserContext, browser: Browser, centre_factory):
    centre: Centre = centre_factory()      # Friday: the kiosk is enrolled, the day opened
    centre.clock.set(MONDAY)
    scheduler = parts.of(centre.app).scheduler
    done = scheduler.jobs.run("open_day")                       # the scheduler's own job
    assert done["action"] == "opened", done
    scheduler.start(catch_up=False)  # its next runs are real; only their display is checked
    try:
        staff_are_asked_for_the_list(madrid, browser, centre)
    finally:
        scheduler.stop()


def lima(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo("America/Lima")).strftime(
        "%d/%m/%Y %H:%M")


def staff_are_asked_for_the_list(madrid: BrowserContext, browser: Browser,
                                 centre: Centre) -> None:
    desk = browser.new_context(viewport={"width": 1366, "height": 768}, locale="es-PE")
    reception = desk.new_page()
    login(reception, centre)
    expect(reception.locator("#checklist")).to_be_visible()
    desk.close()
    page = madrid.new_page()
    login_supervision(page, centre)
    expect(page.locator("#checklist")).to_be_visible()
    expect(page.locator('#alert-list [data-alert="checklist"]')).to_contain_text(
        "Lista de apertura pendiente")
    expect(page.locator('#device-rows tr[data-device="kiosk-demo"]')).to_contain_text(
        "27/11/2026 10:00")                                      # enrolled at 15:00 UTC
    next_run = parts.of(centre.app).scheduler.view()["jobs"]["open_day"]["next_run"]
    open_row = page.locator("#scheduler-jobs tr", has_text="Apertura de la jornada")
    expect(open_row).to_contain_text("30/11/2026 10:00")         # its last run
    expect(open_row).to_contain_text(lima(next_run))
    assert serious_violations(page) == []
    page.click("#checklist-submit")                              # nothing ticked: refused
    expect(page.locator("#checklist-message")).to_contain_text("Internet")
    for item in checklist.ITEMS:
        if item != "tvs":
            page.check(f"#cl-{item}")
    page.fill("#cl-tvs-note", "TV 2 sin señal; técnico en camino")
    page.click("#checklist-submit")
    expect(page.locator("#checklist")).to_have_count(0)
    expect(page.locator('#alert-list [data-alert="checklist"]')).to_have_count(0)
    recorded = checklist.status(centre.store)
    assert not recorded["pending"]
    assert recorded["checks"]["tvs"] == {"ok": False, "note": "TV 2 sin señal; técnico en camino"}
    no_sideways_scroll(page, SIZES[:2])  # the floor's own tables are wider than a phone
