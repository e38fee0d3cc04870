"""The supervision page in Chromium: the floor follows changes made anywhere within a second,
alerts rise when a wait passes its ANS target, and the supervisor's actions (close a queue,
broadcast, open the day with its check list, call a ticket, users, devices) take effect."""

from __future__ import annotations

import json
from datetime import timedelta

from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import PIN, Centre, open_kiosk, serious_violations
from turnero import accounts, day, floor, messages, tickets

RN = 76
LIVE_MS = 1500  # "within a second", plus the page's own rendering


def login_supervision(page: Page, centre: Centre, username: str = "supervisor") -> None:
    page.goto(f"{centre.base}/supervision")
    page.fill("#login-user", username)
    page.fill("#login-pin", PIN)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#console:not([hidden])")
    page.wait_for_selector("#counter-rows tr")
    expect(page.locator("#live")).to_have_text("En vivo.")


def test_a_pause_made_at_a_modulo_appears_on_the_floor_live(page: Page, centre: Centre):
    login_supervision(page, centre)
    status = page.locator('#counter-rows tr[data-counter="1"] .state')
    expect(status).to_have_text("Cerrado")
    floor.change_counter(centre.store, 1, "open", actor="asesor.reniec")
    expect(status).to_have_text("Abierto", timeout=LIVE_MS)
    floor.change_counter(centre.store, 1, "pause", actor="asesor.reniec", reason="break")
    expect(status).to_have_text("En pausa: Refrigerio", timeout=LIVE_MS)
    expect(page.locator('#counter-rows tr[data-counter="1"]')).to_contain_text("asesor.reniec")


def test_a_pause_made_from_the_floor_is_recorded(page: Page, centre: Centre):
    floor.change_counter(centre.store, 2, "open", actor="asesor.reniec")
    login_supervision(page, centre)
    page.select_option("#pause-reason", "it_support")
    page.click('#counter-rows tr[data-counter="2"] button:has-text("Pausar")')
    expect(page.locator('#counter-rows tr[data-counter="2"] .state')).to_have_text(
        "En pausa: Soporte TIC")
    row = centre.store.reader().execute("SELECT status, status_reason FROM counters "
                                        "WHERE id = 2").fetchone()
    assert tuple(row) == ("paused", "it_support")


def test_an_ans_breach_raises_an_alert_as_time_passes(page: Page, centre: Centre):
    tickets.issue_ticket(centre.store, service_id=RN, channel="reception")
    login_supervision(page, centre)
    alert = page.locator('#alert-list [data-alert="ans"][data-queue="RN"]')
    expect(alert).to_have_count(0)
    centre.clock.advance(minutes=31)  # no event: the page's periodic refresh must notice
    expect(alert).to_be_visible(timeout=20_000)
    expect(alert).to_contain_text("supera el ANS de 30 min")
    expect(page.locator('#queue-rows tr[data-queue="RN"]')).to_have_class("late")


def test_a_queue_closed_from_supervision_is_shown_closed_on_the_kiosk(
        page: Page, centre: Centre, browser: Browser):
    login_supervision(page, centre)
    page.select_option("#queue-code", "ST")
    page.fill("#queue-reason", "Sistema de SUNAT caído")
    page.click("#queue-close")
    expect(page.locator('#queue-rows tr[data-queue="ST"]')).to_contain_text(
        "Cerrada: Sistema de SUNAT caído")
    context = browser.new_context(viewport={"width": 1280, "height": 1024})
    try:
        kiosk = context.new_page()
        open_kiosk(kiosk, centre)
        sunat = kiosk.locator("[data-entity=SUNAT]")
        expect(sunat).to_be_disabled()
        expect(sunat).to_contain_text("Sistema de SUNAT caído")
    finally:
        context.close()
    page.click("#queue-open")
    expect(page.locator('#queue-rows tr[data-queue="ST"]')).to_contain_text("Abierta")


def test_a_message_broadcast_from_the_floor_is_what_the_tvs_show(page: Page, centre: Centre):
    login_supervision(page, centre)
    page.fill("#message-text", "El sistema de SUNAT está caído; sus turnos se mantienen")
    page.fill("#message-minutes", "20")
    page.click("#message-form button[type=submit]")
    expect(page.locator("#message-current")).to_contain_text("sus turnos se mantienen")
    current = messages.current(centre.store)
    assert current is not None and current["text"].startswith("El sistema de SUNAT")
    page.click("#message-clear")
    expect(page.locator("#message-current")).to_have_text("Ninguno en pantalla.")


def test_the_day_opens_only_with_every_check_ticked_or_explained(page: Page, centre: Centre):
    day.close_day(centre.store, actor="test")
    centre.clock.advance(days=3)  # Monday morning: a jornada not yet opened
    login_supervision(page, centre)
    expect(page.locator("#day-state")).to_contain_text("aún no se abre")
    page.click("#open-day")
    expect(page.locator("#day-message")).to_contain_text("Internet")
    assert not centre.store.reader().execute(
        "SELECT 1 FROM days WHERE closed_at IS NULL").fetchone()
    for item in ("internet", "electricity", "security", "printers", "tvs"):
        page.check(f"#check-{item}")
    page.fill("#check-speaker-note", "Parlante de sala 2 en reparación")
    page.click("#open-day")
    expect(page.locator("#day-state")).to_contain_text("abierta desde")
    expect(page.locator("#day-checks")).to_contain_text(
        "Parlantes y voz: sin verificar — Parlante de sala 2 en reparación")
    row = centre.store.reader().execute(
        "SELECT opened_by, checks FROM days WHERE closed_at IS NULL").fetchone()
    checks = json.loads(row["checks"])
    assert row["opened_by"] == "supervisor" and checks["internet"] == {"ok": True, "note": ""}
    assert checks["speaker"] == {"ok": False, "note": "Parlante de sala 2 en reparación"}
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#close-day")
    expect(page.locator("#day-state")).to_contain_text("cerrada")


def test_closing_the_day_with_people_waiting_says_how_many_and_needs_a_second_yes(
        page: Page, centre: Centre):
    for _ in range(3):
        tickets.issue_ticket(centre.store, service_id=RN, channel="reception")
    asked: list[str] = []
    answers = iter([True, False, True, True])

    def answer(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept() if next(answers) else dialog.dismiss()

    page.on("dialog", answer)
    login_supervision(page, centre)
    page.click("#close-day")  # yes, then no when told who still waits
    expect(page.locator("#day-message")).to_contain_text("La jornada sigue abierta")
    assert "3 turno(s) en espera" in asked[1]
    page.click("#close-day")  # yes, and yes
    expect(page.locator("#day-state")).to_contain_text("cerrada")
    expect(page.locator("#day-message")).to_contain_text("3 turno(s) sin atender")


def test_after_a_clock_that_ran_ahead_the_supervisor_confirms_the_time_and_opens_today(
        page: Page, centre: Centre):
    real = centre.clock.now() + timedelta(days=3)  # Monday morning
    centre.clock.set(real + timedelta(days=4 * 365))  # the clock had jumped years ahead
    day.open_day(centre.store, actor="test")
    centre.clock.set(real)  # and was put right
    asked: list[str] = []

    def confirm(dialog) -> None:
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", confirm)
    login_supervision(page, centre)
    expect(page.locator("#alerts")).to_contain_text("Reloj del equipo")
    page.click("#close-day")  # the jornada of the wrong date, which the page shows open
    expect(page.locator("#day-state")).to_contain_text("cerrada")
    for item in ("internet", "electricity", "security", "printers", "tvs", "speaker"):
        page.check(f"#check-{item}")
    page.click("#open-day")
    expect(page.locator("#day-message")).to_have_text("Jornada abierta.")
    assert len(asked) == 2 and "el reloj estuvo adelantado" in asked[1]
    open_days = [r[0] for r in centre.store.reader().execute(
        "SELECT day FROM days WHERE closed_at IS NULL")]
    assert open_days == [centre.store.service_day(real)]


def test_a_given_ticket_is_called_to_a_given_modulo(page: Page, centre: Centre):
    tickets.issue_ticket(centre.store, service_id=RN, channel="reception")
    second, _ = tickets.issue_ticket(centre.store, service_id=RN, channel="reception")
    floor.change_counter(centre.store, 3, "open", actor="asesor.reniec")
    login_supervision(page, centre)
    page.fill("#find-text", second["label"])
    page.click("#find-form button[type=submit]")
    card = page.locator(f'#found [data-uid="{second["uid"]}"]')
    card.locator('[data-field="counter"]').select_option("3")
    card.locator('[data-act="call"]').click()
    expect(page.locator("#found .card-message")).to_contain_text("Llamado al módulo")
    expect(page.locator('#counter-rows tr[data-counter="3"]')).to_contain_text(second["label"])


def test_a_supervisor_creates_a_user_and_enrols_a_device(page: Page, centre: Centre):
    login_supervision(page, centre)
    page.fill("#user-name", "rosa.q")
    page.fill("#user-full", "Rosa Quispe")
    page.select_option("#user-role", "agent")
    page.select_option("#user-entity", "RENIEC")
    page.fill("#user-pin", "24680")
    page.click("#user-form button[type=submit]")
    expect(page.locator('#user-rows tr[data-user="rosa.q"]')).to_contain_text("RENIEC")
    assert accounts.get_user(centre.store, "rosa.q")["role"] == "agent"

    page.fill("#device-name", "tv-sala-2")
    page.select_option("#device-role", "display")
    page.click("#device-form button[type=submit]")
    link = page.locator("#device-link")
    expect(link).to_contain_text("/display/tv-sala-2#device=")
    token = link.inner_text().split("#device=")[1]
    enrolled = accounts.device_principal(centre.store.reader(), token)
    assert enrolled is not None and enrolled.role == "display"

    page.once("dialog", lambda dialog: dialog.accept())
    page.click('#device-rows tr[data-device="tv-sala-2"] button')
    expect(page.locator('#device-rows tr[data-device="tv-sala-2"]')).to_contain_text("Revocado")
    assert accounts.device_principal(centre.store.reader(), token) is None


def test_an_orientador_sees_the_floor_but_not_the_management(page: Page, centre: Centre):
    login_supervision(page, centre, "orientador")
    expect(page.locator("#queue-rows tr").first).to_be_visible()
    for hidden in ("#h-users", "#h-devices", "#h-message", "#queue-form", "#open-day-form"):
        expect(page.locator(hidden)).to_be_hidden()


def test_supervision_has_no_serious_accessibility_violation(page: Page, centre: Centre):
    first, _ = tickets.issue_ticket(centre.store, service_id=RN, channel="reception")
    floor.change_counter(centre.store, 1, "open", actor="asesor.reniec")
    centre.clock.advance(minutes=31)
    login_supervision(page, centre)
    page.fill("#find-text", first["label"])
    page.click("#find-form button[type=submit]")
    page.wait_for_selector("#found .card")
    expect(page.locator("#alerts")).to_be_visible()
    assert serious_violations(page) == []


def test_the_sync_panel_shows_the_backlog_and_says_when_the_uplink_is_off(page: Page,
                                                                          centre: Centre):
    tickets.issue_ticket(centre.store, service_id=76, channel="reception")
    local = centre.store.reader().execute("SELECT MAX(seq) FROM events").fetchone()[0]
    login_supervision(page, centre)
    expect(page.locator("#sync-local")).to_have_text(str(local))
    expect(page.locator("#sync-acked")).to_have_text("0")
    expect(page.locator("#sync-backlog")).to_have_text(str(local))
    expect(page.locator("#sync-now")).to_be_disabled()
    expect(page.locator("#sync-message")).to_contain_text("no está habilitado")


def test_the_scheduler_panel_names_the_coming_national_holidays(centre_factory, page: Page):
    from datetime import UTC, datetime

    centre = centre_factory(clock_at=datetime(2026, 12, 5, 15, 0, tzinfo=UTC))
    login_supervision(page, centre)
    days = page.locator("#scheduler-days li")
    expect(days).to_have_count(7)
    expect(days.nth(3)).to_contain_text("2026-12-08")
    expect(days.nth(3)).to_contain_text("Feriado")
    expect(days.nth(1)).to_contain_text("2026-12-06: cerrado")  # a Sunday
    expect(page.locator("#scheduler-state")).to_contain_text("no están activas")


def test_a_ticket_cancelled_from_supervision_shows_its_reason_and_note(page: Page,
                                                                       centre: Centre):
    ticket, _ = tickets.issue_ticket(centre.store, service_id=RN, channel="reception")
    login_supervision(page, centre)
    page.fill("#find-text", ticket["label"])
    page.click("#find-form button[type=submit]")
    card = page.locator(f'#found [data-uid="{ticket["uid"]}"]')
    card.locator('[data-field="cancel-reason"]').select_option("wrong_service")
    card.locator('[data-field="cancel-note"]').fill("Venía por un trámite del Banco")
    card.locator('[data-act="cancel"]').click()
    expect(card.locator(".card-cancelled")).to_contain_text(
        "Anulado (supervisor): Trámite o entidad equivocados — «Venía por un trámite del Banco»")
