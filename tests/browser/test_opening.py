"""The opening rush on a citizen's phone: at 08:16, before RENIEC's five módulos open, with 14
people ahead, the ticket's page says when attention starts instead of "210 min"; once the
módulos open it gives minutes; after "No se presentó" it says what to do next. The
waiting room's TV, idle before the first call, says the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, expect

from tests.browser.conftest import Centre, serious_violations
from turnero import accounts, calls, floor, tickets

RN = 76  # a RENIEC service of queue RN; módulos 1-5 serve it
EARLY = datetime(2026, 11, 27, 13, 16, tzinfo=UTC)  # Friday 08:16 in Lima; opens at 08:30


def test_the_phone_page_before_opening_says_when_attention_starts_then_the_next_steps(
        page: Page, centre_factory: Callable[..., Centre]) -> None:
    centre = centre_factory(clock_at=EARLY)
    for _ in range(14):
        tickets.issue_ticket(centre.store, service_id=RN)
    mine, _ = tickets.issue_ticket(centre.store, service_id=RN)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{centre.base}/t/{mine['token']}")
    expect(page.locator("#ahead")).to_have_text("14")
    expect(page.locator("#wait")).to_have_text("La atención empieza a las 08:30")
    expect(page.locator("body")).not_to_contain_text("210")
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert serious_violations(page) == []

    centre.clock.set(EARLY + timedelta(minutes=14))  # 08:30: the five módulos open
    for counter in range(1, 6):
        floor.change_counter(centre.store, counter, "open", actor="asesor")
    expect(page.locator("#wait")).to_have_text("42 min aprox.")  # 14 x 15 min / 5

    calls.call_ticket(centre.store, 1, mine["uid"], actor="asesor")
    calls.no_show(centre.store, 1, actor="asesor")
    expect(page.locator("#state")).to_have_text("No se presentó")
    expect(page.locator("#next-step")).to_be_visible()
    expect(page.locator("#next-step")).to_contain_text("reactivar su turno")
    expect(page.locator("#wait-row")).to_be_hidden()
    assert serious_violations(page) == []

    page.goto(f"{centre.base}/t/{mine['token']}?lang=qu")  # rendered by the server too
    expect(page.locator("#next-step")).to_contain_text("orientadorman asuykuy")


def test_the_idle_tv_before_opening_shows_when_attention_starts_for_each_queue_waiting(
        page: Page, centre_factory: Callable[..., Centre]) -> None:
    centre = centre_factory(clock_at=EARLY)
    for _ in range(14):
        tickets.issue_ticket(centre.store, service_id=RN)
    token = accounts.enrol_device(centre.store, "tv-1", "display")
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{centre.base}/display/sala-1#device={token}")
    row = page.locator('#wait-rows li[data-queue="RN"]')
    expect(row.locator(".wait-time")).to_have_text("Desde las 08:30")
    expect(row.locator(".wait-people")).to_have_text("14 en espera")
    expect(page.locator("#wait-rows li")).to_have_count(1)  # only queues with people waiting
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert serious_violations(page) == []
