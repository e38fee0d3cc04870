"""The orientador's console and the ticket's public status page in Chromium."""

from __future__ import annotations

import json
import time

from playwright.sync_api import Page, expect

from hardware.printer import decode_text
from tests.browser.conftest import Centre, login, open_kiosk, serious_violations
from turnero import calls, floor, tickets


def service_of(centre: Centre, queue: str, index: int = 0) -> int:
    return [s.id for s in centre.settings.services if s.queue == queue][index]


def events(centre: Centre, kind: str) -> list[dict]:
    rows = centre.store.reader().execute(
        "SELECT actor, ticket, payload FROM events WHERE kind = ? ORDER BY seq", (kind,))
    return [{"actor": r["actor"], "ticket": r["ticket"], **json.loads(r["payload"])}
            for r in rows]


def wait_for_jobs(centre: Centre, count: int, timeout: float = 30.0) -> list[bytes]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = centre.printer().jobs()
        if len(jobs) >= count:
            return jobs
        time.sleep(0.05)
    raise AssertionError(f"expected {count} printed jobs, got {len(centre.printer().jobs())}")


def test_the_orientador_issues_a_visit_on_behalf_of_a_citizen(page: Page, centre: Centre):
    login(page, centre)
    page.select_option("#issue-entity", "SUNARP")
    page.select_option("#issue-service", str(service_of(centre, "SR")))
    page.select_option("#visit-service", str(service_of(centre, "BN")))
    page.click("#visit-add")
    expect(page.locator("#visit-list li")).to_have_count(1)
    page.select_option("#issue-priority", "discapacidad")
    page.select_option("#issue-doctype", "ce")
    page.fill("#issue-document", "001234567")
    page.fill("#issue-name", "Rosa Quispe Mamani")
    page.click("#issue-submit")
    expect(page.locator("#issue-result")).to_contain_text("Turno SR-001 emitido")
    [ticket] = centre.tickets()
    assert (ticket["channel"], ticket["priority"], ticket["document_type"], ticket["document"],
            ticket["name"]) == ("reception", "discapacidad", "ce", "001234567",
                                "Rosa Quispe Mamani")
    visit = centre.store.reader().execute("SELECT visit FROM tickets").fetchone()[0]
    assert json.loads(visit) == [service_of(centre, "BN")]
    assert "SR-001" in decode_text(wait_for_jobs(centre, 1)[-1], "CP858")


def test_the_orientador_checks_in_an_appointment(page: Page, centre: Centre):
    login(page, centre)
    page.select_option("#issue-entity", "MIGRACIONES")
    page.select_option("#issue-priority", "cita")
    expect(page.locator("#appointment-row")).to_be_visible()
    page.fill("#issue-appointment", "10:15")
    page.click("#issue-submit")
    expect(page.locator("#issue-result")).to_contain_text("emitido")
    row = centre.store.reader().execute(
        "SELECT t.priority, t.channel, a.slot FROM tickets t JOIN attentions a "
        "ON a.ticket = t.id").fetchone()
    assert (row["priority"], row["channel"]) == ("cita", "appointment")
    assert row["slot"] is not None


def test_the_orientador_finds_a_ticket_and_changes_transfers_cancels_reactivates_reprints(
        page: Page, centre: Centre):
    issued, _ = tickets.issue_ticket(centre.store, service_id=service_of(centre, "RN"),
                                     document="10117410", channel="reception")
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, centre)
    page.fill("#find-text", "10117410")          # by document
    page.click("#find-form button")
    card = page.locator(f"article.card[data-uid='{issued['uid']}']")
    expect(card.locator(".card-label")).to_have_text(issued["label"])

    card.locator("[data-field=priority]").select_option("gestante")
    card.locator("[data-act=priority]").click()
    card = page.locator(f"article.card[data-uid='{issued['uid']}']")
    expect(card).to_contain_text("Preferente")
    change = events(centre, "ticket.priority_changed")[-1]
    assert change["actor"] == "orientador"

    card.locator("[data-field=service]").select_option(str(service_of(centre, "BN")))
    card.locator("[data-act=transfer]").click()
    card = page.locator(f"article.card[data-uid='{issued['uid']}']")
    expect(card).to_contain_text("Banco de la Nación")

    card.locator("[data-act=cancel]").click()  # no reason chosen yet: nothing is sent
    expect(card.locator(".card-message")).to_have_text("Elija el motivo de la anulación.")
    card.locator("[data-field=cancel-reason]").select_option("left_centre")
    card.locator("[data-field=cancel-note]").fill("Volverá mañana")
    card.locator("[data-act=cancel]").click()
    card = page.locator(f"article.card[data-uid='{issued['uid']}']")
    expect(card.locator(".card-info")).to_contain_text("Anulado")
    expect(card.locator(".card-cancelled")).to_contain_text(
        "El ciudadano se retiró del centro — «Volverá mañana»")
    assert events(centre, "ticket.cancelled")[-1]["reason"] == "left_centre"
    card.locator("[data-act=reactivate]").click()
    card = page.locator(f"article.card[data-uid='{issued['uid']}']")
    expect(card.locator(".card-info")).to_contain_text("En espera")

    card.locator("[data-act=reprint]").click()
    expect(card.locator(".card-message")).to_contain_text("Reimpresión enviada")
    assert issued["label"] in decode_text(wait_for_jobs(centre, 1)[-1], "CP858")
    assert [e["actor"] for e in events(centre, "ticket.reprint_requested")] == ["orientador"]

    page.fill("#find-text", issued["label"])     # by label
    page.click("#find-form button")
    expect(page.locator("article.card")).to_have_count(1)


def test_a_printer_without_paper_raises_an_alert_and_its_ticket_prints_after_the_fix(
        browser, page: Page, centre: Centre):
    centre.printer().set_paper_out(True)
    login(page, centre)
    kiosk = browser.new_page()
    open_kiosk(kiosk, centre)
    kiosk.click("[data-entity=SIS]")
    kiosk.locator("#services button").first.click()
    kiosk.click("[data-category=none]")
    kiosk.click("#skip-document")
    expect(kiosk.locator("#ticket-label")).to_have_text("SI-001")
    alert = page.locator("#alert-list li[data-printer=kiosko-demo]")
    expect(alert).to_contain_text("SI-001", timeout=10_000)
    expect(alert).to_contain_text("papel")
    assert centre.printer().jobs() == []
    centre.printer().set_paper_out(False)
    alert.locator("[data-retry]").click()
    assert "SI-001" in decode_text(wait_for_jobs(centre, 1)[-1], "CP858")
    expect(page.locator("#alerts")).to_be_hidden(timeout=10_000)
    kiosk.close()


def test_the_status_page_follows_the_ticket_until_it_is_called(page: Page, centre: Centre):
    first, _ = tickets.issue_ticket(centre.store, service_id=service_of(centre, "BN"),
                                    channel="reception")
    mine, _ = tickets.issue_ticket(centre.store, service_id=service_of(centre, "BN"),
                                   channel="reception", document="10117410",
                                   name="Juan Pérez")
    page.goto(f"{centre.base}{mine['status_url']}")
    expect(page.locator("#label")).to_have_text(mine["label"])
    expect(page.locator("#state")).to_have_text("En espera")
    expect(page.locator("#ahead")).to_have_text("1")
    html = page.content()
    assert "10117410" not in html and "Pérez" not in html
    one, counter = [c.number for c in centre.settings.counters if c.entity == "BN"][:2]
    for number in (one, counter):
        floor.change_counter(centre.store, number, "open", actor="asesor")
    assert calls.call_next(centre.store, one)["uid"] == first["uid"]
    expect(page.locator("#ahead")).to_have_text("0", timeout=20_000)
    assert calls.call_next(centre.store, counter)["uid"] == mine["uid"]
    expect(page.locator("#state")).to_have_text("¡Es su turno!", timeout=20_000)
    expect(page.locator("#go-to")).to_have_text(f"Acérquese al Módulo {counter}")


def test_the_status_page_of_an_unknown_token_says_so_with_404(page: Page, centre: Centre):
    response = page.goto(f"{centre.base}/t/not-a-real-token")
    assert response is not None and response.status == 404
    expect(page.locator(".notice")).to_contain_text("No encontramos ese turno")


def test_reception_and_status_pages_have_no_serious_accessibility_violations(
        page: Page, centre: Centre):
    page.goto(f"{centre.base}/reception")
    page.wait_for_selector("#login:not([hidden])")
    assert serious_violations(page) == []
    login(page, centre)
    page.fill("#find-text", "RN-001")
    assert serious_violations(page) == []
    issued, _ = tickets.issue_ticket(centre.store, service_id=service_of(centre, "RN"),
                                     channel="reception")
    page.click("#find-form button")
    expect(page.locator("article.card")).to_have_count(1)
    assert serious_violations(page) == []
    for language in ("es", "qu", "en"):
        page.goto(f"{centre.base}{issued['status_url']}?lang={language}")
        assert serious_violations(page) == []
