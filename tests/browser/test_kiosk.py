"""The citizen's kiosk in Chromium: every path a citizen can take, and what reaches paper."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

from PIL import Image
from playwright.sync_api import Page, expect

from hardware.printer import decode_text
from tests.browser.conftest import Centre, open_kiosk, serious_violations
from tests.waiting import wait_until
from turnero import floor, tickets

DNI = "10117410"          # a valid DNI; its check digit is 2
DNI_BAD_CHECK = "101174103"


def choose_first_reniec_service(page: Page) -> None:
    page.click("[data-entity=RENIEC]")
    for letter in "DNI":
        page.click(f"#letters [data-key={letter}]")
    page.locator("#services button").first.click()


def printed_text(centre: Centre, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = centre.printer().jobs()
        if jobs:
            return decode_text(jobs[-1], "CP858")
        time.sleep(0.05)
    raise AssertionError("nothing reached the printer")


def test_a_normal_ticket_without_document_is_shown_and_printed(page: Page, centre: Centre):
    open_kiosk(page, centre)
    choose_first_reniec_service(page)
    page.click("[data-category=none]")
    page.click("#skip-document")
    expect(page.locator("#ticket-label")).to_have_text("RN-001")
    expect(page.locator("#ticket-ahead")).to_have_text("0")
    expect(page.locator("#print-status")).to_have_text("Retire su ticket impreso.")
    assert page.evaluate("document.getElementById('ticket-qr').naturalWidth") > 0
    [ticket] = centre.tickets()
    assert (ticket["label"], ticket["priority"], ticket["document"], ticket["channel"]) == \
        ("RN-001", "normal", None, "kiosk")
    text = printed_text(centre)
    assert "RN-001" in text and "RENIEC" in text


def test_a_preferential_ticket_with_a_checked_dni_goes_ahead(page: Page, centre: Centre):
    open_kiosk(page, centre)
    choose_first_reniec_service(page)          # RN-001, normal
    page.click("[data-category=none]")
    page.click("#skip-document")
    page.click("#s-ticket [data-action=home]")
    page.wait_for_selector("#s-entities:not([hidden])")
    choose_first_reniec_service(page)
    page.click("[data-category=adulto_mayor]")
    for digit in DNI + "2":
        page.click(f"[data-digit='{digit}']")
    page.click("#send-document")
    expect(page.locator("#ticket-label")).to_have_text("RN-002")
    expect(page.locator("#ticket-category")).to_have_text("Persona adulta mayor")
    expect(page.locator("#ticket-ahead")).to_have_text("0")  # the normal RN-001 is not ahead
    second = centre.tickets()[1]
    assert (second["priority"], second["document"], second["document_type"]) == \
        ("adulto_mayor", DNI, "dni")


def test_a_dni_with_a_wrong_check_digit_is_refused_and_nothing_is_issued(page: Page,
                                                                         centre: Centre):
    open_kiosk(page, centre)
    choose_first_reniec_service(page)
    page.click("[data-category=none]")
    for digit in DNI_BAD_CHECK:
        page.click(f"[data-digit='{digit}']")
    page.click("#send-document")
    expect(page.locator("#document-error")).to_be_visible()
    expect(page.locator("#s-document")).to_be_visible()
    assert centre.tickets() == []
    page.click("[data-digit=del]")
    page.click("#send-document")   # 8 digits alone are accepted
    expect(page.locator("#ticket-label")).to_have_text("RN-001")


def test_the_kiosk_speaks_quechua_on_screen_and_on_paper(page: Page, centre: Centre):
    open_kiosk(page, centre)
    page.click("button.lang[data-lang=qu]")
    expect(page.locator("#h-entities")).to_have_text("Maskasqayki entidadta llamiy")
    assert page.evaluate("document.documentElement.lang") == "qu"
    page.click("[data-entity=BN]")
    page.locator("#services button").first.click()
    expect(page.locator("#h-category")).to_contain_text("Ñawpaqta")
    page.click("[data-category=gestante]")
    page.click("#skip-document")
    expect(page.locator("#h-ticket")).to_have_text("Turnoyki")
    expect(page.locator("#ticket-label")).to_have_text("BN-001")
    text = printed_text(centre)
    assert "BN-001" in text and "Ñawpaqniykipi" in text


def test_a_double_tap_issues_one_ticket(page: Page, centre: Centre):
    open_kiosk(page, centre)
    choose_first_reniec_service(page)
    page.click("[data-category=none]")
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/api/v1/tickets") else None)
    page.dblclick("#skip-document")
    expect(page.locator("#ticket-label")).to_have_text("RN-001")
    for request in sent:  # every request the two taps made has its answer
        assert request.response() is not None
    assert len(centre.tickets()) == 1
    wait_until(lambda: centre.printer().jobs(), what="the ticket printed")
    assert len(centre.printer().jobs()) == 1


def test_the_kiosk_goes_back_to_the_start_and_to_spanish_when_left_idle(centre_factory,
                                                                         page: Page):
    centre = centre_factory(kiosk={"idle_seconds": 10})
    open_kiosk(page, centre)
    page.click("button.lang[data-lang=en]")
    page.click("[data-entity=SUNAT]")
    expect(page.locator("#s-services")).to_be_visible()
    page.wait_for_selector("#s-entities:not([hidden])", timeout=14_000)
    expect(page.locator("#h-entities")).to_have_text("Toque la entidad que necesita")
    assert page.evaluate("document.documentElement.lang") == "es"


def test_a_closed_queue_is_shown_unavailable_with_its_reason(page: Page, centre: Centre):
    floor.change_queue(centre.store, "ST", False, actor="supervisor",
                       reason="Sistema de SUNAT caído")
    open_kiosk(page, centre)
    sunat = page.locator("[data-entity=SUNAT]")
    expect(sunat).to_be_disabled()
    expect(sunat).to_contain_text("Sistema de SUNAT caído")


def test_a_queue_full_for_today_says_so_on_its_tiles_and_still_serves_preferential_citizens(
        centre_factory, page: Page):
    # 18:10 in Lima on a Friday (closing 18:30); 15 citizens already wait for SUNAT.
    centre = centre_factory(clock_at=datetime(2026, 11, 27, 23, 10, tzinfo=UTC))
    for _ in range(15):
        tickets.issue_ticket(centre.store, service_id=_sunat_service(centre), channel="reception")
    open_kiosk(page, centre)
    sunat = page.locator("[data-entity=SUNAT]")
    expect(sunat).to_contain_text("Hoy ya no alcanzamos a atenderle en este servicio")
    expect(sunat).to_contain_text("atención preferente")
    sunat.click()
    service = page.locator("#services button").first
    expect(service).to_contain_text("Hoy ya no alcanzamos a atenderle")
    service.click()
    expect(page.locator("#category-note")).to_contain_text("Hoy ya no alcanzamos")
    expect(page.locator("[data-category=none]")).to_be_disabled()
    page.click("[data-category=adulto_mayor]")
    page.click("#skip-document")
    expect(page.locator("#ticket-label")).to_have_text("ST-016")
    assert len(centre.tickets()) == 16


def _sunat_service(centre: Centre) -> int:
    return next(s.id for s in centre.settings.services if s.queue == "ST")


def test_a_kiosk_over_its_rate_gets_a_friendly_refusal(centre_factory, page: Page):
    centre = centre_factory(kiosk={"tickets_per_minute": 2, "ask_document": False})
    open_kiosk(page, centre)
    for label in ("MT-001", "MT-002"):
        page.click("[data-entity=MTC]")
        page.locator("#services button").first.click()
        page.click("[data-category=none]")
        expect(page.locator("#ticket-label")).to_have_text(label)
        page.click("#s-ticket [data-action=home]")
    page.click("[data-entity=MTC]")
    page.locator("#services button").first.click()
    page.click("[data-category=none]")
    expect(page.locator("#h-message")).to_contain_text("Espere un momento")
    assert len(centre.tickets()) == 2


def test_when_the_printer_has_no_paper_the_ticket_is_on_screen_and_the_citizen_is_sent_to_reception(  # noqa: E501
        page: Page, centre: Centre):
    centre.printer().set_paper_out(True)
    open_kiosk(page, centre)
    choose_first_reniec_service(page)
    page.click("[data-category=none]")
    page.click("#skip-document")
    expect(page.locator("#ticket-label")).to_have_text("RN-001")
    expect(page.locator("#print-status")).to_contain_text("No pudimos imprimir", timeout=12_000)
    assert centre.printer().jobs() == []
    assert len(centre.tickets()) == 1


def test_kiosk_screens_have_no_serious_accessibility_violations(page: Page, centre: Centre):
    open_kiosk(page, centre)
    assert serious_violations(page) == []
    choose_first_reniec_service(page)
    assert serious_violations(page) == []
    page.click("[data-category=none]")
    assert serious_violations(page) == []
    page.click("#skip-document")
    expect(page.locator("#ticket-label")).to_have_text("RN-001")
    assert serious_violations(page) == []


def test_an_entity_logo_from_the_state_folder_is_shown_on_its_button(centre_factory,
                                                                     page: Page):
    image = Image.new("RGB", (120, 40), "#c8102e")
    png = io.BytesIO()
    image.save(png, "PNG")

    def with_logo(data: dict) -> None:
        for entity in data["entities"]:
            if entity["code"] == "RENIEC":
                entity["logo"] = "reniec.png"

    centre = centre_factory(patch=with_logo, files={"logos/reniec.png": png.getvalue()})
    open_kiosk(page, centre)
    logo = page.locator("[data-entity=RENIEC] img.logo")
    expect(logo).to_be_visible()
    assert logo.evaluate("img => img.naturalWidth") == 120
    assert page.locator("[data-entity=BN] img").count() == 0
