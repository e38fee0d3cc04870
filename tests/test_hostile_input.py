"""One phone on the guest Wi-Fi cannot stop the box, nor a centre's token the central, with a
body that the JSON parser accepts but nothing after it can hold: a lone surrogate, nesting a
hundred thousand levels deep, NaN, Infinity, 1e400 or an integer past 64 bits is a 400 with
the usual ``{error, message}``; so are report dates at the edges of the calendar. On the
central every error is JSON, a gzip bomb is a 413, and the page after the login is always
one of its own."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import gzip
import json
import uuid
import zlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.sync_support import (  # noqa: F401
    CENTRE,
    VIEWER_PASSWORD,
    central_db,
    pg_kind,
    post_login,
    token,
    viewer_client,
)
from sync.central import aggregates, viewers
from sync.central import app as central_app
from sync.central.app import create_central_app
from sync.central.db import Database

JSON = {"Content-Type": "application/json"}
AT = "2026-11-27T14:00:00.000000Z"
DEEP = b"[" * 60_000  # within the box's 64 KiB body limit (a longer one is a 413)
LONE_SURROGATE = rb'{"username": "\ud800", "password": "x"}'
OUT_OF_RANGE = ["9223372036854775808", "-9223372036854775809", "1" * 30, "1e400", "-1e400",
                "NaN", "Infinity", "-Infinity"]


def _refused(response: Any) -> None:
    """A 400 with the JSON error of a body that cannot be read."""
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    answer = response.get_json()
    assert answer["error"] == "invalid_json" and answer["message"]


# --------------------------------------------------------------------------- the box

def test_a_lone_surrogate_in_an_anonymous_login_is_a_400_json_error(app, users) -> None:
    client = app.test_client()
    _refused(client.post("/api/v1/auth/login", data=LONE_SURROGATE, headers=JSON))
    # an emoji written as a surrogate pair is one valid character: read, then a wrong PIN
    paired = client.post("/api/v1/auth/login", headers=JSON,
                         data=rb'{"username": "supervisor", "password": "\ud83d\ude00"}')
    assert paired.status_code == 401


@pytest.mark.parametrize("raw", [
    rb'{"service_id": 76, "label": "\udfff"}',
    rb'{"service_id": 76, "\udc00": 1}',  # a key, not only a value
    rb'{"service_id": 76, "visit": [{"note": "\ud83d"}]}',  # half of an emoji
])
def test_a_lone_surrogate_anywhere_in_a_ticket_body_is_a_400(app, kiosk_token, raw) -> None:
    response = app.test_client().post("/api/v1/tickets", data=raw, headers={
        **JSON, "Authorization": f"Bearer {kiosk_token}"})
    _refused(response)


@pytest.mark.parametrize("raw", [DEEP, b'{"a":' * 12_000, b"[" * 33 + b"]" * 33])
def test_json_nested_deeper_than_32_levels_is_a_400_before_it_is_parsed(
        app, users, raw) -> None:
    client = app.test_client()
    response = client.post("/api/v1/auth/login", data=raw, headers=JSON)
    _refused(response)
    assert "32" in response.get_json()["message"]
    # brackets inside strings are text, not nesting
    texts = client.post("/api/v1/auth/login", headers=JSON, data=json.dumps(
        {"username": "supervisor", "password": "[" * 1000 + '\\"{' * 100}).encode())
    assert texts.status_code == 401


@pytest.mark.parametrize("number", OUT_OF_RANGE)
def test_numbers_sqlite_cannot_hold_are_refused_when_the_body_is_read(
        app, kiosk_token, number: str) -> None:
    for raw in (f'{{"service_id": {number}}}', f'{{"service_id": 76, "visit": [{number}]}}'):
        response = app.test_client().post("/api/v1/tickets", data=raw.encode(), headers={
            **JSON, "Authorization": f"Bearer {kiosk_token}"})
        _refused(response)


def test_an_ans_target_past_64_bits_is_refused_before_it_reaches_the_database(login) -> None:
    supervisor = login("supervisor")
    response = supervisor.client.post(
        "/api/v1/ans", headers={**JSON, "X-CSRF-Token": supervisor.csrf},
        data=b'{"queue": "RN", "max_wait_minutes": 1e400, "max_attention_minutes": 20, '
             b'"valid_from": "2026-11-27"}')
    _refused(response)


@pytest.mark.parametrize("query", [
    "from=9999-12-31", "from=9999-12-30&to=9999-12-31", "period=month&date=9999-12-31",
    "period=week&date=9999-12-31", "period=week&date=0001-01-01", "from=0001-01-01"])
def test_report_dates_at_the_edges_of_the_calendar_are_a_400(login, query: str) -> None:
    supervisor = login("supervisor")
    for path in ("/api/v1/reports", "/api/v1/reports/audit"):
        response = supervisor.get(f"{path}?{query}")
        assert response.status_code == 400, (path, response.get_data(as_text=True)[:300])
        assert response.get_json()["error"] == "invalid_date"
    sane = supervisor.get("/api/v1/reports?period=month&date=2999-12-31")
    assert sane.status_code == 200 and sane.get_json()["to"] == "2999-12-31"


# --------------------------------------------------------------------------- the central

def _ingest(db: Database, tok: str, raw: bytes, *, gzipped: bool = True) -> Any:
    headers = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        raw = gzip.compress(raw)
    return create_central_app(db).test_client().post("/api/v1/ingest", data=raw,
                                                     headers=headers)


def _batch_text(slot: str) -> bytes:
    """A batch of one event whose ``actor`` is the JSON text ``slot``."""
    return (f'{{"centre": "{CENTRE}", "batch_id": "{uuid.uuid4().hex}", "events": [{{'
            f'"uid": "{uuid.uuid4().hex}", "seq": 1, "kind": "ticket.issued", "at": "{AT}", '
            f'"actor": {slot}, "counter": null, "ticket": "t1", "payload": {{"queue": "RN", '
            f'"day": "2026-11-27", "step": 1}}}}]}}').encode()


def _stored(db: Database) -> int:
    return int(db.conn().query("SELECT COUNT(*) AS n FROM events")[0]["n"])


@pytest.mark.parametrize("slot", [r'"\ud800"', r'"ana\u0000"', "[" * 100_000, *OUT_OF_RANGE],
                         ids=["surrogate", "nul", "deep", *OUT_OF_RANGE])
def test_hostile_json_sent_to_the_ingest_is_a_400_json_error_and_stores_nothing(
        central_db: Database, token: str, slot: str) -> None:
    _refused(_ingest(central_db, token, _batch_text(slot)))
    _refused(_ingest(central_db, token, _batch_text(slot), gzipped=False))
    assert _stored(central_db) == 0
    clean = _ingest(central_db, token, _batch_text('"h:abc"'))
    assert clean.status_code == 200 and len(clean.get_json()["accepted"]) == 1


def test_integers_past_64_bits_are_refused_wherever_the_batch_holds_them(
        central_db: Database, token: str) -> None:
    big = 2 ** 63
    for raw in (_batch_text("null").replace(b'"seq": 1', f'"seq": {big}'.encode()),
                _batch_text("null").replace(b'"centre"', f'"backlog": {big}, "centre"'.encode()),
                _batch_text("null").replace(b'"centre"', b'"queues": [{"code": "RN", '
                                            b'"max_wait_minutes": ' + str(big).encode()
                                            + b', "max_attention_minutes": 1}], "centre"')):
        _refused(_ingest(central_db, token, raw))
    assert _stored(central_db) == 0


def test_a_gzip_bomb_is_refused_with_a_413_json_error(central_db: Database, token: str) -> None:
    """Past 64 MiB inflated: more than the largest batch a box may send (50 MB)."""
    bomb = gzip.compress(b" " * (64 * 1024 * 1024 + 1), compresslevel=9)
    assert len(bomb) < 1024 * 1024
    response = create_central_app(central_db).test_client().post(
        "/api/v1/ingest", data=bomb, headers={"Authorization": f"Bearer {token}",
                                              "Content-Encoding": "gzip"})
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"


def test_inflating_never_holds_more_than_the_cap_and_one_chunk(monkeypatch) -> None:
    monkeypatch.setattr(central_app, "MAX_INFLATED", 10_000)
    monkeypatch.setattr(central_app, "INFLATE_CHUNK", 1_000, raising=False)
    sizes: list[int] = []
    real = zlib.decompressobj

    class Watched:
        def __init__(self, *args: Any) -> None:
            self.inner = real(*args)

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            assert 0 < max_length <= 1_000  # never "all of it at once"
            out = self.inner.decompress(data, max_length)
            sizes.append(len(out))
            return out

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    monkeypatch.setattr(zlib, "decompressobj", Watched)
    with pytest.raises(central_app.BadBatch) as refused:
        central_app._inflate(gzip.compress(b"0" * 10_000_000))
    assert refused.value.status == 413 and sum(sizes) <= 11_000
    assert bytes(central_app._inflate(gzip.compress(b"x" * 9_000))) == b"x" * 9_000


def test_a_truncated_gzip_body_is_a_400_bad_gzip(central_db: Database, token: str) -> None:
    whole = gzip.compress(_batch_text("null"))
    response = create_central_app(central_db).test_client().post(
        "/api/v1/ingest", data=whole[: len(whole) // 2],
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"})
    assert response.status_code == 400 and response.get_json()["error"] == "bad_gzip"


def _json_error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    answer: dict[str, Any] = response.get_json()
    assert set(answer) == {"error", "message"} and answer["message"]
    return answer


def test_every_error_of_the_central_is_json(central_db: Database, monkeypatch) -> None:
    client = viewer_client(central_db)
    assert _json_error(client.get("/no-existe"), 404)["error"] == "not_found"
    assert _json_error(client.get("/static/no-existe.css"), 404)["error"] == "not_found"
    not_allowed = client.get("/api/v1/ingest")
    assert _json_error(not_allowed, 405)["error"] == "method_not_allowed"
    assert "POST" in not_allowed.headers["Allow"]
    client.application.config["MAX_CONTENT_LENGTH"] = 1000
    too_large = client.post("/login", data={"usuario": "x" * 2000, "contrasena": "y"})
    assert _json_error(too_large, 413)["error"] == "too_large"

    def broken(*args: Any) -> None:
        raise RuntimeError("la base se cayó")
    monkeypatch.setattr(aggregates, "read", broken)  # what the dashboard reads
    failed = client.get("/")
    assert _json_error(failed, 500)["error"] == "internal"
    assert "la base se cayó" not in failed.get_data(as_text=True)


def test_the_dashboard_answers_for_dates_at_the_edge_of_the_calendar(
        central_db: Database) -> None:
    client = viewer_client(central_db)
    for query in ("to=0001-01-01", "from=0001-01-01&to=0001-01-02", "from=9999-12-31"):
        assert client.get(f"/?{query}").status_code == 200, query
        assert client.get(f"/export.csv?{query}").status_code == 200, query


def _login(client: Any, target: str, name: str = "analista") -> Any:
    return post_login(client, name, VIEWER_PASSWORD, next=target)


@pytest.mark.parametrize("target", ["/\t/evil.example", "/\n/evil.example",
                                    "/\r\n/evil.example", "/\r\nSet-Cookie: x=1",
                                    "/\x00/evil.example", "/\x7f/evil.example"])
def test_after_login_next_never_leads_off_site_and_never_fails(
        central_db: Database, target: str) -> None:
    viewers.add_viewer(central_db, "analista", VIEWER_PASSWORD)
    client = create_central_app(central_db).test_client()
    response = _login(client, target)
    assert response.status_code == 303 and response.headers["Location"] == "/"
    # logged in, the login page sends on at once, to the same place
    again = client.get("/login", query_string={"next": target})
    assert again.status_code == 303 and again.headers["Location"] == "/"
    # a path of this site is still where the login leads
    assert _login(client, "/export.csv?a=b/c//d").headers["Location"] == "/export.csv?a=b/c//d"


@pytest.mark.parametrize("name, password", [("ana\x00lista", VIEWER_PASSWORD),
                                            ("analista", VIEWER_PASSWORD + "\x00"),
                                            ("ana\tlista", VIEWER_PASSWORD)])
def test_control_characters_in_the_login_form_are_a_400_json_error(
        central_db: Database, name: str, password: str) -> None:
    viewers.add_viewer(central_db, "analista", VIEWER_PASSWORD)
    response = create_central_app(central_db).test_client().post(
        "/login", data={"usuario": name, "contrasena": password})
    assert _json_error(response, 400)["error"] == "invalid_form"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("raw", [rb'{"usuario": "\ud800", "contrasena": "x"}', b"[" * 100_000,
                                 b'{"usuario": "analista", "contrasena": NaN}'])
def test_hostile_json_sent_to_the_login_form_is_a_400_json_error(
        central_db: Database, raw: bytes) -> None:
    viewers.add_viewer(central_db, "analista", VIEWER_PASSWORD)
    response = create_central_app(central_db).test_client().post("/login", data=raw,
                                                                 headers=JSON)
    assert _json_error(response, 400)["error"] == "invalid_form"
    assert "Set-Cookie" not in response.headers


# --------------------------------------------------------------------------- the property

LONE = st.sampled_from([0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xD83D]).map(lambda c: f'"\\u{c:04x}"')
EXTREME = (st.sampled_from(OUT_OF_RANGE)
           | st.integers(min_value=2 ** 63).map(str)
           | st.integers(max_value=-(2 ** 63) - 1).map(str))
NESTED = st.builds(lambda n, inner: "[" * n + inner + "]" * n,
                   st.integers(min_value=33, max_value=5_000), st.sampled_from(["1", '"x"']))
OBJECTS = st.integers(min_value=33, max_value=5_000).map(lambda n: '{"a":' * n + "1" + "}" * n)
PLAIN = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.text(max_size=5)).map(
    json.dumps)
HOSTILE = st.one_of(LONE, EXTREME, NESTED, OBJECTS, PLAIN)


def _fill(template: str, values: list[str]) -> bytes:
    return template.format(*values).encode("utf-8", "surrogatepass")


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(slots=st.lists(HOSTILE, min_size=3, max_size=3),
       route=st.sampled_from(["login", "ticket"]), mangle=st.booleans())
def test_no_hostile_json_body_gets_a_server_error_from_the_box(
        app, kiosk_token, slots: list[str], route: str, mangle: bool) -> None:
    client = app.test_client()
    if route == "login":
        raw = _fill('{{"username": {0}, "password": {1}, "extra": {2}}}', slots)
        response = client.post("/api/v1/auth/login", data=raw, headers=JSON)
    else:
        raw = _fill('{{"service_id": {0}, "visit": [{1}], "label": {2}}}', slots)
        response = client.post("/api/v1/tickets", data=raw[:-1] if mangle else raw,
                               headers={**JSON, "Authorization": f"Bearer {kiosk_token}"})
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert set(response.get_json()) >= {"error", "message"} or response.status_code < 300


@settings(max_examples=60, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.data_too_large])
@given(slots=st.lists(HOSTILE, min_size=3, max_size=3), gzipped=st.booleans())
def test_no_hostile_json_body_gets_a_server_error_from_the_central_ingest(
        central_db: Database, token: str, slots: list[str], gzipped: bool) -> None:
    raw = _batch_text(slots[0]).replace(b'"seq": 1', b'"seq": ' + _fill("{0}", slots[1:2]))
    raw = raw.replace(b'"step": 1', b'"step": ' + _fill("{0}", slots[2:3]))
    response = _ingest(central_db, token, raw, gzipped=gzipped)
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"


# --------------------------------------------------------------------------- the reader

def test_the_strict_reader_reads_what_json_reads_when_it_is_holdable() -> None:
    from sync import strict_json
    text = '{"a": [1, -2.5, "ñ😀", {"b": null}], "c": 9223372036854775807, "d": 1e308}'
    assert strict_json.loads(text.encode("utf-8")) == json.loads(text)
    assert strict_json.loads(text.encode("utf-16")) == json.loads(text)
    with pytest.raises(strict_json.Refused):
        strict_json.loads(b'{"a": "\xff"}')  # not UTF-8: refused, never replaced
    with pytest.raises(strict_json.Refused):
        strict_json.loads('"' + '\\"' * 50_000)  # an unterminated string of escaped quotes
    for text in ("1" * 5000, "[" * 1_000_000, '{"a": NaN}', "[1e999]", '["\ud800"]'):
        with pytest.raises(strict_json.Refused):
            strict_json.loads(text)
