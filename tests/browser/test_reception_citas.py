"""The orientador's "Citas de hoy" in Chromium: today's citas by slot with who came and with
which ticket, and a citizen checked in from the list (or told why not)."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import Centre, login, serious_violations
from turnero import citas

PASSPORT = 93  # a demo service that takes citas (Migraciones, MG)
PASSPORT_NAME = "Expedición del pasaporte electrónico ordinario"


def today(centre: Centre) -> str:
    return centre.store.service_day(centre.clock.now())


def seed(centre: Centre, *rows: dict[str, Any]) -> None:
    """Citas as the central sends them down, kept by the box's engine (the centre's clock
    says 10:00 in Lima)."""
    base = {"service": PASSPORT, "day": today(centre), "slot": "10:00", "document_type": "dni",
            "document": "12345678", "name": "Rosa Quispe Mamani", "status": "booked"}
    citas.apply_changes(centre.store, [{**base, **row, "change": n}
                                       for n, row in enumerate(rows, start=1)])


def seed_the_day(centre: Centre) -> None:
    seed(centre,
         {"code": "MAC-LATE", "slot": "09:30", "name": "Juan Pérez Huamán",
          "document": "10117410"},
         {"code": "MAC-KEPT", "slot": "10:05"},
         {"code": "MAC-GONE", "slot": "11:00", "status": "cancelled",
          "name": "Ana Torres Ríos", "document": "40112233"},
         {"code": "MAC-SOON", "slot": "12:00", "name": "Luis Mendoza Soto",
          "document": "07654321"},
         {"code": "MAC-NEXT", "slot": "10:00", "day": "2099-01-04", "name": "Otro Día"})


def cita_row(page: Page, code: str) -> Locator:
    return page.locator(f"#cita-rows tr[data-code='{code}']")


def label_of(centre: Centre, code: str) -> str:
    row = centre.store.reader().execute(
        "SELECT t.label FROM citas c JOIN tickets t ON t.uid = c.ticket WHERE c.code = ?",
        (code,)).fetchone()
    assert row is not None, f"{code} has no ticket"
    return row["label"]


def test_the_orientador_sees_todays_citas_by_slot_and_only_booked_ones_offer_check_in(
        page: Page, centre: Centre):
    seed_the_day(centre)
    login(page, centre)
    rows = page.locator("#cita-rows tr")
    expect(rows).to_have_count(4)  # another day's cita is not listed
    assert [r.get_attribute("data-code") for r in rows.all()] == [
        "MAC-LATE", "MAC-KEPT", "MAC-GONE", "MAC-SOON"]
    kept = cita_row(page, "MAC-KEPT")
    expect(kept.locator("td").nth(0)).to_have_text("10:05")
    expect(kept.locator("th")).to_have_text("MAC-KEPT")
    expect(kept).to_contain_text(PASSPORT_NAME)
    expect(kept).to_contain_text("Rosa Quispe Mamani")
    expect(kept.locator(".cita-state")).to_have_text("Reservada")
    expect(kept.get_by_role("button", name="Registrar llegada de la cita MAC-KEPT")).to_be_visible()
    gone = cita_row(page, "MAC-GONE")
    expect(gone.locator(".cita-state")).to_have_text("Cancelada")
    expect(gone.get_by_role("button")).to_have_count(0)
    expect(page.locator("#cita-rows button", has_text="Registrar llegada")).to_have_count(3)


def test_checking_in_from_the_list_shows_the_ticket_label_in_its_row(
        page: Page, centre: Centre):
    seed_the_day(centre)
    login(page, centre)
    cita_row(page, "MAC-KEPT").get_by_role("button", name="Registrar llegada").click()
    row = cita_row(page, "MAC-KEPT")
    expect(row.locator(".cita-state")).to_contain_text("Llegó a tiempo — turno ")
    label = label_of(centre, "MAC-KEPT")
    expect(row.locator(".cita-state")).to_have_text(f"Llegó a tiempo — turno {label}")
    expect(page.locator("#citas-message")).to_contain_text(f"turno {label}")
    expect(row.get_by_role("button")).to_have_count(0)
    [ticket] = centre.tickets()
    assert (ticket["label"], ticket["channel"]) == (label, "appointment")


def test_a_citizen_after_the_window_is_checked_in_as_late_with_a_walk_in_ticket(
        page: Page, centre: Centre):
    seed_the_day(centre)
    login(page, centre)
    cita_row(page, "MAC-LATE").get_by_role("button", name="Registrar llegada").click()
    row = cita_row(page, "MAC-LATE")
    expect(row.locator(".cita-state")).to_contain_text("Llegó tarde — turno ")
    expect(row.locator(".cita-state")).to_have_text(
        f"Llegó tarde — turno {label_of(centre, 'MAC-LATE')}")


def test_a_cita_too_early_shows_the_refusal_and_keeps_its_button(page: Page, centre: Centre):
    seed_the_day(centre)
    login(page, centre)
    cita_row(page, "MAC-SOON").get_by_role("button", name="Registrar llegada").click()
    refusal = "Su cita es a las 12:00. Puede registrar su llegada desde las 11:45."
    row = cita_row(page, "MAC-SOON")
    expect(row.locator(".cita-note")).to_have_text(refusal)
    expect(page.locator("#citas-message")).to_contain_text(refusal)
    expect(row.locator(".cita-state")).to_have_text("Reservada")
    expect(row.get_by_role("button", name="Registrar llegada")).to_be_enabled()
    assert centre.tickets() == []


def test_a_cita_checked_in_at_the_kiosk_shows_up_in_the_open_list(page: Page, centre: Centre):
    seed_the_day(centre)
    login(page, centre)
    expect(cita_row(page, "MAC-KEPT").locator(".cita-state")).to_have_text("Reservada")
    citas.check_in(centre.store, citas.find(centre.store, code="MAC-KEPT"), actor="kiosk")
    expect(cita_row(page, "MAC-KEPT").locator(".cita-state")).to_have_text(
        f"Llegó a tiempo — turno {label_of(centre, 'MAC-KEPT')}")


def test_a_day_without_citas_says_so(page: Page, centre: Centre):
    login(page, centre)
    expect(page.locator("#citas-empty")).to_have_text("No hay citas para hoy.")
    expect(page.locator("#citas-table")).to_be_hidden()


def test_the_citas_panel_has_no_serious_accessibility_violations_nor_sideways_scroll(
        page: Page, centre: Centre):
    seed_the_day(centre)
    login(page, centre)
    expect(page.locator("#cita-rows tr")).to_have_count(4)
    assert serious_violations(page) == []
    cita_row(page, "MAC-SOON").get_by_role("button", name="Registrar llegada").click()
    expect(cita_row(page, "MAC-SOON").locator(".cita-note")).to_be_visible()
    cita_row(page, "MAC-KEPT").get_by_role("button", name="Registrar llegada").click()
    expect(cita_row(page, "MAC-KEPT").get_by_role("button")).to_have_count(0)
    assert serious_violations(page) == []
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#citas-table")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
