"""Staff pages that lose the network say «Sin conexión», throw nothing, and carry on once it
is back (staff.js): the orientador's console, the sign-in and the asesor's desk."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from tests.browser.conftest import PIN, Centre, login
from turnero import accounts, floor, tickets

BACK_MS = 10_000  # the notice asks again at once when the browser is online, else in <= 2 s


def service_of(centre: Centre, queue: str) -> int:
    return next(s.id for s in centre.settings.services if s.queue == queue)


def watch_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


def test_the_orientador_s_console_shows_it_is_offline_instead_of_throwing(
        page: Page, centre: Centre):
    errors = watch_errors(page)
    login(page, centre)
    notice = page.locator("#offline")
    expect(notice).to_be_hidden()

    page.context.set_offline(True)
    # the browser tells the page at once; a busy machine runs the page late
    expect(notice).to_be_visible(timeout=BACK_MS)
    expect(notice).to_contain_text("Sin conexión")
    page.select_option("#issue-entity", "SUNARP")
    page.click("#issue-submit")
    expect(page.locator("#issue-result")).to_contain_text("Sin conexión")
    expect(page.locator("#issue-result")).to_have_class("result error")
    page.fill("#find-text", "10117410")
    page.click("#find-form button")
    expect(page.locator("#find-message")).to_contain_text("Sin conexión")
    page.click("#offline-retry")  # asking again while still offline changes nothing
    expect(notice).to_be_visible()
    assert centre.tickets() == []

    tickets.issue_ticket(centre.store, service_id=service_of(centre, "SR"), channel="kiosk")
    page.context.set_offline(False)
    expect(notice).to_be_hidden(timeout=BACK_MS)
    # the live stream is back too: the ticket issued meanwhile shows in the queues
    expect(page.locator('#queue-rows tr[data-queue="SR"] td').first).to_have_text(
        "1", timeout=BACK_MS)
    page.click("#issue-submit")
    expect(page.locator("#issue-result")).to_contain_text("emitido")
    assert errors == []


def test_an_issue_whose_answer_was_lost_is_not_issued_twice_when_sent_again(
        page: Page, centre: Centre):
    errors = watch_errors(page)
    login(page, centre)

    def lose_the_answer(route: Route) -> None:
        route.fetch()   # the box issues the ticket...
        route.abort()   # ...and its answer never reaches the console

    page.route("**/api/v1/tickets", lose_the_answer)
    page.select_option("#issue-entity", "SUNARP")
    page.click("#issue-submit")
    expect(page.locator("#issue-result")).to_contain_text("Sin conexión")
    assert [t["label"] for t in centre.tickets()] == ["SR-001"]
    page.unroute("**/api/v1/tickets")
    expect(page.locator("#offline")).to_be_hidden(timeout=BACK_MS)
    page.click("#issue-submit")  # the same form again: the same ticket, not a second one
    expect(page.locator("#issue-result")).to_contain_text("Turno SR-001 emitido")
    assert [t["label"] for t in centre.tickets()] == ["SR-001"]
    page.click("#issue-submit")  # a new issue of the same service is a new ticket
    expect(page.locator("#issue-result")).to_contain_text("Turno SR-002 emitido")
    assert errors == []


def test_a_sign_in_without_network_says_so_and_the_next_one_works(page: Page, centre: Centre):
    errors = watch_errors(page)
    page.goto(f"{centre.base}/reception")
    page.wait_for_selector("#login:not([hidden])")
    page.context.set_offline(True)
    page.fill("#login-user", "orientador")
    page.fill("#login-pin", PIN)
    page.click("#login-form button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("Sin conexión")
    expect(page.locator("#offline")).to_be_visible()
    page.context.set_offline(False)
    expect(page.locator("#offline")).to_be_hidden(timeout=BACK_MS)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#console:not([hidden])")
    expect(page.locator("#login-error")).to_be_hidden()
    assert errors == []


def test_the_desk_keeps_its_ticket_and_says_why_an_action_failed_offline(
        page: Page, centre: Centre):
    errors = watch_errors(page)
    accounts.create_user(centre.store, "asesor.rn", "agent", PIN, entity="RENIEC",
                         security=centre.settings.security)
    tickets.issue_ticket(centre.store, service_id=service_of(centre, "RN"), channel="kiosk")
    floor.change_counter(centre.store, 1, "open", actor="test")
    page.goto(f"{centre.base}/counter?counter=1")
    page.fill("#login-user", "asesor.rn")
    page.fill("#login-pin", PIN)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#desk:not([hidden])")
    page.click("#call-next")
    expect(page.locator("#current-status")).to_contain_text("Llamado")
    called = page.locator("#current-label").text_content()

    page.context.set_offline(True)
    page.click("#start")
    expect(page.locator("#error")).to_contain_text("Sin conexión")
    expect(page.locator("#offline")).to_be_visible()
    expect(page.locator("#current-label")).to_have_text(called or "")

    page.context.set_offline(False)
    expect(page.locator("#offline")).to_be_hidden(timeout=BACK_MS)
    page.click("#start")
    expect(page.locator("#current-status")).to_contain_text("En atención")
    assert errors == []
