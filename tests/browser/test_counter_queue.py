"""What the asesor sees at the desk: why the ticket was chosen, how long the citizen waited,
who waits (preferential ones marked, a long list cut short), and a call by hand that passes a
preferential citizen asks for the reason first; the desk fits 1366x768, 1080x1920 and 390x844
without sideways scrolling."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Centre, serious_violations
from tests.browser.test_counter import agent, desk, events, issue, open_counter

VIEWPORTS = ((1366, 768), (1080, 1920), (390, 844))


def scrolls_sideways(page: Page) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth > window.innerWidth"))


def test_the_desk_shows_the_rule_the_wait_and_who_waits_and_asks_why_a_preferential_is_passed(
        page: Page, centre: Centre):
    [first] = issue(centre, "RN")
    centre.clock.advance(minutes=3)
    elder, pregnant = issue(centre, "RN", priority="adulto_mayor")[0], \
        issue(centre, "RN", priority="gestante")[0]
    issue(centre, "RN", 40)
    centre.clock.advance(minutes=9)
    open_counter(centre, 1)
    page.set_viewport_size({"width": 1366, "height": 768})
    desk(page, centre, agent(centre, "asesor.rn", "RENIEC"), 1)

    rows = page.locator("#waiting-list li")
    expect(rows).to_have_count(40)
    expect(page.locator("#waiting-summary")).to_have_text("43 en espera, 2 preferente(s).")
    expect(page.locator("#waiting-more")).to_have_text("y 3 más")
    expect(rows.first).to_contain_text(f"{elder['label']}Preferente")
    expect(rows.first).to_contain_text("9 min")
    expect(rows.nth(2)).to_contain_text(first["label"])
    expect(rows.nth(2)).to_contain_text("12 min")
    box = rows.first.bounding_box()  # the list is in view at 1366x768, without scrolling
    assert box is not None and box["y"] + box["height"] <= 768
    assert not scrolls_sideways(page)

    page.click("#call-next")
    expect(page.locator("#current-label")).to_have_text(elder["label"])
    expect(page.locator("#current-rule")).to_have_text("Preferente: adulto mayor")
    expect(page.locator("#current-wait")).to_have_text("Esperó 9 min en cola")
    expect(page.locator("#waiting-summary")).to_have_text("42 en espera, 1 preferente(s).")
    expect(page.get_by_role("button", name=f"Llamar este turno {first['label']}")).to_be_disabled()
    page.click("#no-show")
    expect(page.locator("#current-label")).to_have_text("—")

    page.get_by_role("button", name=f"Llamar este turno {first['label']}").click()
    dialog = page.locator("#reason-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#reason-text")).to_contain_text(pregnant["label"])
    assert serious_violations(page) == []
    page.click("#reason-call")  # no reason chosen yet: the dialog says so and stays
    expect(page.locator("#reason-error")).to_have_text("Elija un motivo.")
    page.check('input[name="call-reason"][value="preferential_absent"]')
    page.click("#reason-call")
    expect(dialog).to_be_hidden()
    expect(page.locator("#current-label")).to_have_text(first["label"])
    expect(page.locator("#current-rule")).to_have_text(
        "Llamado por el asesor: El ciudadano preferente no está en la sala")
    expect(page.locator("#current-wait")).to_have_text("Esperó 12 min en cola")
    manual = events(centre, "ticket.called")[-1]
    assert (manual["rule"], manual["reason"], manual["passed"]) == (
        "manual", "preferential_absent", [pregnant["label"]])
    assert serious_violations(page) == []

    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        expect(page.locator("#current-rule")).to_be_visible()
        assert not scrolls_sideways(page), f"{width}x{height} scrolls sideways"
