"""The kiosk finds any trámite from its first screen (synonyms, no accents, a typo), keeps
the results in sight with its keyboard open, fits every screen size, and speaks one
language at a time on the ticket screen, which it soon clears for the next citizen."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import Page, expect

from bench.day_plan import _extra_entity
from tests.browser.conftest import Centre, open_kiosk, serious_violations

I18N = Path(__file__).parent.parent.parent / "kiosk" / "i18n"
SIZES = ({"width": 1366, "height": 768}, {"width": 1080, "height": 1920},
         {"width": 390, "height": 844})
# 08:16 in Lima on a Friday: the jornada is open, no módulo is open yet.
BEFORE_OPENING = datetime(2026, 11, 27, 13, 16, tzinfo=UTC)


def with_poder_judicial(data: dict) -> None:
    """The demo centre with the Poder Judicial and its certificates of antecedentes."""
    entity, queue, services = _extra_entity()
    data["entities"].append(entity)
    data["queues"].append(queue)
    data["services"] += services
    data["counters"].append({"number": 99, "entity": entity["code"],
                             "queues": [queue["code"]]})


def search(page: Page, text: str) -> None:
    """Type on the search screen's own keyboard, after clearing what was there."""
    while page.input_value("#search-text"):
        page.click("#search-letters [data-key=del]")
    for ch in text.upper():
        page.click(f"#search-letters [data-key={'space' if ch == ' ' else ch}]")


def first_result(page: Page):
    return page.locator("#search-results button").first


def no_sideways_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_the_first_screen_finds_any_tramite_by_synonym_without_accents_or_with_a_typo(
        centre_factory, page: Page):
    centre = centre_factory(patch=with_poder_judicial)
    open_kiosk(page, centre)
    assert page.locator("#entities button").first.get_attribute("data-entity") == "RENIEC"
    page.click("#search-open")
    expect(page.locator("#s-search")).to_be_visible()
    search(page, "brevete")
    expect(first_result(page)).to_contain_text("licencia de conducir")
    expect(first_result(page)).to_contain_text("MTC")
    search(page, "antecedentes")
    expect(page.locator("#search-results")).to_contain_text("Antecedentes Penales")
    search(page, "inscripcion ruc")
    expect(first_result(page)).to_contain_text("Inscripción al RUC")
    search(page, "pasaprte")                      # one letter missing
    expect(first_result(page)).to_contain_text("pasaporte")
    assert serious_violations(page) == []
    first_result(page).click()
    expect(page.locator("#s-category")).to_be_visible()
    page.click("#s-category [data-action=services]")
    expect(page.locator("#s-search")).to_be_visible()
    expect(page.locator("#search-text")).to_have_value("PASAPRTE")
    first_result(page).click()
    page.click("[data-category=none]")
    page.click("#skip-document")
    expect(page.locator("#ticket-label")).to_have_text("MG-001")


def test_results_stay_in_sight_with_the_keyboard_open_and_no_screen_scrolls_sideways(
        page: Page, centre: Centre):
    open_kiosk(page, centre)
    for size in SIZES:
        page.set_viewport_size(size)
        assert no_sideways_scroll(page), size
        page.click("#search-open")
        search(page, "licencia")
        expect(page.locator("#search-results button").nth(2)).to_be_attached()
        assert no_sideways_scroll(page), size
        boxes = page.evaluate("""() => {
            const box = (el) => el.getBoundingClientRect().toJSON();
            const area = box(document.querySelector('.search-results'));
            const whole = [...document.querySelectorAll('#search-results button')].map(box)
              .filter((r) => r.top >= area.top && r.bottom <= area.bottom);
            return {area, whole: whole.length, height: innerHeight, width: innerWidth,
                    keys: box(document.getElementById('search-letters'))};
        }""")
        area, keys = boxes["area"], boxes["keys"]
        assert keys["bottom"] <= boxes["height"] and keys["right"] <= boxes["width"], size
        assert area["bottom"] <= boxes["height"], size
        # results above the keyboard (portrait) or beside it (landscape), never under it
        assert area["bottom"] <= keys["top"] or area["right"] <= keys["left"], size
        assert boxes["whole"] >= (3 if size["width"] > 600 else 1), size
        page.click("#s-search [data-action=home]")
        page.click("[data-entity=RENIEC]")
        page.click("#letters [data-key=D]")
        assert no_sideways_scroll(page), size
        page.locator("#services button").first.click()
        assert no_sideways_scroll(page), size
        page.click("[data-category=none]")
        assert no_sideways_scroll(page), size
        page.click("#skip-document")
        expect(page.locator("#ticket-label")).not_to_be_empty()
        assert no_sideways_scroll(page), size
        page.click("#ticket-done")
        expect(page.locator("#s-entities")).to_be_visible()


def spanish_only_texts() -> list[str]:
    es, en = (json.loads((I18N / f"{lang}.json").read_text(encoding="utf-8"))
              for lang in ("es", "en"))
    return [v.split("{")[0].strip() for k, v in es.items()
            if v != en[k] and len(v.split("{")[0].strip()) > 4]


def test_the_ticket_screen_switches_language_whole_says_when_attention_starts_and_clears(
        centre_factory, page: Page):
    centre = centre_factory(clock_at=BEFORE_OPENING, kiosk={"ticket_seconds": 8})
    open_kiosk(page, centre)
    page.click("[data-entity=BN]")
    page.locator("#services button").first.click()
    page.click("[data-category=gestante]")
    page.click("#skip-document")
    expect(page.locator("#ticket-label")).to_have_text("BN-001")
    expect(page.locator("#ticket-wait")).to_have_text("La atención empieza a las 08:30")
    expect(page.locator("#print-status")).to_have_text("Retire su ticket impreso.")
    page.click("button.lang[data-lang=en]")
    expect(page.locator("#ticket-wait")).to_have_text("Service starts at 08:30")
    expect(page.locator("#print-status")).to_have_text("Please take your printed ticket.")
    expect(page.locator("#ticket-category")).to_have_text("Pregnant woman")
    expect(page.locator("#ticket-done")).to_contain_text("Done (")
    shown = page.locator("#s-ticket").inner_text()
    assert [s for s in spanish_only_texts() if s in shown] == []
    # the next citizen touches the screen beside the ticket: it starts afresh, emptied
    expect(page.locator("#ticket-done")).to_have_text("Done (6)")
    page.click("#h-ticket")
    expect(page.locator("#s-entities")).to_be_visible()
    assert page.get_attribute("#ticket-qr", "src") is None
    expect(page.locator("#ticket-label")).to_be_empty()
    # left alone, the ticket goes away by itself after its countdown
    page.click("[data-entity=BN]")
    page.locator("#services button").first.click()
    page.click("[data-category=none]")
    page.click("#skip-document")
    expect(page.locator("#ticket-label")).to_have_text("BN-002")
    expect(page.locator("#s-entities")).to_be_visible()
    assert page.get_attribute("#ticket-qr", "src") is None
