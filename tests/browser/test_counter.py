"""The asesor's módulo desk and the citizen's rating screen in Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from appliance import parts
from tests.browser.conftest import PIN, Centre, serious_violations
from tests.test_desk_devices import FakePort
from tests.test_printer_transports import wait_for
from turnero import accounts, calls, floor, tickets, views


def service_of(centre: Centre, queue: str, index: int = 0) -> int:
    return [s.id for s in centre.settings.services if s.queue == queue][index]


def agent(centre: Centre, username: str, entity: str) -> str:
    accounts.create_user(centre.store, username, "agent", PIN, entity=entity,
                         security=centre.settings.security)
    return username


def issue(centre: Centre, queue: str, count: int = 1, **options: object) -> list[dict]:
    return [tickets.issue_ticket(centre.store, service_id=service_of(centre, queue),
                                 channel="reception", **options)[0] for _ in range(count)]


def open_counter(centre: Centre, number: int, by: str = "test") -> None:
    """Open a módulo, as its asesor (``by``) or for them (the default: not an asesor)."""
    floor.change_counter(centre.store, number, "open", actor=by)


def events(centre: Centre, kind: str) -> list[dict]:
    rows = centre.store.reader().execute(
        "SELECT actor, counter, ticket, payload FROM events WHERE kind = ? ORDER BY seq",
        (kind,))
    return [{"actor": r["actor"], "counter": r["counter"], "ticket": r["ticket"],
             **json.loads(r["payload"])} for r in rows]


def desk(page: Page, centre: Centre, username: str, counter: int | None = None) -> Page:
    """Log in at the desk (bound to ``counter`` by the address) and wait for the working
    screen."""
    page.goto(f"{centre.base}/counter" + (f"?counter={counter}" if counter else ""))
    page.fill("#login-user", username)
    page.fill("#login-pin", PIN)
    page.click("#login-form button[type=submit]")
    if counter is not None:
        page.wait_for_selector("#desk:not([hidden])")
        page.wait_for_selector("#queue-rows tr")
    return page


def label(page: Page) -> str:
    return page.locator("#current-label").text_content() or ""


class Browsers:
    """Separate browsers (cookie jars) for several staff at once; their JavaScript errors are
    collected and must be none."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.errors: list[str] = []

    def page(self) -> Page:
        context = self.browser.new_context(viewport={"width": 1280, "height": 1024},
                                           locale="es-PE")
        self.contexts.append(context)
        context.on("weberror", lambda error: self.errors.append(str(error.error)))
        return context.new_page()


@pytest.fixture
def browsers(browser: Browser, centre_factory: object) -> Iterator[Browsers]:
    """Closed before the centres stop (it depends on their factory), so no live stream is
    left open on a server that is shutting down."""
    made = Browsers(browser)
    yield made
    for context in made.contexts:
        context.close()
    assert made.errors == [], f"JavaScript errors on the pages: {made.errors}"


def test_two_asesores_pressing_call_next_at_the_same_moment_never_get_the_same_ticket(
        browsers: Browsers, centre: Centre):
    rounds = 15
    issue(centre, "RN", 2 * rounds + 2)
    for n in (1, 2):
        open_counter(centre, n)
    pages = [desk(browsers.page(), centre, agent(centre, f"asesor.{n}", "RENIEC"), n)
             for n in (1, 2)]
    seen: list[tuple[str, str]] = []
    for _ in range(rounds):
        for p in pages:
            expect(p.locator("#call-next")).to_be_enabled()
        at = pages[0].evaluate("Date.now() + 250")
        for p in pages:  # both clicks fire at the same wall-clock instant
            p.evaluate("t => setTimeout(() => document.getElementById('call-next').click(), "
                       "t - Date.now())", at)
        for p in pages:
            expect(p.locator("#current-status")).to_contain_text("Llamado")
        pair = (label(pages[0]), label(pages[1]))
        assert pair[0] != pair[1] and "—" not in pair
        seen.append(pair)
        for p in pages:
            p.click("#no-show")
        for p in pages:
            expect(p.locator("#current-label")).to_have_text("—")
    shown = [x for pair in seen for x in pair]
    assert len(set(shown)) == 2 * rounds
    called = events(centre, "ticket.called")
    assert len(called) == 2 * rounds
    assert len({e["ticket"] for e in called}) == 2 * rounds
    assert sorted(e["label"] for e in called) == sorted(shown)
    by_counter = {n: [e["label"] for e in called if e["counter"] == n] for n in (1, 2)}
    assert by_counter == {1: [a for a, _ in seen], 2: [b for _, b in seen]}


def test_a_full_attention_with_derivation_and_the_citizens_rating(
        browsers: Browsers, centre: Centre):
    [ticket] = issue(centre, "RN")
    open_counter(centre, 1, by="asesor.rn")
    open_counter(centre, 6, by="asesor.bn")  # ratings come from the módulo its asesor holds
    reniec = desk(browsers.page(), centre, agent(centre, "asesor.rn", "RENIEC"), 1)
    bn = desk(browsers.page(), centre, agent(centre, "asesor.bn", "BN"), 6)
    rating = bn.context.new_page()  # the módulo's second screen shares the asesor's session
    rating.goto(f"{centre.base}/counter/rating?counter=6")
    expect(rating.locator("#idle")).to_be_visible()

    reniec.click("#call-next")
    expect(reniec.locator("#current-label")).to_have_text(ticket["label"])
    reniec.click("#start")
    expect(reniec.locator("#current-status")).to_have_text("En atención")
    reniec.select_option("#transfer-service", str(service_of(centre, "BN")))
    reniec.select_option("#transfer-position", "front")
    reniec.click("#transfer")
    expect(reniec.locator("#current-label")).to_have_text("—")
    expect(reniec.locator("#message")).to_contain_text("derivado")
    expect(bn.locator('#queue-rows tr[data-queue="BN"] td').first).to_have_text("1")

    bn.keyboard.press("F2")
    expect(bn.locator("#current-label")).to_have_text(ticket["label"])
    bn.click("#start")
    expect(bn.locator("#current-status")).to_have_text("En atención")
    bn.check('input[name="outcome"][value="pending"]')
    bn.click("#finish")
    expect(bn.locator("#current-label")).to_have_text("—")

    expect(rating.locator("#ask")).to_be_visible()
    expect(rating.locator("#ask-label")).to_have_text(ticket["label"])
    assert serious_violations(rating) == []
    rating.click("#language")
    expect(rating.locator("#ask-question")).to_have_text("¿Imaynatataq yanaparqayku?")
    assert rating.evaluate("document.documentElement.lang") == "qu"
    rating.click(".face[data-score='5']")
    expect(rating.locator("#thanks")).to_be_visible()
    expect(bn.locator("#rating-status")).to_contain_text("5 (Muy bien)")

    detail = views.ticket_by_uid(centre.store, ticket["uid"])
    kinds = [e["kind"] for e in detail["history"]]
    assert kinds[1:] == ["ticket.called", "ticket.started", "ticket.transferred",
                         "ticket.called", "ticket.started", "ticket.finished", "ticket.rated"]
    transferred = events(centre, "ticket.transferred")[0]
    assert (transferred["to_queue"], transferred["position"]) == ("BN", "front")
    assert events(centre, "ticket.finished")[0]["outcome"] == "pending"
    assert centre.store.reader().execute("SELECT score FROM ratings").fetchone()[0] == 5


def test_the_next_step_of_a_visit_joins_its_queue_by_itself_when_the_asesor_finishes(
        page: Page, centre: Centre):
    [ticket] = issue(centre, "RN", visit=[service_of(centre, "BN")])
    open_counter(centre, 1)
    desk(page, centre, agent(centre, "asesor.rn", "RENIEC"), 1)
    page.click("#call-next")
    expect(page.locator("#current-label")).to_have_text(ticket["label"])
    page.click("#start")
    expect(page.locator("#current-status")).to_have_text("En atención")
    page.click("#finish")
    expect(page.locator("#message")).to_contain_text("finalizada")
    assert views.ticket_by_uid(centre.store, ticket["uid"])["status"] == "waiting"
    assert views.ticket_by_uid(centre.store, ticket["uid"])["queue"] == "BN"


def test_a_pause_shows_on_the_floor_and_live_on_another_desk(
        browsers: Browsers, centre: Centre):
    open_counter(centre, 1)
    asesor = desk(browsers.page(), centre, agent(centre, "asesor.rn", "RENIEC"), 1)
    watcher = desk(browsers.page(), centre, "supervisor", 1)
    expect(watcher.locator("#counter-state")).to_have_text("Abierto")
    asesor.select_option("#pause-reason", "entity_system_down")
    asesor.click("#pause")
    expect(asesor.locator("#counter-state")).to_have_text("En pausa: Sistema de la entidad caído")
    expect(watcher.locator("#counter-state")).to_have_text(
        "En pausa: Sistema de la entidad caído")
    expect(watcher.locator("#call-next")).to_be_disabled()
    mine = next(c for c in views.counter_views(centre.store) if c["id"] == 1)
    assert (mine["status"], mine["reason"]) == ("paused", "entity_system_down")
    assert next(c for c in views.snapshot(centre.store)["counters"]
                if c["id"] == 1)["reason"] == "entity_system_down"
    asesor.click("#resume")
    expect(watcher.locator("#counter-state")).to_have_text("Abierto")
    expect(watcher.locator("#call-next")).to_be_enabled()


def test_keyboard_shortcuts_call_recall_start_and_finish(page: Page, centre: Centre):
    [ticket] = issue(centre, "RN")
    open_counter(centre, 1)
    desk(page, centre, agent(centre, "asesor.rn", "RENIEC"), 1)
    expect(page.locator(".shortcuts")).to_contain_text("Llamar siguiente")

    def press(key: str, action: str) -> None:
        # a key, like a click, is ignored while the previous action's answer is on its way
        # (the live stream may show the change before that answer arrives)
        expect(page.locator(f'[data-action="{action}"]')).to_be_enabled()
        page.keyboard.press(key)

    press("F2", "call-next")
    expect(page.locator("#current-label")).to_have_text(ticket["label"])
    press("F3", "recall")
    expect(page.locator("#current-recalls")).to_have_text("Rellamadas: 1")
    press("F4", "start")
    expect(page.locator("#current-status")).to_have_text("En atención")
    press("F8", "finish")
    expect(page.locator("#current-label")).to_have_text("—")
    kinds = [e["kind"] for e in views.ticket_by_uid(centre.store, ticket["uid"])["history"]]
    assert kinds[1:] == ["ticket.called", "ticket.recalled", "ticket.started", "ticket.finished"]


def test_a_double_click_on_call_next_calls_once(page: Page, centre: Centre):
    issue(centre, "RN", 3)
    open_counter(centre, 1)
    desk(page, centre, agent(centre, "asesor.rn", "RENIEC"), 1)
    sent = []
    page.on("request", lambda r: sent.append(r) if r.url.endswith("/call-next") else None)
    page.dblclick("#call-next")
    expect(page.locator("#current-status")).to_contain_text("Llamado")
    for request in sent:  # every request the two clicks made has its answer
        assert request.response() is not None
    assert len(sent) >= 1
    assert len(events(centre, "ticket.called")) == 1
    expect(page.locator("#error")).to_be_hidden()


def test_a_stale_desk_gets_a_clear_message_when_the_engine_refuses_a_second_call(
        page: Page, centre: Centre):
    issue(centre, "RN", 2)
    open_counter(centre, 1)
    page.route("**/api/v1/stream", lambda route: route.abort())  # no live updates
    desk(page, centre, agent(centre, "asesor.rn", "RENIEC"), 1)
    first = calls.call_next(centre.store, 1, actor="button:1")  # behind the page's back
    assert first is not None
    page.click("#call-next")
    expect(page.locator("#error")).to_contain_text(f"aún tiene el turno {first['label']}")
    expect(page.locator("#current-label")).to_have_text(first["label"])
    assert len(events(centre, "ticket.called")) == 1


def test_an_asesor_chooses_only_among_the_modulos_of_the_entity(page: Page, centre: Centre):
    agent(centre, "asesor.bn", "BN")
    desk(page, centre, "asesor.bn")
    expect(page.locator("#choose")).to_be_visible()
    options = page.locator("#choose-counter option").all_text_contents()
    assert [o.split(" · ")[0] for o in options] == [f"Módulo {n}" for n in (6, 7, 8, 9)]
    page.select_option("#choose-counter", "7")
    page.click("#choose-form button[type=submit]")
    expect(page.locator("#desk-title")).to_contain_text("Módulo 7")
    expect(page.locator("#counter-state")).to_have_text("Cerrado")
    page.click("#open")
    expect(page.locator("#counter-state")).to_have_text("Abierto")
    page.goto(f"{centre.base}/counter?counter=1")  # RENIEC's: not for this asesor
    expect(page.locator("#choose-error")).to_contain_text("no es de su entidad")


def test_the_automatic_no_show_frees_the_modulo_and_the_desk_shows_it(centre_factory,
                                                                         page: Page):
    centre = centre_factory(counter={"auto_no_show_minutes": 3})
    [ticket] = issue(centre, "RN")
    open_counter(centre, 1)
    desk(page, centre, agent(centre, "asesor.rn", "RENIEC"), 1)
    page.click("#call-next")
    expect(page.locator("#current-label")).to_have_text(ticket["label"])
    expect(page.locator("#auto-no-show")).to_contain_text("3 min")
    centre.clock.advance(minutes=4)
    marked = parts.of(centre.app).desk.auto_no_show.check()
    assert [m["label"] for m in marked] == [ticket["label"]]
    expect(page.locator("#current-label")).to_have_text("—")
    assert events(centre, "ticket.no_show")[0]["auto"] == "minutes"


def test_the_desk_and_the_rating_screen_have_no_serious_accessibility_violations(
        page: Page, centre: Centre):
    issue(centre, "RN")
    open_counter(centre, 1)
    agent(centre, "asesor.rn", "RENIEC")
    page.goto(f"{centre.base}/counter?counter=1")
    page.wait_for_selector("#login:not([hidden])")
    assert serious_violations(page) == []
    desk(page, centre, "asesor.rn", 1)
    page.click("#call-next")
    expect(page.locator("#current-status")).to_contain_text("Llamado")
    assert serious_violations(page) == []
    rating = page.context.new_page()
    rating.goto(f"{centre.base}/counter/rating?counter=1")
    expect(rating.locator("#idle")).to_be_visible()
    assert serious_violations(rating) == []


def test_a_call_button_press_and_an_unplugged_sign_show_live_on_the_desk(
        centre_factory, page: Page, tmp_path):
    button, sign = FakePort(tmp_path / "tty-button"), FakePort(tmp_path / "tty-sign")
    try:
        def devices(data: dict) -> None:
            data["desk_devices"] = [
                {"counter": 1, "kind": "button", "port": str(button.path)},
                {"counter": 1, "kind": "sign", "port": str(sign.path)}]
        centre = centre_factory(patch=devices)
        [ticket] = issue(centre, "RN")
        open_counter(centre, 1)
        desk(page, centre, agent(centre, "asesor.rn", "RENIEC"), 1)
        expect(page.locator("#devices")).to_have_text(
            "Botón de llamada: conectado · Letrero numérico: conectado")
        button.send(b"N\n")
        expect(page.locator("#current-label")).to_have_text(ticket["label"])
        assert wait_for(lambda: sign.received.endswith(f"{ticket['label']}\r\n".encode()))
        sign.unplug()
        expect(page.locator("#devices")).to_contain_text("Letrero numérico: desconectado")
        sign.plug()
        expect(page.locator("#devices")).to_contain_text("Letrero numérico: conectado")
        assert wait_for(lambda: sign.received.endswith(f"{ticket['label']}\r\n".encode()))
    finally:
        button.close()
        sign.close()
