"""The catalogue the kiosk searches: extraction typos fixed, synonyms citizens use, and the
entities in the order of how busy they are."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from appliance.runtime import open_store
from config.catalog_text import FIXES, clean
from config.demo import CATALOG, demo_data, demo_settings
from config.keywords import keywords_for, normalise, rules
from turnero import catalog, day, tickets
from turnero.clock import ManualClock

THURSDAY = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)   # 10:00 in Lima
FRIDAY = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def catalogue_texts() -> list[str]:
    texts = []
    for name in ("servicios_centros_mac_anexo3.csv", "entidades_centros_mac_anexo2.csv"):
        with (CATALOG / name).open(encoding="utf-8") as f:
            texts += [v for row in csv.DictReader(f) for v in row.values() if v]
    return texts


def test_every_typo_fix_still_finds_its_text_in_the_extracted_catalogue():
    texts = catalogue_texts()
    for wrong, right, why in FIXES:
        assert why and wrong != right
        assert any(wrong in t for t in texts), f"stale fix: {wrong!r}"


def test_the_demo_centre_shows_no_extraction_typo():
    data = demo_data()
    names = [s["name"] for s in data["services"]] + [e["name"] for e in data["entities"]]
    for wrong, _right, _ in FIXES:
        assert not [n for n in names if wrong in n]
    assert "Duplicado de DNIe Mayor y Menor a través de Centros de atención RENIEC" in names
    assert clean("Documento  Nacional de Identidad – DNle Mayores.(excepto") == \
        "Documento Nacional de Identidad – DNIe Mayores (excepto"


def test_normalising_drops_accents_case_and_punctuation():
    assert normalise("Récord del CONDUCTOR, Señal (ÑAÑA)") == "record del conductor senal nana"


@pytest.mark.parametrize(("entity", "name", "word"), [
    ("MTC Ministerio de Transportes y Comunicaciones",
     "Expedición de licencia de conducir clase A, categoría I", "brevete"),
    ("PJ Poder Judicial", "Expedición de certificados de Antecedentes Penales", "policiales"),
    ("INPE", "Expedición de Certificado de Antecedentes Judiciales", "penales"),
    ("RENIEC", "Duplicado de DNIe Mayor y Menor", "dni"),
    ("RENIEC", "Copia certificada de acta de nacimiento", "partida"),
    ("SUNAT", "Recuperación y Entrega de Clave Sol", "ruc"),
    ("MIGRACIONES", "Renovación de carné de extranjería", "carnet"),
])
def test_a_service_gets_the_words_citizens_use_for_it(entity, name, word):
    assert word in keywords_for(entity, name).split()


def test_keywords_leave_out_words_already_in_the_name_and_unrelated_services():
    assert "licencia" not in keywords_for("MTC", "Expedición de licencia de conducir").split()
    assert keywords_for("BN Banco de la Nación", "Depósito en cuenta de ahorros") == "banco pago"
    assert "brevete" not in keywords_for("SAT Lima", "Liquidación del Impuesto de Alcabala")


def test_every_keyword_rule_applies_to_some_service_of_the_catalogue():
    with (CATALOG / "servicios_centros_mac_anexo3.csv").open(encoding="utf-8") as f:
        rows, entity = [], ""
        for row in csv.DictReader(f):
            entity = row["entidad"] or entity
            rows.append((entity, clean(row["servicio"])))
    for words, entity_part, parts in rules():
        matched = [n for e, n in rows if (not entity_part or entity_part in normalise(e))
                   and (not parts or any(p in normalise(n) for p in parts))]
        assert matched, f"rule {' '.join(words)!r} finds no service"


def test_the_catalogue_answer_carries_keywords_and_busiest_entities_first(tmp_path: Path):
    clock = ManualClock(THURSDAY)
    store = open_store(demo_settings(), tmp_path, clock=clock)
    try:
        fresh = catalog.read_catalog(store.reader())
        ranks = {e["code"]: e["rank"] for e in fresh["entities"]}
        assert ranks["RENIEC"] == 0 and ranks["BN"] == 1   # the settings' order at first
        mtc = next(s for s in fresh["services"] if s["name"].startswith("Expedición de lic"))
        assert "brevete" in mtc["keywords"]
        day.open_day(store, actor="test")
        sunat = next(s["id"] for s in fresh["services"] if s["queue"] == "ST")
        for _ in range(3):
            tickets.issue_ticket(store, service_id=sunat, channel="reception")
        clock.set(FRIDAY)
        day.open_day(store, actor="test")
        bn = next(s["id"] for s in fresh["services"] if s["queue"] == "BN")
        tickets.issue_ticket(store, service_id=bn, channel="reception")
        ranks = {e["code"]: e["rank"]
                 for e in catalog.read_catalog(store.reader())["entities"]}
        # yesterday's counts order the day; today's break ties; then the settings' order
        assert [c for c, _ in sorted(ranks.items(), key=lambda x: x[1])][:3] == \
            ["SUNAT", "BN", "RENIEC"]
    finally:
        store.close()
