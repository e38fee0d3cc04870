"""The waiting-room TV in Chromium: calls appear large and in the history, preferential calls
stand out, the filter, the message band, the idle screen, recovery after a server restart,
labels and módulos never cut at 720p and 1080p, accessibility, and the announcement queue
played strictly in call order without overlap."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from harness.live_server import free_port
from tests.browser.conftest import MORNING, Centre, demo_with, serious_violations
from tests.wsgi_thread import ServedApp
from turnero import accounts, calls, day, floor, messages, tickets
from turnero.clock import ManualClock
from turnero.errors import Conflict
from turnero.store import Store

VIEWPORTS = {"720p": (1280, 720), "1080p": (1920, 1080)}

# A stub of HTMLMediaElement.play/pause: each clip "plays" for 15 ms, and every start and end
# is recorded with how many clips were playing at that moment, so the test sees the page's
# queue exactly as a speaker would hear it, 100 times faster.
FAST_AUDIO = """
(() => {
  window.__clips = []; let active = 0; window.__maxActive = 0;
  Object.defineProperty(navigator, "getAutoplayPolicy", { value: () => "allowed" });
  HTMLMediaElement.prototype.play = function () {
    const el = this, entry = { src: el.src, start: performance.now(), end: null };
    active += 1; window.__maxActive = Math.max(window.__maxActive, active);
    window.__clips.push(entry);
    setTimeout(() => { active -= 1; entry.end = performance.now();
                       el.dispatchEvent(new Event("ended")); }, 15);
    return Promise.resolve();
  };
  HTMLMediaElement.prototype.pause = function () {};
})();
"""

# Autoplay refused until the page has been clicked, as Chromium does without the TV flag.
BLOCKED_AUDIO = """
(() => {
  window.__played = []; window.__clicked = false;
  Object.defineProperty(navigator, "getAutoplayPolicy", { value: () => "allowed" });
  document.addEventListener("click", () => { window.__clicked = true; }, true);
  HTMLMediaElement.prototype.play = function () {
    if (!window.__clicked) return Promise.reject(new DOMException("blocked", "NotAllowedError"));
    const el = this; window.__played.push(el.src);
    setTimeout(() => el.dispatchEvent(new Event("ended")), 5);
    return Promise.resolve();
  };
  HTMLMediaElement.prototype.pause = function () {};
})();
"""


# ----------------------------------------------------------------------------- helpers

def service_of(centre: Centre, queue: str) -> int:
    return next(s.id for s in centre.settings.services if s.queue == queue)


def counters_of(centre: Centre, entity: str) -> list[int]:
    return [c.number for c in centre.settings.counters if c.entity == entity]


def call(centre: Centre, queue: str, counter: int, **issue: Any) -> dict[str, Any]:
    """Issue a ticket in ``queue`` and call it at ``counter`` (opened if needed)."""
    store = centre.store
    ticket, _ = tickets.issue_ticket(store, service_id=service_of(centre, queue),
                                     channel="reception", **issue)
    with contextlib.suppress(Conflict):  # already open
        floor.change_counter(store, counter, "open", actor="asesor")
    return calls.call_ticket(store, counter, ticket["uid"], actor="asesor")


def finish(store: Store, counter: int) -> None:
    calls.start(store, counter, actor="asesor")
    calls.finish(store, counter, actor="asesor")


def queue_of(centre: Centre, entity: str) -> str:
    return next(q.code for q in centre.settings.queues if q.entity == entity)


def open_display(page: Page, base: str, token: str, query: str = "") -> None:
    page.goto(f"{base}/display/sala-1{query}#device={token}")
    page.wait_for_function("() => Number(document.body.dataset.snapshots || 0) >= 1")


@pytest.fixture
def tv(centre: Centre) -> str:
    return accounts.enrol_device(centre.store, "tv-1", "display")


def history(page: Page) -> list[str]:
    return page.locator("#history-rows tr td.label-cell").evaluate_all(
        "cells => cells.map(c => c.firstChild.textContent)")


# ----------------------------------------------------------------------------- calls

def test_a_call_made_at_a_modulo_appears_large_on_the_display(page: Page, centre: Centre,
                                                              tv: str):
    open_display(page, centre.base, tv)
    expect(page.locator("#idle")).to_be_visible()  # nothing called yet
    counter = counters_of(centre, "RENIEC")[0]
    called = call(centre, "RN", counter)
    expect(page.locator("#now-label")).to_have_text(called["label"])
    expect(page.locator("#now-counter")).to_have_text(str(counter))
    expect(page.locator("#now-entity")).to_have_text("RENIEC")
    expect(page.locator("#now")).to_have_class("now flash")
    expect(page.locator("#idle")).to_be_hidden()
    expect(page.locator("#status")).to_be_hidden()


def test_a_call_made_through_the_api_appears_on_the_display(page: Page, centre: Centre,
                                                            tv: str):
    counter = counters_of(centre, "BN")[0]
    accounts.create_user(centre.store, "asesor.bn", "agent", "4321",
                         security=centre.settings.security, entity="BN")
    tickets.issue_ticket(centre.store, service_id=service_of(centre, "BN"), channel="kiosk")
    open_display(page, centre.base, tv)
    api = page.context.request
    login = api.post(f"{centre.base}/api/v1/auth/login",
                     data={"username": "asesor.bn", "password": "4321"})
    csrf = {"X-CSRF-Token": login.json()["csrf_token"]}
    assert api.post(f"{centre.base}/api/v1/counters/{counter}/open", headers=csrf,
                    data={}).status == 200
    called = api.post(f"{centre.base}/api/v1/counters/{counter}/call-next", headers=csrf,
                      data={}).json()
    expect(page.locator("#now-label")).to_have_text(called["label"])
    expect(page.locator("#now-counter")).to_have_text(str(counter))


def test_the_history_keeps_calls_newest_first_and_a_recall_moves_a_ticket_up(
        page: Page, centre: Centre, tv: str):
    open_display(page, centre.base, tv)
    rn, bn = counters_of(centre, "RENIEC")[:3], counters_of(centre, "BN")[:2]
    order = [call(centre, "RN", rn[0]), call(centre, "BN", bn[0]), call(centre, "RN", rn[1]),
             call(centre, "BN", bn[1]), call(centre, "RN", rn[2])]
    labels = [t["label"] for t in order]
    expect(page.locator("#now-label")).to_have_text(labels[-1])
    expect(page.locator("#history-rows tr")).to_have_count(4)
    assert history(page) == labels[-2::-1]
    calls.recall(centre.store, bn[0], actor="asesor")  # the second ticket is called again
    expect(page.locator("#now-label")).to_have_text(labels[1])
    expect(page.locator("#now-recall")).to_be_visible()
    assert history(page) == [labels[4], labels[3], labels[2], labels[0]]


def test_the_history_shows_at_most_the_configured_rows(page: Page, centre: Centre, tv: str):
    open_display(page, centre.base, tv, "?rows=6")
    numbers = counters_of(centre, "RENIEC") + counters_of(centre, "BN") + \
        counters_of(centre, "SUNAT")
    for n, counter in enumerate(numbers[:9]):
        queue = {"RENIEC": "RN", "BN": "BN", "SUNAT": "ST"}[
            next(c.entity for c in centre.settings.counters if c.number == counter)]
        last = call(centre, queue, counter)
        if n < 8:
            finish(centre.store, counter)
    expect(page.locator("#now-label")).to_have_text(last["label"])
    expect(page.locator("#history-rows tr")).to_have_count(6)


def test_a_preferential_call_has_its_own_colour_and_a_mark(page: Page, centre: Centre,
                                                           tv: str):
    open_display(page, centre.base, tv)
    counters = counters_of(centre, "RENIEC")
    normal = call(centre, "RN", counters[0])
    call(centre, "RN", counters[1], priority="gestante")
    expect(page.locator("#now-preferential")).to_be_visible()
    colour = page.locator("#now-label").evaluate("e => getComputedStyle(e).color")
    assert colour == "rgb(255, 210, 63)"
    call(centre, "RN", counters[2])
    expect(page.locator("#now-preferential")).to_be_hidden()
    expect(page.locator("#history-rows tr.preferential")).to_have_count(1)
    expect(page.locator("#history-rows tr.preferential .visually-hidden")).to_have_text(
        "Preferente")
    assert normal["label"] in history(page)


def test_a_tv_with_an_entity_filter_shows_only_those_entities(page: Page, centre: Centre,
                                                              tv: str):
    open_display(page, centre.base, tv, "?entities=BN")
    bn_counter = counters_of(centre, "BN")[0]
    bn = call(centre, "BN", bn_counter)
    expect(page.locator("#now-label")).to_have_text(bn["label"])
    rn = call(centre, "RN", counters_of(centre, "RENIEC")[0])
    finish(centre.store, bn_counter)
    later = call(centre, "BN", bn_counter)  # the stream keeps order: RN's call came first
    expect(page.locator("#now-label")).to_have_text(later["label"])
    assert rn["label"] not in history(page)
    assert history(page) == [bn["label"]]


def test_a_tv_with_a_zone_filter_shows_only_calls_to_that_zone_s_modulos(
        page: Page, centre: Centre, tv: str):
    zone_of = {c.number: c.zone for c in centre.settings.counters}
    downstairs = [n for n in counters_of(centre, "RENIEC") if zone_of[n] == "piso-1"]
    upstairs = [n for n in counters_of(centre, "ESSALUD") if zone_of[n] == "piso-2"]
    assert downstairs and upstairs
    open_display(page, centre.base, tv, "?zone=piso-2")
    up = call(centre, queue_of(centre, "ESSALUD"), upstairs[0])
    expect(page.locator("#now-label")).to_have_text(up["label"])
    down = call(centre, "RN", downstairs[0])
    finish(centre.store, upstairs[0])
    later = call(centre, queue_of(centre, "ESSALUD"), upstairs[0])  # after RN's, in order
    expect(page.locator("#now-label")).to_have_text(later["label"])
    assert down["label"] not in history(page)
    assert history(page) == [up["label"]]
    page.reload()  # the snapshot after a reconnection is filtered the same way
    expect(page.locator("#now-label")).to_have_text(later["label"])
    assert down["label"] not in history(page)


def test_the_message_band_shows_a_broadcast_until_it_is_cleared(page: Page, centre: Centre,
                                                                tv: str):
    messages.broadcast(centre.store, "El sistema de SUNAT está caído; sus turnos se "
                                     "mantienen.", actor="supervisor")
    open_display(page, centre.base, tv)  # from the snapshot
    expect(page.locator("#band-text")).to_contain_text("SUNAT está caído")
    messages.broadcast(centre.store, "Hoy se atiende hasta las 13:30.", actor="supervisor")
    expect(page.locator("#band-text")).to_have_text("Hoy se atiende hasta las 13:30.")
    messages.broadcast(centre.store, "", actor="supervisor")
    expect(page.locator("#band")).to_be_hidden()


def test_the_idle_screen_welcomes_and_still_lists_the_recent_calls(page: Page, centre: Centre,
                                                                   tv: str):
    open_display(page, centre.base, tv, "?idle=2")
    counters = counters_of(centre, "RENIEC")
    first = call(centre, "RN", counters[0])
    called = call(centre, "RN", counters[1])
    expect(page.locator("#now-label")).to_have_text(called["label"])
    expect(page.locator("#idle")).to_be_hidden()
    centre.clock.advance(minutes=3)
    page.evaluate("macDisplay.syncClock()")
    expect(page.locator("#idle")).to_be_visible()
    expect(page.locator("#now")).to_be_hidden()
    expect(page.locator("#idle h1")).to_contain_text("Bienvenidos")
    expect(page.locator("#history")).to_be_visible()  # the recent calls are not hidden
    assert history(page) == [called["label"], first["label"]]
    call(centre, "BN", counters_of(centre, "BN")[0])
    expect(page.locator("#idle")).to_be_hidden()


def test_spanish_with_quechua_subtitles(page: Page, centre: Centre, tv: str):
    open_display(page, centre.base, tv, "?lang=es&sub=qu")
    expect(page.locator("#h-history .main-text")).to_have_text("Últimos llamados")
    expect(page.locator("#h-history .sub")).to_have_text("Qhipa waqyasqakuna")
    assert page.locator("#h-history .sub").get_attribute("lang") == "qu"


def test_an_unenrolled_screen_says_so(page: Page, centre: Centre):
    page.goto(f"{centre.base}/display/sala-1")
    expect(page.locator("#enrol")).to_be_visible(timeout=20_000)
    expect(page.locator("#status")).to_be_visible()


def test_the_token_leaves_the_address_and_is_kept_in_an_httponly_cookie(
        page: Page, centre: Centre, tv: str):
    open_display(page, centre.base, tv)
    assert "device=" not in page.url
    [cookie] = [c for c in page.context.cookies() if c["name"] == "mt_device"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""


# ----------------------------------------------------------------------------- restart

@contextmanager
def served(directory: Path, settings: Any, clock: ManualClock, port: int) -> Iterator[Store]:
    """A centre on a fixed port; on exit the server stops with its live streams cut, as a
    restart of the service would."""
    store = open_store(settings, directory, clock=clock)
    app = create_app(settings, store, SSE_HEARTBEAT_SECONDS=0.5)
    served = ServedApp(app, port=port, threads=8)
    try:
        yield store
    finally:
        parts.of(app).announcing.stop()
        served.stop()
        parts.of(app).printing.stop()
        parts.of(app).desk.stop()
        store.close()


def test_after_a_server_restart_the_page_recovers_and_shows_the_true_state(
        browser: Browser, tmp_path: Path):
    settings, clock, port = demo_with(), ManualClock(MORNING), free_port()
    first = open_store(settings, tmp_path, clock=clock)
    day.open_day(first, actor="test")
    token = accounts.enrol_device(first, "tv-1", "display")
    first.close()
    rn = [c.number for c in settings.counters if c.entity == "RENIEC"]
    service = next(s.id for s in settings.services if s.queue == "RN")

    def call_at(store: Store, counter: int) -> str:
        ticket, _ = tickets.issue_ticket(store, service_id=service, channel="reception")
        floor.change_counter(store, counter, "open", actor="asesor")
        return calls.call_ticket(store, counter, ticket["uid"])["label"]

    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    try:
        with served(tmp_path, settings, clock, port) as store:
            open_display(page, f"http://127.0.0.1:{port}", token)
            before = call_at(store, rn[0])
            expect(page.locator("#now-label")).to_have_text(before)
        expect(page.locator("#status")).to_be_visible(timeout=20_000)  # "Reconectando…"
        down = open_store(settings, tmp_path, clock=clock)  # a call while the page is away
        during = call_at(down, rn[1])
        down.close()
        with served(tmp_path, settings, clock, port):
            expect(page.locator("#status")).to_be_hidden(timeout=15_000)
            expect(page.locator("#now-label")).to_have_text(during)
            assert history(page) == [before]
            assert int(page.evaluate("document.body.dataset.snapshots")) >= 2
    finally:
        context.close()


# ----------------------------------------------------------------------------- layout

def wide_centre(centre_factory: Callable[..., Centre]) -> Centre:
    """The widest things a TV must show: a 3-letter prefix, 4-digit numbers, 3-digit
    módulos."""
    def patch(data: dict) -> None:
        for queue in data["queues"]:
            if queue["code"] == "RN":
                queue["prefix"], queue["number_start"] = "MWM", 8888
        for number in (888, 999, 777, 666, 555, 444, 333, 222, 111):
            data["counters"].append({"number": number, "entity": "RENIEC", "queues": ["RN"]})
    return centre_factory(patch=patch)


@pytest.mark.parametrize("size", sorted(VIEWPORTS))
def test_four_digit_labels_and_three_digit_modulos_render_whole(
        browser: Browser, centre_factory: Callable[..., Centre], size: str):
    centre = wide_centre(centre_factory)
    token = accounts.enrol_device(centre.store, "tv-1", "display")
    width, height = VIEWPORTS[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    try:
        open_display(page, centre.base, token, "?lang=es&sub=qu")
        labels = [call(centre, "RN", n, priority="gestante" if n == 999 else None)["label"]
                  for n in (888, 999, 777, 666, 555, 444, 333, 222, 111)]
        calls.recall(centre.store, 999, actor="asesor")  # preferential and recall marks too
        messages.broadcast(centre.store, "Aviso: " + "mantenga su ticket a la mano. " * 5)
        expect(page.locator("#now-label")).to_have_text(labels[1])
        expect(page.locator("#history-rows tr")).to_have_count(8)
        assert labels[0] == "MWM-8888" and labels[-1] == "MWM-8896"
        clipped = page.evaluate("""() => {
          const bad = [];
          const inside = (el, box) => { const r = el.getBoundingClientRect();
            return r.left >= box.left - 0.5 && r.right <= box.right + 0.5 &&
                   r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5; };
          const view = { left: 0, top: 0, right: innerWidth, bottom: innerHeight };
          for (const el of document.querySelectorAll(
              "#now-label, #now-counter, td.label-cell, td.counter-cell, #now-entity")) {
            const name = [el.id || el.className, el.textContent];
            if (el.scrollWidth > el.clientWidth) bad.push(["scroll", ...name]);
            const section = el.closest("section");
            if (!inside(el, section.getBoundingClientRect()) || !inside(el, view))
              bad.push(["outside", ...name]);
          }
          for (const id of ["history", "now", "band"]) {
            const el = document.getElementById(id);
            if (el.scrollWidth > el.clientWidth) bad.push(["scroll", id]);
          }
          return bad; }""")
        assert clipped == []
        # Readable from the back of the room: the big label is at least 12% of the height.
        size = page.locator("#now-label").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
        assert size >= 0.12 * height
        assert page.locator("#now-label").text_content() == labels[1]
        assert page.locator("#now-counter").text_content() == "999"
        page.screenshot(path=str(Path(centre.store.path).parent / f"display-{height}.png"))
    finally:
        context.close()


def test_the_display_has_no_serious_accessibility_violations(page: Page, centre: Centre,
                                                             tv: str):
    page.set_viewport_size({"width": 1920, "height": 1080})
    open_display(page, centre.base, tv, "?sub=qu")
    assert serious_violations(page) == []  # idle screen
    counters = counters_of(centre, "RENIEC")
    for n, counter in enumerate(counters[:4]):
        call(centre, "RN", counter, priority="adulto_mayor" if n == 1 else None)
    messages.broadcast(centre.store, "Bienvenidos al Centro MAC.", actor="supervisor")
    expect(page.locator("#band")).to_be_visible()
    page.wait_for_function("() => document.getAnimations().length === 0",
                           timeout=30_000)  # after the arrival flash
    page.evaluate("document.getElementById('sound').hidden = false")
    assert serious_violations(page) == []


# ----------------------------------------------------------------------------- sound

def many_counters(centre: Centre, count: int) -> list[tuple[str, int]]:
    queue_of = {q.entity: q.code for q in centre.settings.queues}
    pairs = [(queue_of[c.entity], c.number) for c in centre.settings.counters
             if c.entity in queue_of]
    return pairs[:count]


def test_a_burst_the_screen_can_list_is_played_in_call_order_without_overlap(
        page: Page, centre_factory: Callable[..., Centre]):
    # A bound and a second-language rule that let every clip be said (the stub plays each
    # clip in 15 ms, while the planner counts their real lengths), and nine calls: the one
    # being said and the eight the screen lists (more are dropped, see test_opening_burst).
    centre = centre_factory(display={"voice_max_delay_seconds": 600})
    tv = accounts.enrol_device(centre.store, "tv-1", "display")
    page.add_init_script(FAST_AUDIO)
    open_display(page, centre.base, tv, "?voice=es,qu&second=always")
    pairs = many_counters(centre, 9)
    assert len(pairs) == 9
    ready = []
    for queue, counter in pairs:
        ticket, _ = tickets.issue_ticket(centre.store, service_id=service_of(centre, queue),
                                         channel="reception")
        floor.change_counter(centre.store, counter, "open", actor="asesor")
        ready.append((ticket, counter))
    order = [calls.call_ticket(centre.store, counter, ticket["uid"])["label"]
             for ticket, counter in ready]
    page.wait_for_function("() => window.macSound.log.length >= 27 && !window.macSound.playing",
                           timeout=30_000)
    log = page.evaluate("window.macSound.log")
    clips = page.evaluate("window.__clips")
    assert page.evaluate("window.__maxActive") == 1
    assert len(log) == 27 and len(clips) == 27
    played = [entry["label"] for entry in log[::3]]
    assert played == order
    for n in range(9):
        chime, es, qu = log[3 * n: 3 * n + 3]
        assert chime["clip"].endswith("/display/audio/chime.wav")
        assert "/display/audio/es-" in es["clip"] and "/display/audio/qu-" in qu["clip"]
        assert {chime["label"], es["label"], qu["label"]} == {order[n]}
        assert not any(e.get("error") for e in (chime, es, qu))
    for before, after in zip(clips, clips[1:], strict=False):
        assert after["start"] >= before["end"]  # strictly one after another


def test_when_autoplay_is_blocked_a_large_button_turns_sound_on_and_nothing_is_lost(
        page: Page, centre: Centre, tv: str):
    page.add_init_script(BLOCKED_AUDIO)
    open_display(page, centre.base, tv, "?voice=es")
    first = call(centre, "RN", counters_of(centre, "RENIEC")[0])
    second = call(centre, "BN", counters_of(centre, "BN")[0])
    button = page.locator("#enable-sound")
    expect(button).to_be_visible()
    expect(button).to_have_text("Activar sonido")
    page.wait_for_function("() => window.macSound.queue.length === 2")
    box = button.bounding_box()
    assert box is not None and box["height"] >= 60
    button.click()
    page.wait_for_function("() => window.macSound.log.length >= 4 && !window.macSound.playing")
    labels = [e["label"] for e in page.evaluate("window.macSound.log")]
    assert labels == [first["label"]] * 2 + [second["label"]] * 2
    expect(page.locator("#sound")).to_be_hidden()


def test_real_audio_files_are_served_and_played_chime_first(page: Page, centre: Centre,
                                                            tv: str):
    page.add_init_script(
        "Object.defineProperty(navigator, 'getAutoplayPolicy', {value: () => 'allowed'})")
    open_display(page, centre.base, tv)
    called = call(centre, "RN", counters_of(centre, "RENIEC")[0])
    page.wait_for_function("() => window.macSound.log.length >= 3", timeout=20_000)
    log = page.evaluate("window.macSound.log")
    assert [e["label"] for e in log] == [called["label"]] * 3
    assert [e.get("error") for e in log] == [None, None, None], log
    assert log[0]["end"] - log[0]["start"] > 500  # the 0.7 s chime really played
    for clip in log:
        response = page.request.get(centre.base + clip["clip"])
        assert response.status == 200 and response.headers["content-type"] == "audio/wav"
