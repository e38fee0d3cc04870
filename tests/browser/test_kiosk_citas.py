"""The kiosk's "Tengo cita" in Chromium: a citizen with an appointment registers their arrival
by DNI or booking code and gets their ticket, or is told clearly why not."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Centre, open_kiosk, serious_violations
from tests.browser.test_kiosk import printed_text
from tests.waiting import wait_until
from turnero import citas

TODAY = "2026-11-27"        # the conftest's MORNING: 10:00 in Lima
PASSPORT = 93               # a demo service that takes citas (Migraciones, MG)
LICENCE = 468               # another (MTC, MT)
DNI = "10117410"


def seed(centre: Centre, *rows: dict[str, Any]) -> None:
    """Citas as the central sends them down, kept by the box's engine."""
    base = {"service": PASSPORT, "day": TODAY, "slot": "10:00", "document_type": "DNI",
            "document": DNI, "name": "Rosa Quispe Mamani", "status": "booked"}
    citas.apply_changes(centre.store, [{**base, **row, "change": n}
                                       for n, row in enumerate(rows, start=1)])


def type_dni(page: Page, number: str) -> None:
    page.click("#cita-open")
    page.click("#cita-by-dni")
    for digit in number:
        page.click(f"#cita-keypad [data-cita-key='{digit}']")
    expect(page.locator("#cita-dni")).to_have_text(number)
    page.click("#cita-dni-send")


def type_code(page: Page, code: str) -> None:
    page.click("#cita-open")
    page.click("#cita-by-code")
    for key in code:
        page.click(f"#cita-keys [data-cita-key='{key}']")
    expect(page.locator("#cita-code")).to_have_text(code)
    page.click("#cita-code-send")


def test_a_citizen_checks_in_with_their_dni_inside_the_window_and_gets_a_printed_ticket(
        page: Page, centre: Centre):
    seed(centre, {"code": "MAC-0001", "slot": "10:05"})
    open_kiosk(page, centre)
    type_dni(page, DNI)
    expect(page.locator("#s-ticket")).to_be_visible()
    expect(page.locator("#ticket-cita")).to_have_text(
        "Registramos su llegada. Le llamaremos a la hora de su cita.")
    expect(page.locator("#print-status")).to_have_text("Retire su ticket impreso.")
    [ticket] = centre.tickets()
    assert ticket["channel"] == "appointment"
    expect(page.locator("#ticket-label")).to_have_text(ticket["label"])
    assert ticket["label"] in printed_text(centre)


def test_a_citizen_checks_in_with_the_booking_code_typed_on_the_on_screen_keyboard(
        page: Page, centre: Centre):
    seed(centre, {"code": "MAC-7K2P9", "service": LICENCE, "slot": "10:10",
                  "document": "44556677"})
    open_kiosk(page, centre)
    type_code(page, "MAC-7K2P9")
    expect(page.locator("#ticket-label")).to_have_text("MT-001")
    expect(page.locator("#ticket-cita")).to_contain_text("a la hora de su cita")
    assert "MT-001" in printed_text(centre)


def test_a_citizen_after_their_time_is_told_they_are_served_by_arrival_order(
        page: Page, centre: Centre):
    seed(centre, {"code": "MAC-0900", "slot": "09:00"})
    open_kiosk(page, centre)
    type_dni(page, DNI)
    expect(page.locator("#ticket-cita")).to_have_text(
        "Llegó después de la hora de su cita: le atenderemos por orden de llegada.")
    assert len(centre.tickets()) == 1
    page.click("#ticket-done")   # the next citizen's normal ticket carries no cita line
    page.wait_for_selector("#s-entities:not([hidden])")
    expect(page.locator("#ticket-cita")).to_be_hidden()


def test_a_cancelled_cita_is_told_so_and_nothing_is_printed(page: Page, centre: Centre):
    seed(centre, {"code": "MAC-0002", "status": "cancelled"})
    open_kiosk(page, centre)
    type_dni(page, DNI)
    expect(page.locator("#h-message")).to_have_text("Su cita fue anulada.")
    expect(page.locator("#message-detail")).to_contain_text("saque un turno normal")
    assert centre.tickets() == []
    assert centre.printer().jobs() == []
    page.click("#s-message [data-action=home]")
    page.wait_for_selector("#s-entities:not([hidden])")


def test_a_cita_of_a_service_not_offered_here_sends_the_citizen_to_the_orientador(
        page: Page, centre: Centre):
    seed(centre, {"code": "MAC-0012", "service": 987654})
    open_kiosk(page, centre)
    type_code(page, "MAC-0012")
    expect(page.locator("#h-message")).to_have_text(
        "El trámite de su cita no se atiende hoy en este centro.")
    expect(page.locator("#message-detail")).to_contain_text("orientador")
    assert centre.tickets() == []


def test_a_cita_later_today_says_from_what_time_to_check_in(page: Page, centre: Centre):
    seed(centre, {"code": "MAC-1100", "slot": "11:00"})
    open_kiosk(page, centre)
    type_code(page, "MAC-1100")
    expect(page.locator("#h-message")).to_have_text(
        "Todavía es temprano para su cita: puede registrar su llegada desde las 10:45.")
    assert centre.tickets() == []


def test_a_cita_of_another_day_says_its_day_and_time(page: Page, centre: Centre):
    seed(centre, {"code": "MAC-1201", "day": "2026-12-01", "slot": "09:30"})
    open_kiosk(page, centre)
    type_dni(page, DNI)
    expect(page.locator("#h-message")).to_have_text("Su cita es el 01/12/2026 a las 09:30.")
    assert centre.tickets() == []


def test_an_unknown_dni_can_be_corrected_on_the_same_screen(page: Page, centre: Centre):
    seed(centre, {"code": "MAC-0003", "slot": "10:05"})
    open_kiosk(page, centre)
    type_dni(page, "44556677")
    expect(page.locator("#cita-dni-error")).to_contain_text("No encontramos una cita")
    expect(page.locator("#s-cita-dni")).to_be_visible()
    for _ in range(8):
        page.click("#cita-keypad [data-cita-key=del]")
    expect(page.locator("#cita-dni-error")).to_be_hidden()
    for digit in DNI:
        page.click(f"#cita-keypad [data-cita-key='{digit}']")
    page.click("#cita-dni-send")
    expect(page.locator("#s-ticket")).to_be_visible()
    assert len(centre.tickets()) == 1


def test_a_double_tap_on_check_in_gives_one_ticket_and_one_paper(page: Page, centre: Centre):
    seed(centre, {"code": "MAC-0004", "slot": "10:05"})
    open_kiosk(page, centre)
    page.click("#cita-open")
    page.click("#cita-by-dni")
    for digit in DNI:
        page.click(f"#cita-keypad [data-cita-key='{digit}']")
    page.dblclick("#cita-dni-send")
    expect(page.locator("#s-ticket")).to_be_visible()
    wait_until(lambda: centre.printer().jobs(), what="the ticket printed")
    assert len(centre.tickets()) == 1
    assert len(centre.printer().jobs()) == 1


def test_the_cita_flow_speaks_quechua(page: Page, centre: Centre):
    seed(centre, {"code": "MAC-0005", "slot": "10:05"})
    open_kiosk(page, centre)
    page.click("button.lang[data-lang=qu]")
    expect(page.locator("#cita-open")).to_contain_text("Citayuqmi kani")
    page.click("#cita-open")
    expect(page.locator("#h-cita")).to_have_text("¿Imaynatam citaykita qillqachiyta munanki?")
    page.click("#cita-by-code")
    expect(page.locator("#h-cita-code")).to_have_text("Reserva códigoykita qillqay")
    page.click("#cita-code-send")   # nothing typed yet
    expect(page.locator("#cita-code-error")).to_have_text(
        "Códigoqa manaraqmi hunt'asqachu. Qhawariy.")
    for key in "MAC-0005":
        page.click(f"#cita-keys [data-cita-key='{key}']")
    page.click("#cita-code-send")
    expect(page.locator("#h-ticket")).to_have_text("Turnoyki")
    expect(page.locator("#ticket-cita")).to_have_text(
        "Chayamusqaykitam qillqarqanchik. Citaykiq horanpim waqyasqayki.")
    assert "Ñawpaqniykipi" in printed_text(centre)


def test_switching_language_on_a_cita_refusal_redraws_it(page: Page, centre: Centre):
    seed(centre, {"code": "MAC-1100", "slot": "11:00"})
    open_kiosk(page, centre)
    type_code(page, "MAC-1100")
    expect(page.locator("#h-message")).to_contain_text("10:45")
    page.click("button.lang[data-lang=en]")
    expect(page.locator("#h-message")).to_have_text(
        "It is too early for your appointment: you can check in from 10:45.")


def test_the_kiosk_goes_back_to_the_start_when_left_idle_on_a_cita_screen(centre_factory,
                                                                          page: Page):
    centre = centre_factory(kiosk={"idle_seconds": 10})
    open_kiosk(page, centre)
    page.click("#cita-open")
    page.click("#cita-by-code")
    page.click("#cita-keys [data-cita-key=A]")
    expect(page.locator("#s-cita-code")).to_be_visible()
    page.wait_for_selector("#s-entities:not([hidden])", timeout=14_000)


def test_no_cita_button_when_no_service_takes_citas(centre_factory, page: Page):
    def without_citas(data: dict) -> None:
        for service in data["services"]:
            service["appointments"] = False

    centre = centre_factory(patch=without_citas)
    open_kiosk(page, centre)
    expect(page.locator("#cita-open")).to_be_hidden()


def test_cita_screens_have_no_serious_accessibility_violations(page: Page, centre: Centre):
    seed(centre, {"code": "MAC-0006", "slot": "10:05"},
         {"code": "MAC-0007", "status": "cancelled", "document": "44556677"})
    open_kiosk(page, centre)
    expect(page.locator("#cita-open")).to_be_visible()
    assert serious_violations(page) == []
    page.click("#cita-open")
    assert serious_violations(page) == []
    page.click("#cita-by-code")
    page.click("#cita-code-send")
    expect(page.locator("#cita-code-error")).to_be_visible()
    assert serious_violations(page) == []
    for key in "MAC-0007":
        page.click(f"#cita-keys [data-cita-key='{key}']")
    page.click("#cita-code-send")
    expect(page.locator("#h-message")).to_have_text("Su cita fue anulada.")
    assert serious_violations(page) == []
    page.click("#s-message [data-action=home]")
    type_dni(page, DNI)
    expect(page.locator("#ticket-cita")).to_be_visible()
    assert serious_violations(page) == []
