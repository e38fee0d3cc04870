"""The report page in Chromium, on the hand-computed day of ``tests/test_reports.py`` (played
with a manual clock, then read the next morning): the table shows the known figures the way
the CSV writes them, the three SVG charts have one bar per value, the CSV and JSON downloads
are the API's report, the grouping and the period reload it, the print view keeps only the
table and the charts, and the dated ANS are added, corrected and deleted while those of the
configuration file stay read-only."""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from config import load_settings
from tests.browser.conftest import PIN, Centre, serious_violations
from tests.test_reports import CENTRE, DAY, START, play_day
from tests.wsgi_thread import ServedApp
from turnero import accounts, ans
from turnero.clock import ManualClock

NEXT_MORNING = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)  # 09:00 in Lima, the day after
REPORT = f"/supervision/reports?period=day&date={DAY.isoformat()}&group=entity"


@pytest.fixture
def played(tmp_path: Path) -> Iterator[Centre]:
    """The fixture day played and closed, served the next morning."""
    clock = ManualClock(START)
    settings = load_settings(data=copy.deepcopy(CENTRE), environ={})
    store = open_store(settings, tmp_path, clock=clock)
    play_day(store, clock)
    clock.set(NEXT_MORNING)
    for name, role in (("supervisor", "supervisor"), ("orientador", "receptionist")):
        accounts.create_user(store, name, role, PIN, security=settings.security)
    app = create_app(settings, store)
    served = ServedApp(app)
    try:
        yield Centre(app, store, clock, settings, served.base, kiosk_token="")
    finally:
        served.stop()
        parts.of(app).printing.stop()
        parts.of(app).desk.stop()
        store.close()


@pytest.fixture
def reports(played: Centre, page: Page) -> Page:
    """The report page of the fixture day by entity, signed in as the supervisor (the page
    is closed before the centre stops: it is set up after it)."""
    login(page, played, REPORT)
    wait_report(page, "entity")
    return page


def login(page: Page, centre: Centre, path: str, username: str = "supervisor") -> None:
    page.goto(centre.base + path)
    page.fill("#login-user", username)
    page.fill("#login-pin", PIN)
    page.click("#login-form button[type=submit]")


def wait_report(page: Page, group: str, start: str = "2026-11-27",
                end: str = "2026-11-27") -> None:
    expect(page.locator("body")).to_have_attribute("data-report", f"{group}:{start}:{end}")


def cells(page: Page, key: str) -> dict[str, str]:
    """A table row as {column: text}, ``—`` read back as the CSV's empty cell."""
    row = page.locator(f'#report-tables tr[data-key="{key}"]')  # one in each table
    values = row.locator("td").evaluate_all(
        "tds => tds.map(td => [td.dataset.col, td.textContent])")
    return {col: ("" if text == "—" else text) for col, text in values}


def api_json(page: Page, centre: Centre, query: str) -> dict[str, Any]:
    response = page.request.get(f"{centre.base}/api/v1/reports?{query}")
    assert response.status == 200
    return response.json()


def minutes(seconds: float | None) -> str:
    return "" if seconds is None else str(round(seconds / 60, 1)).replace(".", ",")


def percent(share: float | None) -> str:
    return "" if share is None else str(round(share * 100, 1)).replace(".", ",")


# The page's columns, the CSV's header for each, and how a JSON row becomes that cell.
COLUMNS = {
    "issued": ("Emitidos", lambda r: str(r["issued"])),
    "served": ("Atendidos", lambda r: str(r["served"])),
    "no_show": ("No se presentaron", lambda r: str(r["no_show"])),
    "cancelled": ("Anulados", lambda r: str(r["cancelled"])),
    "expired": ("Vencidos", lambda r: str(r["expired"])),
    "transferred": ("Derivados", lambda r: str(r["transferred"])),
    "in_progress": ("En curso", lambda r: str(r["in_progress"])),
    "wait.mean": ("Espera media (min)", lambda r: minutes(r["wait"]["mean"])),
    "wait.median": ("Espera mediana (min)", lambda r: minutes(r["wait"]["median"])),
    "wait.p90": ("Espera p90 (min)", lambda r: minutes(r["wait"]["p90"])),
    "wait.max": ("Espera máxima (min)", lambda r: minutes(r["wait"]["max"])),
    "attention.mean": ("Atención media (min)", lambda r: minutes(r["attention"]["mean"])),
    "attention.median": ("Atención mediana (min)",
                         lambda r: minutes(r["attention"]["median"])),
    "attention.p90": ("Atención p90 (min)", lambda r: minutes(r["attention"]["p90"])),
    "within_wait_target": ("Espera dentro del ANS (%)",
                           lambda r: percent(r["within_wait_target"])),
    "within_attention_target": ("Atención dentro del ANS (%)",
                                lambda r: percent(r["within_attention_target"])),
    "wait_preferential.mean": ("Espera media preferente (min)",
                               lambda r: minutes(r["wait_preferential"]["mean"])),
    "wait_normal.mean": ("Espera media general (min)",
                         lambda r: minutes(r["wait_normal"]["mean"])),
    "satisfaction.count": ("Calificaciones", lambda r: str(r["satisfaction"]["count"])),
    "satisfaction.mean": ("Satisfacción media (1-5)",
                          lambda r: "" if r["satisfaction"]["mean"] is None
                          else str(r["satisfaction"]["mean"]).replace(".", ",")),
    "desk.serving": ("Asesor atendiendo (min)", lambda r: minutes(r["desk"]["serving"])),
    "desk.idle": ("Asesor disponible sin atender (min)",
                  lambda r: minutes(r["desk"]["idle"])),
}


def test_the_table_shows_the_known_figures_of_the_day(reports: Page):
    expect(reports.locator("#report-summary")).to_contain_text(
        "Día 27/11/2026 · 1 jornada de atención · agrupado por entidad")
    expect(reports.locator("#report-head th").first).to_have_text("Entidad")
    e1, e2, total = cells(reports, "E1"), cells(reports, "E2"), cells(reports, "total")
    # E1 waits 60, 60, 120, 120, 180 s; E2 180 and 360 s (see tests/test_reports.py)
    assert (e1["wait.mean"], e1["wait.median"], e1["wait.p90"], e1["wait.max"]) == (
        "1,8", "2,0", "2,6", "3,0")
    assert (e2["wait.mean"], e2["wait.max"]) == ("4,5", "6,0")
    assert (e1["attention.mean"], e1["attention.p90"]) == ("3,2", "4,7")
    assert (e1["issued"], e1["served"], e1["cancelled"], e1["expired"],
            e1["transferred"]) == ("6", "3", "1", "1", "1")
    assert (e1["within_wait_target"], e1["within_attention_target"]) == ("80,0", "75,0")
    assert (e2["within_wait_target"], e2["within_attention_target"]) == ("100,0", "50,0")
    assert (e1["wait_preferential.mean"], e1["wait_normal.mean"]) == ("2,0", "1,8")
    assert (e1["satisfaction.count"], e1["satisfaction.mean"]) == ("2", "4,5")
    assert e2["satisfaction.mean"] == ""  # nobody rated: shown as —
    assert e1["desk.paused"] == "12,0"  # módulo 2's break, 12 minutes
    assert (total["issued"], total["served"], total["wait.max"]) == ("7", "5", "6,0")
    expect(reports.locator('#report-rows tr[data-key="E2"] th')).to_have_text("Dos")


def test_the_three_charts_have_one_bar_per_value_and_say_it_in_words(reports: Page):
    def bars(chart: str) -> list[float]:
        return [float(v) for v in reports.locator(f"#{chart} rect.chart-bar").evaluate_all(
            "rs => rs.map(r => r.dataset.value)")]

    # per hour, arrivals then served: 09 h 7 and 4, 10 h 0 and 1
    assert bars("chart-hour") == [7, 4, 0, 1]
    assert bars("chart-wait") == [6, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    # per entity, within the wait then the attention target, in percent
    assert bars("chart-ans") == [80, 75, 100, 50]
    for chart, title in (("chart-hour", "Llegadas y atendidos por hora"),
                         ("chart-wait", "Distribución del tiempo de espera"),
                         ("chart-ans", "Cumplimiento del ANS por entidad")):
        expect(reports.locator(f"#{chart} figcaption")).to_have_text(title)
        svg = reports.locator(f"#{chart} svg")
        expect(svg).to_have_attribute("role", "img")
        expect(svg.locator("> title")).to_have_text(title)
        assert svg.get_attribute("aria-label").startswith(title + ". ")
        expect(svg.locator(".axis-title")).to_have_count(2)
    expect(reports.locator("#chart-hour svg")).to_have_attribute(
        "aria-label", "Llegadas y atendidos por hora. 09 h: 7 llegadas, 4 atendidos; "
                      "10 h: 0 llegadas, 1 atendido.")
    assert "Uno: espera 80 %, atención 75 %; Dos: espera 100 %, atención 50 %" in (
        reports.locator("#chart-ans svg").get_attribute("aria-label") or "")
    assert (reports.locator("#chart-wait svg").get_attribute("aria-label") or "").endswith(
        "0 a 5 min: 6 llamados; 5 a 10 min: 1 llamado.")


def test_the_csv_download_is_the_api_report_as_the_page_shows_it(reports: Page,
                                                                 played: Centre):
    with reports.expect_download() as info:
        reports.click("#download-csv")
    download = info.value
    assert download.suggested_filename == "reporte-entity-2026-11-27-2026-11-27.csv"
    raw = Path(download.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    header, body = lines[0], lines[1:]
    assert header[:2] == ["Entidad", "Nombre"]
    report = api_json(reports, played, "from=2026-11-27&to=2026-11-27&group=entity")
    expected = [*report["rows"], report["total"]]
    assert [row[0] for row in body] == ["E1", "E2", "total"]
    for row, data in zip(body, expected, strict=True):
        by_name = dict(zip(header, row, strict=True))
        assert by_name["Nombre"] == data["label"]
        page_row = cells(reports, str(data["key"]))
        for col, (name, convert) in COLUMNS.items():
            assert by_name[name] == convert(data) == page_row[col], (data["key"], col)

    with reports.expect_download() as info:
        reports.click("#download-json")
    assert info.value.suggested_filename == "reporte-entity-2026-11-27-2026-11-27.json"
    assert json.loads(Path(info.value.path()).read_text("utf-8")) == report


def test_switching_the_grouping_or_the_period_reloads_the_report(reports: Page):
    reports.select_option("#group", "agent")
    wait_report(reports, "agent")
    expect(reports.locator("#report-head th").first).to_have_text("Asesor")
    expect(reports.locator("#report-rows tr")).to_have_count(4)
    expect(reports.locator('#report-rows tr[data-key=""] th')).to_have_text("(sin asesor)")
    assert cells(reports, "a2")["desk.paused"] == "12,0"
    assert "group=agent" in reports.url
    expect(reports.locator("#download-csv")).to_have_attribute(
        "href", "/api/v1/reports?from=2026-11-27&to=2026-11-27&group=agent&format=csv"
                "&separator=%3B")

    reports.select_option("#group", "queue")  # no asesor time per queue: its columns go
    wait_report(reports, "queue")
    expect(reports.locator('#report-head-2 th[data-col="desk.serving"]')).to_have_count(0)
    assert cells(reports, "A")["wait.mean"] == "1,8"

    reports.select_option("#group", "hour")
    wait_report(reports, "hour")
    expect(reports.locator('#report-rows tr[data-key="9"] th')).to_have_text("09:00–09:59")

    reports.select_option("#period", "week")
    wait_report(reports, "hour", "2026-11-23", "2026-11-29")
    expect(reports.locator("#report-summary")).to_contain_text("Del 23/11/2026 al 29/11/2026")

    reports.select_option("#period", "custom")
    reports.fill("#from", "2026-11-28")
    reports.fill("#to", "2026-11-30")
    reports.click("#report-form button[type=submit]")
    wait_report(reports, "hour", "2026-11-28", "2026-11-30")
    expect(reports.locator("#report-message")).to_have_text(
        "No hubo jornadas de atención en este período.")
    expect(reports.locator("#chart-hour rect.chart-bar")).to_have_count(0)
    assert cells(reports, "total")["issued"] == "0"

    reports.reload()  # the address keeps the choice
    wait_report(reports, "hour", "2026-11-28", "2026-11-30")
    expect(reports.locator("#period")).to_have_value("custom")


def test_ans_targets_are_added_corrected_and_deleted_but_config_ones_are_read_only(
        reports: Page, played: Centre):
    page = reports
    config = page.locator('#ans-rows tr[data-source="config"]')
    expect(config).to_have_count(2)
    expect(config.locator("button")).to_have_count(0)
    expect(config.first).to_contain_text("Solo lectura")
    expect(config.first).to_contain_text("Configuración")

    # queue B waits at most 1 minute from November: none of E2's two waits make it
    page.select_option("#ans-queue", "B")
    page.fill("#ans-wait", "1")
    page.fill("#ans-attention", "11")
    page.fill("#ans-from", "2026-11-01")
    page.click("#ans-save")
    expect(page.locator("#ans-message")).to_have_text("ANS registrado.")
    mine = page.locator('#ans-rows tr[data-source="supervision"]')
    expect(mine).to_have_count(1)
    expect(mine).to_contain_text("Cola B (Dos)")
    expect(mine).to_contain_text("Toda la cola")
    expect(mine).to_contain_text("01/11/2026")
    target_id = int(mine.get_attribute("data-ans") or 0)
    row = played.store.reader().execute(
        "SELECT queue, service, max_wait_minutes, created_by FROM ans_targets WHERE id = ?",
        (target_id,)).fetchone()
    assert tuple(row) == ("B", None, 1, "supervisor")
    expect(page.locator('#report-tables tr[data-key="E2"] td[data-col="within_wait_target"]')
           ).to_have_text("0,0")

    # corrected to 5 minutes: the 3-minute wait is within, the 6-minute one is not
    mine.locator('[data-act="edit"]').click()
    expect(page.locator("#ans-form-title")).to_contain_text("Corregir el ANS de Cola B")
    expect(page.locator("#ans-queue")).to_have_value("B")
    page.fill("#ans-wait", "5")
    page.click("#ans-save")
    expect(page.locator("#ans-message")).to_have_text("ANS corregido.")
    expect(mine).to_contain_text("5 min")
    expect(page.locator('#report-tables tr[data-key="E2"] td[data-col="within_wait_target"]')
           ).to_have_text("50,0")

    # a date range backwards is refused in plain words before anything is sent
    mine.locator('[data-act="edit"]').click()
    page.fill("#ans-to", "2026-10-01")
    page.click("#ans-save")
    expect(page.locator("#ans-message")).to_contain_text("no puede ser anterior")
    page.click("#ans-cancel")
    expect(page.locator("#ans-form-title")).to_have_text("Registrar un ANS")

    page.once("dialog", lambda dialog: dialog.accept())
    mine.locator('[data-act="delete"]').click()
    expect(page.locator("#ans-message")).to_have_text("ANS borrado.")
    expect(mine).to_have_count(0)
    expect(page.locator('#report-tables tr[data-key="E2"] td[data-col="within_wait_target"]')
           ).to_have_text("100,0")

    # the API's own words when a change fails: this one was deleted behind the page's back
    page.select_option("#ans-queue", "A")
    page.select_option("#ans-service", "1")
    page.fill("#ans-wait", "3")
    page.fill("#ans-attention", "5")
    page.fill("#ans-from", "2026-12-01")
    page.click("#ans-save")
    expect(page.locator("#ans-message")).to_have_text("ANS registrado.")
    mine.locator('[data-act="edit"]').click()
    gone = int(mine.get_attribute("data-ans") or 0)
    ans.delete_target(played.store, gone, actor="otra.persona")
    page.click("#ans-save")
    expect(page.locator("#ans-message")).to_have_text(f"No existe el ANS {gone}.")
    expect(page.locator("#ans-message")).to_have_class("result error")

    # and a config target cannot be changed through the API either
    me = page.request.get(f"{played.base}/api/v1/auth/me").json()
    config_id = int(config.first.get_attribute("data-ans") or 0)
    response = page.request.put(f"{played.base}/api/v1/ans/{config_id}",
                                headers={"X-CSRF-Token": me["csrf_token"]},
                                data={"queue": "A", "max_wait_minutes": 1,
                                      "max_attention_minutes": 1,
                                      "valid_from": "2026-01-01"})
    assert response.status == 409
    assert response.json()["message"] == (
        "Este ANS viene del archivo de configuración: cámbielo allí.")


def test_the_print_view_keeps_the_table_and_the_charts(reports: Page):
    reports.evaluate("window.print = () => { document.body.dataset.printed = 'yes'; }")
    reports.click("#print")
    expect(reports.locator("body")).to_have_attribute("data-printed", "yes")
    reports.emulate_media(media="print")
    for hidden in ("header.bar", "#report-form", "#ans"):
        expect(reports.locator(hidden)).to_be_hidden()
    for shown in ("#report-table", "#report-table-2", "#chart-hour svg", "#chart-wait svg",
                  "#chart-ans svg", "#report-summary"):
        expect(reports.locator(shown)).to_be_visible()
    reports.emulate_media(media="screen")
    expect(reports.locator("#report-form")).to_be_visible()


def test_the_report_page_has_no_serious_accessibility_violation(reports: Page):
    reports.locator('#ans-rows tr[data-source="config"]').first.wait_for()
    assert serious_violations(reports) == []


def test_the_floor_links_to_the_reports_and_an_orientador_is_kept_out(played: Centre,
                                                                      page: Page):
    login(page, played, "/supervision")
    link = page.get_by_role("link", name="Indicadores y ANS")
    link.click()
    wait_report(page, "entity", "2026-11-28", "2026-11-28")  # today by the box's clock
    expect(page.locator("#date")).to_have_value("2026-11-28")
    page.click("#logout")
    expect(page.locator("#login")).to_be_visible()
    login(page, played, "/supervision/reports", "orientador")
    expect(page.locator("#login-error")).to_contain_text("Su rol no permite ver los indicadores")
    expect(page.locator("#console")).to_be_hidden()
