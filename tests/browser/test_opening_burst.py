"""The opening rush on a TV with voice: at 08:30, 60 módulos call within a few seconds. The
voice stays within the centre's bound behind the screen (the default, 30 s), the last call
is said, every call said
is on the screen while it is said, the call being said is highlighted, and the rest are
dropped, never said late."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import Centre, serious_violations
from turnero import accounts, calls, floor, tickets

OPENING = datetime(2026, 11, 27, 13, 30, tzinfo=UTC)  # 08:30 in Lima
# Seconds the voice may be behind the screen: the product's default, the promise itself. A
# shorter bound (8 s, then 15 s) kept the test quick but on a loaded 2-core machine left too
# little room for the players' start-up between clips.
BOUND = 30
MODULOS = range(201, 261)
ALLOWED = "Object.defineProperty(navigator, 'getAutoplayPolicy', {value: () => 'allowed'})"


def sixty_modulos(data: dict[str, Any]) -> None:
    for number in MODULOS:
        data["counters"].append({"number": number, "entity": "RENIEC", "queues": ["RN"]})


def test_sixty_calls_at_opening_are_voiced_within_the_bound_and_never_off_screen(
        page: Page, centre_factory: Callable[..., Centre]):
    centre = centre_factory(clock_at=OPENING, patch=sixty_modulos,
                            display={"voice_max_delay_seconds": BOUND})
    store = centre.store
    token = accounts.enrol_device(store, "tv-1", "display")
    service = next(s.id for s in centre.settings.services if s.queue == "RN")
    waiting = [tickets.issue_ticket(store, service_id=service, channel="kiosk")[0]
               for _ in MODULOS]
    for number in MODULOS:
        floor.change_counter(store, number, "open", actor="asesor")
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.add_init_script(ALLOWED)  # a TV started with autoplay allowed; real audio plays
    page.goto(f"{centre.base}/display/sala-1?voice=es,qu#device={token}")
    page.wait_for_function("() => Number(document.body.dataset.snapshots || 0) >= 1")

    called = [calls.call_ticket(store, number, ticket["uid"], actor="asesor")["label"]
              for number, ticket in zip(MODULOS, waiting, strict=True)]

    expect(page.locator("#now-label")).to_have_text(called[-1])
    speaking = page.locator("#now.speaking, #history-rows tr.speaking")
    expect(speaking).to_have_count(1)  # the call being said stands out
    assert serious_violations(page) == []
    page.wait_for_function(
        """n => { const s = window.macSound;
                  const done = new Set([...s.log.filter(e => e.index === 0).map(e => e.seq),
                                        ...s.dropped.map(e => e.seq),
                                        ...s.merged.map(e => e.seq)]);
                  return done.size >= n && !s.queue.length && !s.playing; }""",
        arg=len(called), timeout=60_000)
    expect(speaking).to_have_count(0)

    log, dropped = page.evaluate("[window.macSound.log, window.macSound.dropped]")
    started = [entry for entry in log if entry["index"] == 0]
    said = [entry["label"] for entry in started]
    assert said[-1] == called[-1]  # the last call is said, not dropped
    assert said == [label for label in called if label in said]  # in call order
    late = [(e["label"], e["start"] - e["made"]) for e in started
            if e["start"] - e["made"] > BOUND * 1000]
    assert late == []  # each said no later than the bound after it came on screen
    assert [e["label"] for e in log if not e["onScreen"]] == []
    assert not any(e.get("error") for e in log)
    assert len(said) + len(dropped) == len(called) and dropped
    assert {e["label"] for e in dropped}.isdisjoint(said)
