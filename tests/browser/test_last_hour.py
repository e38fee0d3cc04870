"""The kiosk in the last hour (Chromium): at 17:40 with 25 normal tickets waiting at RENIEC
and none preferential, every preferential citizen still gets a ticket, and a normal citizen
is told before any step that the queue is full for today.

The page steps are small helpers on the kiosk's stable ids, so a reworked first screen
only means adapting them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Centre, open_kiosk, serious_violations
from turnero import tickets

LAST_HOUR = datetime(2026, 11, 27, 22, 40, tzinfo=UTC)  # Friday 17:40 in Lima, closing 18:30
RN = 76  # a RENIEC service in queue RN


def preferential_categories(centre: Centre) -> list[tuple[str, str]]:
    """(code, Spanish name) of every active preferential category of the catalogue."""
    rows = centre.store.reader().execute(
        "SELECT code, name_es FROM priorities WHERE active AND preferential ORDER BY ord")
    return [(r["code"], r["name_es"]) for r in rows]


def open_entity(page: Page, entity: str) -> None:
    page.click(f"[data-entity={entity}]")
    expect(page.locator("#s-services")).to_be_visible()


def service_tile(page: Page, service_id: int) -> Locator:
    return page.locator(f"#services [data-service='{service_id}']")


def choose_service(page: Page, service_id: int) -> None:
    service_tile(page, service_id).click()
    expect(page.locator("#s-category")).to_be_visible()


def take_ticket(page: Page, category: str) -> None:
    page.click(f"[data-category={category}]")
    skip = page.locator("#skip-document")
    skip.wait_for(state="visible")  # the optional DNI step of the demo centre
    skip.click()


def back_to_start(page: Page) -> None:
    page.click("#s-ticket [data-action=home]")
    expect(page.locator("#s-entities")).to_be_visible()


def test_in_the_last_hour_preferential_citizens_get_tickets_and_normal_ones_are_told_why(
        page: Page, centre_factory: Callable[..., Centre]):
    centre = centre_factory(clock_at=LAST_HOUR)
    for _ in range(25):
        tickets.issue_ticket(centre.store, service_id=RN, channel="reception")
    open_kiosk(page, centre)
    categories = preferential_categories(centre)
    assert len(categories) >= 4
    for number, (code, name) in enumerate(categories, start=26):
        open_entity(page, "RENIEC")
        tile = service_tile(page, RN)
        expect(tile).to_be_enabled()  # still open to preferential citizens, and it says so
        expect(tile).to_contain_text("preferente")
        choose_service(page, RN)
        # A normal citizen cannot go on, and reads why before choosing anything else.
        expect(page.locator("[data-category=none]")).to_be_disabled()
        expect(page.locator("#category-note")).to_be_visible()
        expect(page.locator("#category-note")).to_contain_text("preferente")
        if number == 26:
            assert serious_violations(page) == []
        take_ticket(page, code)
        expect(page.locator("#ticket-label")).to_have_text(f"RN-{number:03d}")
        expect(page.locator("#ticket-category")).to_have_text(name)
        expect(page.locator("#ticket-ahead")).to_have_text(str(number - 26))
        back_to_start(page)
    issued = [t["priority"] for t in centre.tickets()[25:]]
    assert issued == [code for code, _ in categories]
