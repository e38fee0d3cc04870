# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
"""Citas at the central (docs/citas.md), on SQLite and PostgreSQL: an editor books, changes
and cancels them; each centre's box reads only its own changes, in order, page by page;
a booking system's CSV is imported whole or not at all, and twice changes nothing; the
box's events set the check-in and the outcome the summary counts; the citizens' data of
old citas is erased; whatever a client sends, a wrong request is a 4xx JSON answer."""

from __future__ import annotations

import gzip
import io
import json
import threading
import uuid
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from stdnum.pe import cui

from appliance.cli import main
from config.catalogue_document import TABLES, as_raw
from config.model import Settings
from harness.sync_support import central_db, pg_kind, viewer_client  # noqa: F401
from sync.central import catalogue, citas, citas_csv, citas_fields
from sync.central.app import create_central_app
from sync.central.db import Database
from sync.central.ingest import add_centre
from turnero import documents
from turnero.errors import InvalidInput

NORTH, CALLAO = "lima-norte", "callao"
DAY = citas.today().isoformat()
AT = "2026-11-27T14:00:00.000000Z"
HEADER = "centro,servicio,fecha,hora,tipo_documento,numero_documento,nombre,codigo_reserva"


def _cita(code: str = "AB-1234", centre: str = NORTH, **change: Any) -> dict[str, Any]:
    return {"centre": centre, "service": 76, "date": DAY, "time": "09:30",
            "document_type": "DNI", "document": "12345678", "name": "Rosa Quispe",
            "code": code, **change}


def _editor(db: Database) -> Any:
    add_centre(db, NORTH, "MAC Lima Norte")
    return viewer_client(db, "pcm.citas", role="editor")


def _feed(db: Database, token: str, query: str = "") -> Any:
    client = create_central_app(db).test_client()
    return client.get(f"/api/v1/box/citas{query}", headers={"Authorization": f"Bearer {token}"})


def _post_batch(db: Database, token: str, centre: str, events: list[dict[str, Any]]) -> Any:
    body = {"centre": centre, "batch_id": uuid.uuid4().hex, "events": events}
    client = create_central_app(db).test_client()
    return client.post("/api/v1/ingest", data=gzip.compress(json.dumps(body).encode()),
                       headers={"Authorization": f"Bearer {token}",
                                "Content-Encoding": "gzip", "Content-Type": "application/json"})


def _event(seq: int, kind: str, **payload: Any) -> dict[str, Any]:
    return {"uid": uuid.uuid4().hex, "seq": seq, "kind": kind, "at": AT, "actor": None,
            "counter": None, "ticket": None, "payload": {"day": DAY, **payload}}


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode("utf-8")


def _import(client: Any, data: bytes) -> Any:
    return client.post("/api/v1/citas/import", data=data, content_type="text/csv")


def test_an_editor_books_changes_and_cancels_and_each_write_takes_the_next_change(
        central_db: Database) -> None:
    client = _editor(central_db)
    made = client.post("/api/v1/citas", json=_cita(code="ab-1234"))
    assert made.status_code == 201
    cita = made.get_json()["cita"]
    assert (cita["code"], cita["day"], cita["slot"], cita["document_type"], cita["document"],
            cita["status"]) == ("AB-1234", DAY, "09:30", "dni", "12345678", "booked")
    first = cita["change"]
    assert first == citas.newest(central_db.conn(), NORTH) > 0
    changed = client.patch("/api/v1/citas/AB-1234", json={"time": "10:15", "name": "R. Q."})
    assert changed.status_code == 200
    assert changed.get_json()["cita"]["slot"] == "10:15"
    second = changed.get_json()["cita"]["change"]
    assert second > first
    same = client.patch("/api/v1/citas/ab-1234", json={"time": "10:15"})
    assert same.get_json()["cita"]["change"] == second  # nothing differs: no new change
    cancelled = client.post("/api/v1/citas/AB-1234/cancel")
    assert cancelled.status_code == 200
    assert cancelled.get_json()["cita"]["status"] == "cancelled"
    third = cancelled.get_json()["cita"]["change"]
    assert third > second
    again = client.post("/api/v1/citas/AB-1234/cancel")
    assert again.status_code == 200 and again.get_json()["cita"]["change"] == third
    refused = client.patch("/api/v1/citas/AB-1234", json={"time": "11:00"})
    assert refused.status_code == 409 and refused.get_json()["error"] == "cita_cancelled"


def test_the_same_booking_again_is_200_and_another_under_its_code_is_409(
        central_db: Database) -> None:
    client = _editor(central_db)
    made = client.post("/api/v1/citas", json=_cita())
    assert made.status_code == 201
    first = made.get_json()["cita"]["change"]
    again = client.post("/api/v1/citas", json=_cita(document="1234 5678"))
    assert again.status_code == 200 and again.get_json()["cita"]["change"] == first
    other = client.post("/api/v1/citas", json=_cita(time="12:00"))
    assert other.status_code == 409 and other.get_json()["error"] == "cita_exists"
    assert citas.newest(central_db.conn(), NORTH) == first


def test_a_viewer_reads_the_citas_but_writes_nothing_and_another_site_is_refused(
        central_db: Database) -> None:
    editor = _editor(central_db)
    first = editor.post("/api/v1/citas", json=_cita()).get_json()["cita"]["change"]
    viewer = viewer_client(central_db, "analista")
    listed = viewer.get(f"/api/v1/citas?centre={NORTH}&from={DAY}&to={DAY}").get_json()
    assert [c["code"] for c in listed["citas"]] == ["AB-1234"]
    for answer in (viewer.post("/api/v1/citas", json=_cita(code="XY-9999")),
                   viewer.post("/api/v1/citas/AB-1234/cancel"),
                   viewer.patch("/api/v1/citas/AB-1234", json={"time": "08:00"}),
                   _import(viewer, _csv())):
        assert answer.status_code == 403 and answer.get_json()["error"] == "forbidden"
    forged = editor.post("/api/v1/citas/AB-1234/cancel",
                         headers={"Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403 and forged.get_json()["error"] == "cross_site"
    assert citas.newest(central_db.conn(), NORTH) == first


def test_a_box_reads_only_its_centre_s_changes_in_order_page_by_page(
        central_db: Database) -> None:
    client = _editor(central_db)
    token = add_centre(central_db, NORTH, "MAC Lima Norte")
    add_centre(central_db, CALLAO, "MAC Callao")
    for n in range(5):
        client.post("/api/v1/citas", json=_cita(code=f"NOR-{n}"))
        client.post("/api/v1/citas", json=_cita(code=f"CAL-{n}", centre=CALLAO))
    client.post("/api/v1/citas/NOR-1/cancel")  # the sixth change of lima-norte
    first = _feed(central_db, token, "?after=0&limit=4").get_json()
    assert [c["code"] for c in first["citas"]] == ["NOR-0", "NOR-2", "NOR-3", "NOR-4"]
    numbers = [c["change"] for c in first["citas"]]
    assert numbers == sorted(set(numbers))  # in change order, each once
    assert first["next"] == numbers[-1] and first["more"] is True
    rest = _feed(central_db, token, f"?after={first['next']}&limit=4").get_json()
    assert [(c["code"], c["status"]) for c in rest["citas"]] == [("NOR-1", "cancelled")]
    last = rest["citas"][0]["change"]
    assert last > numbers[-1] and rest["next"] == last and rest["more"] is False
    assert set(rest["citas"][0]) == {"code", "service", "day", "slot", "document_type",
                                     "document", "name", "status", "change"}
    assert _feed(central_db, token, f"?after={last}").get_json() == {
        "citas": [], "next": last, "more": False}


def test_the_feed_answers_a_bad_token_or_a_bad_after_or_limit_with_json(
        central_db: Database) -> None:
    token = add_centre(central_db, NORTH)
    assert _feed(central_db, "not-a-token").status_code == 401
    for query in ("?after=-1", "?after=x", "?after=%C2%B2", "?after=1%0A",
                  "?after=1234567890123456789", "?limit=0", "?limit=1001", "?limit=abc",
                  "?limit=00001000"):
        answer = _feed(central_db, token, query)
        assert answer.status_code == 400, query
        assert answer.get_json()["error"] in ("invalid_after", "invalid_limit"), query
    assert _feed(central_db, token, "?after=0&limit=1000").status_code == 200


def test_numbers_taken_at_once_by_many_writers_are_distinct_and_increase_with_each_write(
        central_db: Database) -> None:
    client = _editor(central_db)
    errors: list[BaseException] = []

    def book(n: int) -> None:
        try:
            citas.book(central_db, _cita(code=f"PAR-{n}"), "prueba")
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=book, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    listed = client.get(f"/api/v1/citas?from={DAY}&to={DAY}").get_json()["citas"]
    numbers = sorted(c["change"] for c in listed)
    assert len(set(numbers)) == 8 and numbers[-1] == citas.newest(central_db.conn(), NORTH)


def test_an_import_stores_every_row_or_none_and_names_each_bad_row(
        central_db: Database) -> None:
    client = _editor(central_db)
    bad = _csv(f"{NORTH},76,{DAY},09:00,DNI,12345678,Ana Rojas,IMP-1",
               f"{NORTH},76,31/02/2026,09:00,DNI,12345678,Luis Soto,IMP-2",
               f"nowhere,76,{DAY},9:00,DNI,1234,Eva Paz,IMP-3")
    refused = _import(client, bad)
    assert refused.status_code == 400 and refused.get_json()["error"] == "invalid_import"
    problems = refused.get_json()["problems"]
    assert any(p.startswith("fila 3: la fecha") for p in problems)
    assert any(p.startswith("fila 4: el centro") for p in problems)
    assert any(p.startswith("fila 4: el número de DNI") for p in problems)
    assert not any(p.startswith("fila 2") for p in problems)
    assert citas.newest(central_db.conn(), NORTH) == 0  # nothing stored
    spanish = _csv(f"{NORTH};76;{DAY.split('-')[2]}/{DAY.split('-')[1]}/{DAY[:4]};9:00;DNI;"
                   "12345678;Ana Rojas;imp-1", header=HEADER.replace(",", ";"))
    done = _import(client, spanish)
    assert done.status_code == 200 and done.get_json()["new"] == 1
    stored = client.get(f"/api/v1/citas?from={DAY}").get_json()["citas"][0]
    assert (stored["code"], stored["day"], stored["slot"]) == ("IMP-1", DAY, "09:00")


def test_a_file_imported_twice_changes_nothing_and_a_cancelada_row_cancels(
        central_db: Database) -> None:
    client = _editor(central_db)
    rows = [f"{NORTH},76,{DAY},09:00,DNI,12345678,Ana Rojas,IMP-1",
            f"{NORTH},77,{DAY},09:30,CE,AB123456,Luis Soto,IMP-2"]
    first = _import(client, _csv(*rows)).get_json()
    assert (first["new"], first["unchanged"]) == (2, 0)
    numbered = citas.newest(central_db.conn(), NORTH)
    second = _import(client, _csv(*rows)).get_json()
    assert (second["new"], second["unchanged"]) == (0, 2)
    assert citas.newest(central_db.conn(), NORTH) == numbered  # no change numbered
    changed = _import(client, _csv(rows[0].replace("09:00", "10:00") + ",reservada",
                                   rows[1] + ",cancelada", header=HEADER + ",estado"))
    assert changed.get_json() == {"rows": 2, "new": 0, "changed": 1, "cancelled": 1,
                                  "unchanged": 0}
    by_code = {c["code"]: c for c in client.get(
        f"/api/v1/citas?from={DAY}").get_json()["citas"]}
    assert (by_code["IMP-1"]["slot"], by_code["IMP-2"]["status"]) == ("10:00", "cancelled")
    back = _import(client, _csv(rows[1] + ",reservada", header=HEADER + ",estado"))
    assert back.status_code == 400 and "fila 2: la cita IMP-2 está cancelada" in \
        back.get_json()["problems"][0]


def test_the_box_s_events_set_check_in_and_outcome_and_the_summary_counts_them(
        central_db: Database) -> None:
    client = _editor(central_db)
    token = add_centre(central_db, NORTH, "MAC Lima Norte")
    add_centre(central_db, CALLAO)
    for code in ("KEPT-1", "LATE-1", "MISS-1", "GONE-1", "WAIT-1"):
        client.post("/api/v1/citas", json=_cita(code=code))
    client.post("/api/v1/citas", json=_cita(code="CAL-1", centre=CALLAO))
    client.post("/api/v1/citas/GONE-1/cancel")
    events = [
        _event(1, "cita.checked_in", code="KEPT-1", slot="09:30", ticket="t-1", label="R001",
               arrival="kept"),
        _event(2, "cita.checked_in", code="LATE-1", slot="09:30", ticket="t-2", label="R002",
               arrival="late"),
        _event(3, "cita.checked_in", code="CAL-1", slot="09:30", ticket="t-3", label="R003",
               arrival="kept"),  # another centre's cita: not this box's to tell
        _event(4, "cita.outcome", code="KEPT-1", outcome="served"),
        _event(5, "cita.outcome", code="MISS-1", outcome="missed"),
    ]
    newest = citas.newest(central_db.conn(), NORTH)
    answer = _post_batch(central_db, token, NORTH, events).get_json()
    assert len(answer["accepted"]) == 5 and answer["citas"] == newest  # events number none
    kept = client.get(f"/api/v1/citas?centre={NORTH}&from={DAY}").get_json()["citas"]
    kept_row = next(c for c in kept if c["code"] == "KEPT-1")
    assert (kept_row["ticket"], kept_row["label"], kept_row["arrival"],
            kept_row["outcome"]) == ("t-1", "R001", "kept", "served")
    assert citas.summary(central_db, DAY, DAY) == [
        {"centre": CALLAO, "day": DAY, "booked": 1, "kept": 0, "late": 0, "missed": 0,
         "cancelled": 0, "served": 0, "pending": 1},
        {"centre": NORTH, "day": DAY, "booked": 4, "kept": 1, "late": 1, "missed": 1,
         "cancelled": 1, "served": 1, "pending": 1}]
    refused = client.patch("/api/v1/citas/LATE-1", json={"time": "11:00"})
    assert refused.status_code == 409 and refused.get_json()["error"] == "cita_checked_in"
    page = client.get(f"/citas?from={DAY}&to={DAY}").get_data(as_text=True)
    assert "MAC Lima Norte" in page and 'name="file"' in page


def test_the_answer_to_a_batch_says_0_citas_for_a_centre_without_any(
        central_db: Database) -> None:
    token = add_centre(central_db, NORTH)
    answer = _post_batch(central_db, token, NORTH, [_event(1, "ticket.issued")]).get_json()
    assert answer["citas"] == 0


def test_forget_erases_the_citizen_of_old_citas_only(central_db: Database) -> None:
    add_centre(central_db, NORTH)
    today = date(2026, 12, 31)
    for code, day in (("OLD-1", "2026-11-30"), ("EDGE-1", "2026-12-01"),
                      ("NEW-1", "2026-12-30")):
        citas.book(central_db, _cita(code=code, date=day), "prueba")
    assert citas.forget(central_db, 30, today) == 1
    assert citas.forget(central_db, 30, today) == 0
    rows = {r["code"]: r for r in central_db.conn().query("SELECT * FROM citas")}
    assert (rows["OLD-1"]["document"], rows["OLD-1"]["document_type"],
            rows["OLD-1"]["name"]) == (None, None, None)
    assert rows["OLD-1"]["service"] == 76 and rows["OLD-1"]["day"] == "2026-11-30"
    assert rows["EDGE-1"]["name"] == "Rosa Quispe" and rows["NEW-1"]["document"] == "12345678"


@pytest.mark.parametrize(("body", "code"), [
    ("{", "invalid_json"), ("[1]", "invalid_cita"), ('"x"', "invalid_cita"),
    (json.dumps(_cita(code="ab")), "invalid_cita"),
    (json.dumps(_cita(code="A" * 33)), "invalid_cita"),
    (json.dumps(_cita(service=True)), "invalid_cita"),
    (json.dumps(_cita(service="7x")), "invalid_cita"),
    (json.dumps(_cita(service=10**30)), "invalid_json"),  # past 64 bits
    (json.dumps(_cita(service=10**12)), "invalid_cita"),
    (json.dumps(_cita(date="2026-13-01")), "invalid_cita"),
    (json.dumps(_cita(date=20261201)), "invalid_cita"),
    (json.dumps(_cita(time="24:00")), "invalid_cita"),
    (json.dumps(_cita(time=["09:00"])), "invalid_cita"),
    (json.dumps(_cita(document="123")), "invalid_cita"),
    (json.dumps(_cita(document_type="cédula")), "invalid_cita"),
    (json.dumps(_cita(document_type={})), "invalid_cita"),
    (json.dumps(_cita(name="x" * 121)), "invalid_cita"),
    (json.dumps(_cita(name="Ana\x00Paz")), "invalid_json"),
    (json.dumps(_cita(name="Ana\nPaz")), "invalid_cita"),
    (json.dumps(_cita(name="y" * 1_000_000)), "invalid_cita"),
    (json.dumps(_cita(centre="nowhere")), "invalid_cita"),
    (json.dumps(_cita(centre=None)), "invalid_cita"),
])
def test_a_bad_booking_is_a_400_json_and_stores_nothing(
        central_db: Database, body: str, code: str) -> None:
    client = _editor(central_db)
    answer = client.post("/api/v1/citas", data=body, content_type="application/json")
    assert answer.status_code == 400, answer.get_data(as_text=True)[:300]
    assert answer.get_json()["error"] == code and answer.get_json()["message"]
    assert central_db.conn().query("SELECT COUNT(*) AS n FROM citas")[0]["n"] == 0


def test_bad_changes_cancellations_imports_and_lists_are_4xx_json(
        central_db: Database) -> None:
    client = _editor(central_db)
    first = client.post("/api/v1/citas", json=_cita()).get_json()["cita"]["change"]
    checks = [
        (client.patch("/api/v1/citas/AB-1234", json={"document": "87654321"}), 400),
        (client.patch("/api/v1/citas/AB-1234", json={}), 400),
        (client.patch("/api/v1/citas/AB-1234", json=[1]), 400),
        (client.patch("/api/v1/citas/AB-1234", json={"service": -1}), 400),
        (client.patch("/api/v1/citas/AB-1234", data="{", content_type="application/json"),
         400),
        (client.patch("/api/v1/citas/NO-SUCH", json={"time": "08:00"}), 404),
        (client.patch("/api/v1/citas/%00%01", json={"time": "08:00"}), 404),
        (client.post("/api/v1/citas/" + "Z" * 5000 + "/cancel"), 404),
        (client.post("/api/v1/citas/NO-SUCH/cancel"), 404),
        (_import(client, b""), 400),
        (_import(client, b"\xff\xfe\x00\x00"), 400),
        (_import(client, _csv(header="a,b,c")), 400),
        (_import(client, _csv()), 400),
        (_import(client, _csv(f"{NORTH},76,{DAY},09:00,DNI,12345678,Ana,DUP-1",
                              f"{NORTH},76,{DAY},09:30,DNI,12345678,Ana,DUP-1")), 400),
        (_import(client, _csv(f"{NORTH},76,{DAY},09:00,DNI,12345678,Ana,IMP-9,borrada",
                              header=HEADER + ",estado")), 400),
        (_import(client, _csv(f'{NORTH},76,{DAY},09:00,DNI,12345678,"Ana')), 400),
        (client.post("/api/v1/citas/import", data={}, content_type="multipart/form-data"),
         400),
        (client.get("/api/v1/citas?from=2026-02-30"), 400),
        (client.get("/api/v1/citas?centre=%00"), 400),
        (client.get("/api/v1/citas?from=2020-01-01&to=2026-01-01"), 400),
    ]
    for n, (answer, status) in enumerate(checks):
        assert answer.status_code == status, (n, answer.get_data(as_text=True)[:300])
        assert answer.get_json()["error"] and answer.get_json()["message"], n
    assert citas.newest(central_db.conn(), NORTH) == first  # none of them changed anything


def test_a_service_the_published_catalogue_lacks_for_that_centre_is_refused(
        settings: Settings, central_db: Database) -> None:
    client = _editor(central_db)
    raw = as_raw(settings)
    document = {name: raw[name] for name in TABLES}
    document["centres"] = {NORTH: {"queues": ["RN"]}}  # lima-norte offers RENIEC only
    catalogue.publish(central_db, document, by="pcm")
    bn = next(s.id for s in settings.services if s.queue == "BN")
    refused = client.post("/api/v1/citas", json=_cita(service=bn))
    assert refused.status_code == 400
    assert any(str(bn) in p for p in refused.get_json()["problems"])
    assert client.post("/api/v1/citas", json=_cita(service=99999)).status_code == 400
    assert client.post("/api/v1/citas", json=_cita(service=76)).status_code == 201


def test_an_editor_imports_a_file_from_the_page_and_sees_its_problems(
        central_db: Database) -> None:
    client = _editor(central_db)
    good = io.BytesIO(_csv(f"{NORTH},76,{DAY},09:00,DNI,12345678,Ana Rojas,PAG-1"))
    done = client.post("/citas", data={"file": (good, "citas.csv")},
                       content_type="multipart/form-data")
    assert done.status_code == 303 and done.headers["Location"] == "/citas?importadas=1"
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "1 citas leídas" in page and "MAC Lima Norte" in page
    bad = io.BytesIO(_csv(f"{NORTH},76,{DAY},99:00,DNI,12345678,Ana Rojas,PAG-2"))
    refused = client.post("/citas", data={"file": (bad, "citas.csv")},
                          content_type="multipart/form-data")
    assert refused.status_code == 400 and "fila 2: la hora" in refused.get_data(as_text=True)
    assert client.get("/citas?from=nunca&to=%00").status_code == 200  # today instead
    viewer = viewer_client(central_db, "analista")
    assert 'name="file"' not in viewer.get("/citas").get_data(as_text=True)
    assert viewer.post("/citas", data={}).status_code == 403


@pytest.mark.parametrize(("kind", "number"), [
    ("DNI", "12345678"), ("dni", "1234 5678"), (None, "12.345.678"),
    ("dni", "12345678" + cui.calc_check_digits("12345678")[0]), ("dni", "123456789"),
    ("dni", "1234"), ("ruc", "20100047218"), ("ruc", "20100047219"), ("ce", "ab-123456"),
    ("passport", "x1"), ("passport", "AB123456"), ("CE", "123"),
])
def test_a_document_is_kept_as_the_box_keeps_it(kind: str | None, number: str) -> None:
    try:
        expected: Any = documents.normalise(kind, number)
    except InvalidInput:
        expected = "refused"
    try:
        found: Any = citas_fields.document(kind, number)
    except citas_fields.Bad:
        found = "refused"
    assert found == expected


def test_the_commands_import_a_file_and_forget(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/central.sqlite"
    db = Database(url)
    db.migrate()
    add_centre(db, NORTH)
    db.close()
    source = tmp_path / "citas.csv"
    old = (date.fromisoformat(DAY) - timedelta(days=40)).isoformat()
    source.write_bytes(_csv(f"{NORTH},76,{old},09:00,DNI,12345678,Ana Rojas,CLI-1"))
    runner = CliRunner()
    done = runner.invoke(main, ["central", "citas", "import", str(source), "--by", "pcm",
                                "--citas-retention-days", "60", "--db", url])
    assert done.exit_code == 0, done.output
    assert "1 nuevas" in done.output
    forgot = runner.invoke(main, ["central", "citas", "forget", "--days", "30", "--db", url])
    assert forgot.exit_code == 0 and "de 1 citas" in forgot.output
    source.write_bytes(_csv(f"{NORTH},76,{old},09:00,DNI,12,Ana Rojas,CLI-2"))
    bad = runner.invoke(main, ["central", "citas", "import", str(source), "--by", "pcm",
                               "--db", url])
    assert bad.exit_code == 2 and "fila 2: el número de DNI" in bad.output
    assert citas_csv.HEADER == tuple(HEADER.split(","))
