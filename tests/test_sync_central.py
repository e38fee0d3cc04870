"""The central receiver, on PostgreSQL (a throwaway cluster started by the test run) and on
SQLite: idempotent ingest by uid with a per-event answer, per-centre tokens kept as digests,
numbered migrations, the national dashboard and the CSV export."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import uuid
from typing import Any

from harness.sync_support import (  # noqa: F401
    CENTRE,
    central_db,
    pg_kind,
    token,
    viewer_client,
)
from sync.central.app import create_central_app
from sync.central.db import Database
from sync.central.ingest import add_centre, digest

AT = "2026-11-27T14:00:00.000000Z"


def event(seq: int, kind: str = "ticket.issued", at: str = AT, **payload: Any) -> dict[str, Any]:
    base = {"queue": "RN", "day": "2026-11-27", "step": 1, "entity": "RENIEC"}
    return {"uid": uuid.uuid4().hex, "seq": seq, "kind": kind, "at": at, "actor": None,
            "counter": None, "ticket": "t1", "payload": {**base, **payload}}


def post(db: Database, tok: str, batch: Any, *, raw: bytes | None = None) -> Any:
    client = create_central_app(db).test_client()
    data = raw if raw is not None else gzip.compress(json.dumps(batch).encode())
    return client.post("/api/v1/ingest", data=data, headers={
        "Authorization": f"Bearer {tok}", "Content-Encoding": "gzip",
        "Content-Type": "application/json"})


def batch(*events: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"centre": CENTRE, "batch_id": uuid.uuid4().hex, "events": list(events), **extra}


def stored(db: Database) -> list[str]:
    return [r["uid"] for r in db.conn().query("SELECT uid FROM events ORDER BY seq")]


def test_migrations_are_numbered_and_applied_once(central_db: Database) -> None:
    assert central_db.migrate() == []
    rows = central_db.conn().query("SELECT number FROM schema_migrations ORDER BY number")
    assert [r["number"] for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]


def test_a_batch_is_answered_per_event_and_a_repeat_is_answered_as_duplicates(
        central_db: Database, token: str) -> None:
    events = [event(1), event(2), event(3)]
    first = post(central_db, token, b := batch(*events))
    assert first.status_code == 200
    assert first.get_json() == {"batch_id": b["batch_id"], "accepted": [e["uid"] for e in events],
                                "duplicates": [], "rejected": [],
                                "catalogue": 0,  # no catalogue version published yet
                                "citas": 0}  # nor any cita for this centre
    again = post(central_db, token, batch(*events)).get_json()
    assert again["accepted"] == [] and sorted(again["duplicates"]) == sorted(
        e["uid"] for e in events)
    assert sorted(stored(central_db)) == sorted(e["uid"] for e in events)


def test_a_bad_event_is_refused_with_a_reason_and_the_rest_of_its_batch_is_kept(
        central_db: Database, token: str) -> None:
    good, bad_kind, bad_time, personal = (event(1), event(2, kind="Not A Kind"),
                                          event(3, at="yesterday"), event(4, name="Ana Quispe"))
    answer = post(central_db, token, batch(good, bad_kind, bad_time, personal)).get_json()
    assert answer["accepted"] == [good["uid"]]
    reasons = {r["uid"]: r["reason"] for r in answer["rejected"]}
    assert reasons == {bad_kind["uid"]: "kind inválido",
                       bad_time["uid"]: "at debe ser una hora UTC AAAA-MM-DDTHH:MM:SS.ffffffZ",
                       personal["uid"]: "contiene datos personales sin seudonimizar"}
    assert stored(central_db) == [good["uid"]]


def test_only_a_registered_centre_may_send_and_only_for_itself(
        central_db: Database, token: str) -> None:
    assert post(central_db, "wrong", batch(event(1))).status_code == 401
    other = post(central_db, token, {**batch(event(1)), "centre": "otro"})
    assert other.status_code == 403 and other.get_json()["error"] == "centre_mismatch"
    assert post(central_db, token, None, raw=b"not gzip").status_code == 400
    assert post(central_db, token, None, raw=gzip.compress(b"<html>")).status_code == 400
    assert stored(central_db) == []


def test_tokens_are_kept_only_as_digests_and_a_new_token_replaces_the_old(
        central_db: Database) -> None:
    first = add_centre(central_db, "mac-cusco", "MAC Cusco")
    rows = central_db.conn().query("SELECT token_hash FROM centres WHERE code = 'mac-cusco'")
    assert rows == [{"token_hash": digest(first)}]
    second = add_centre(central_db, "mac-cusco")
    assert post(central_db, first, {**batch(), "centre": "mac-cusco"}).status_code == 401
    assert post(central_db, second, {**batch(), "centre": "mac-cusco"}).status_code == 200


def _day_of_events(db: Database, tok: str) -> None:
    def at(minute: int) -> str:
        return f"2026-11-27T14:{minute:02d}:00.000000Z"
    events = []
    for n, (wait, end) in enumerate(((10, "ticket.finished"), (20, "ticket.finished"),
                                     (40, "ticket.no_show"))):
        t = f"t{n}"
        story = [("ticket.issued", 0, {}), ("ticket.called", wait, {})]
        if end == "ticket.finished":  # attended 4 minutes, then rated 5 and 3
            story += [("ticket.started", wait + 1, {}), (end, wait + 5, {}),
                      ("ticket.rated", wait + 6, {"score": 5 - 2 * n})]
        else:
            story.append((end, wait + 5, {}))
        for kind, minute, more in story:
            e = event(len(events) + 1, kind, at(minute), **more)
            e["ticket"] = t
            events.append(e)
    queues = [{"code": "RN", "entity": "RENIEC", "name": "RENIEC", "max_wait_minutes": 30,
               "max_attention_minutes": 30}]
    assert post(db, tok, batch(*events, backlog=20, queues=queues)).status_code == 200


def test_the_dashboard_shows_centres_with_last_contact_backlog_and_their_indicators(
        central_db: Database, token: str) -> None:
    _day_of_events(central_db, token)
    add_centre(central_db, "mac-piura", "MAC Piura")
    page = viewer_client(central_db).get("/?from=2026-11-27&to=2026-11-27").get_data(
        as_text=True)
    assert "MAC de prueba" in page and "sin contacto" in page  # Piura never sent
    assert "<td>7</td>" in page  # backlog reported: 20 before a batch of 13
    # waits 10, 20 and 40 min: mean 23.3, median 20, 2 of 3 within the 30-min ANS
    assert "23.3" in page and "20.0" in page and "66.7 %" in page
    assert "<svg" in page and "http" not in page.split("<body>")[1].replace(
        'xmlns="http://www.w3.org/2000/svg"', "")  # no internet assets


def test_the_csv_export_is_utf8_with_bom_per_centre_and_entity(
        central_db: Database, token: str) -> None:
    _day_of_events(central_db, token)
    response = viewer_client(central_db).get("/export.csv?from=2026-11-27&to=2026-11-27")
    assert response.mimetype == "text/csv"
    raw = response.get_data()
    assert raw.startswith("\ufeff".encode())
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("centro,entidad,desde,hasta,emitidos,atendidos")
    assert (f"{CENTRE},RENIEC,2026-11-27,2026-11-27,3,2,1,0,0,3,23.3,20.0,0.667,"
            f"2,4.0,1.0,2,4.0,0.5") in lines


def test_the_cli_registers_a_centre_and_prints_a_token_that_works(tmp_path) -> None:
    url = f"sqlite:///{tmp_path}/central.sqlite"
    out = subprocess.run([sys.executable, "-m", "appliance", "central", "centre", "add", CENTRE,
                          "--db", url], capture_output=True, text=True, check=True)
    tok = out.stdout.strip()
    db = Database(url)
    try:
        assert post(db, tok, batch(event(1))).get_json()["accepted"]
    finally:
        db.close()


def test_a_centre_whose_clock_is_far_off_is_flagged_until_it_is_right_again(
        central_db: Database, token: str) -> None:
    from datetime import UTC, datetime, timedelta

    from sync.central.app import _state
    from sync.central.times import iso

    ahead = iso(datetime.now(UTC) + timedelta(days=4 * 365))
    answer = post(central_db, token, batch(event(1, at=ahead), event(2, at=ahead), event(3),
                                           sent_at=ahead))
    assert answer.status_code == 200 and len(answer.get_json()["accepted"]) == 3  # kept
    centre = central_db.conn().query("SELECT * FROM centres WHERE code = ?", (CENTRE,))[0]
    assert centre["clock_skew_seconds"] > 3 * 365 * 86400 and centre["future_events"] == 2
    assert _state(centre, datetime.now(UTC)) == "reloj del centro desfasado (+4 años)"
    post(central_db, token, batch(event(4), sent_at=iso(datetime.now(UTC))))
    centre = central_db.conn().query("SELECT * FROM centres WHERE code = ?", (CENTRE,))[0]
    assert centre["clock_skew_seconds"] is None and centre["future_events"] == 2
    assert _state(centre, datetime.now(UTC)) == "al día"


def test_the_dashboard_gives_each_entity_over_every_centre_or_one_centre_s_entities(
        central_db: Database, token: str) -> None:
    _day_of_events(central_db, token)
    client = viewer_client(central_db)
    page = client.get("/?from=2026-11-27&to=2026-11-27").get_data(as_text=True)
    table = page.split('id="h-entities"')[1]
    assert "en todos los centros" in table.split("</h2>")[0]
    assert "<td>(todos)</td><td class=\"text\">RENIEC</td>" in table
    one = client.get(f"/?from=2026-11-27&to=2026-11-27&centre={CENTRE}").get_data(
        as_text=True).split('id="h-entities"')[1]
    assert f"<td>{CENTRE}</td><td class=\"text\">RENIEC</td>" in one
    unknown = client.get("/?centre=nowhere").get_data(as_text=True)
    assert "en todos los centros" in unknown  # an unknown centre: every centre


def test_the_monthly_entity_report_adds_each_entity_over_every_centre(
        central_db: Database, token: str) -> None:
    from sync.central.entity_report import month_of

    _day_of_events(central_db, token)
    other = add_centre(central_db, "mac-piura", "MAC Piura")
    late = event(1, "ticket.issued", "2026-11-28T15:00:00.000000Z")
    called = event(2, "ticket.called", "2026-11-28T15:50:00.000000Z")  # a 50-minute wait
    late["payload"]["day"] = called["payload"]["day"] = "2026-11-28"
    piura = {**batch(late, called), "centre": "mac-piura"}
    assert post(central_db, other, piura).status_code == 200
    client = viewer_client(central_db)
    page = client.get("/entities?month=2026-11").get_data(as_text=True)
    assert "Entidades en todos los centros" in page and "mac-piura" in page
    lines = client.get("/entities.csv?month=2026-11").get_data().decode(
        "utf-8-sig").splitlines()
    assert lines[0].startswith("mes,entidad,centro,emitidos")
    # RENIEC over both centres: 4 issued, waits 10, 20, 40 and 50 (mean 30; a whole month's
    # median is to the minute, each wait at the middle of its minute: 30.5); Piura sent no
    # ANS target, so its wait is not judged: 2 of the 3 judged are within
    assert "2026-11,RENIEC,(todos),4,2,1,0,0,4,30.0,30.5,0.667,2,4.0,1.0,2,4.0,0.5" in lines
    assert f"2026-11,RENIEC,{CENTRE},3,2,1,0,0,3,23.3,20.5,0.667,2,4.0,1.0,2,4.0,0.5" in lines
    assert client.get("/entities.csv?month=2026-12").get_data().decode(
        "utf-8-sig").splitlines()[1:] == []  # another month: nothing
    assert client.get("/entities?month=not-a-month").status_code == 200  # this month
    assert month_of("2026-02") == ("2026-02", "2026-02-01", "2026-02-28")
    assert create_central_app(central_db).test_client().get(
        "/entities.csv?month=2026-11").status_code == 303  # a viewer's session only


def test_the_dashboard_shows_each_centre_s_day_so_far(central_db: Database, token: str) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from sync.central.times import iso

    now = datetime.now(UTC)
    today = now.astimezone(ZoneInfo("America/Lima")).date().isoformat()
    issued = event(1, "ticket.issued", iso(now.replace(minute=0, second=0)))
    called = event(2, "ticket.called", iso(now.replace(minute=12, second=0)))
    rated = event(3, "ticket.rated", iso(now.replace(minute=30, second=0)), score=5)
    for e in (issued, called, rated):
        e["payload"]["day"] = today
    queues = [{"code": "RN", "entity": "RENIEC", "name": "RENIEC", "max_wait_minutes": 15,
               "max_attention_minutes": 30}]
    assert post(central_db, token, batch(issued, called, rated, queues=queues)
                ).status_code == 200
    page = viewer_client(central_db).get("/").get_data(as_text=True)
    row = page.split("<td>demo-lima-norte</td>")[1].split("</tr>")[0]
    assert "<td>12.0</td>" in row and row.count("100.0 %") == 2  # waited 12 of 15; rated 5
