"""The supervision page in Chromium warns of what the records and the box's parts tell: the
QR codes lead nowhere (no address phones can reach) and a queue has people waiting with no
módulo open; the page stays free of serious accessibility findings with both shown."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from kiosk.public_address import CONFIG_KEY
from tests.browser.conftest import Centre, serious_violations
from tests.browser.test_supervision import login_supervision
from turnero import tickets

RN = 76


def test_supervision_warns_of_an_unreachable_qr_and_a_queue_with_nobody_open(
        page: Page, centre: Centre):
    centre.app.config[CONFIG_KEY] = lambda: [("lo", "127.0.0.1")]  # a box with no LAN
    for _ in range(3):
        tickets.issue_ticket(centre.store, service_id=RN, channel="reception")
    centre.clock.advance(minutes=11)
    login_supervision(page, centre)
    banner = page.locator("#public-address-warning")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("public_url")
    alert = page.locator('#alert-list [data-alert="no_counter"][data-queue="RN"]')
    expect(alert).to_contain_text("3 personas esperan y no hay ningún módulo abierto")
    assert serious_violations(page) == []
