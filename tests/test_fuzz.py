"""Fuzzing with hypothesis, where the input comes from people or files: the configuration
loader (any TOML text, any value for any key, any environment override) fails only with its
own ConfigError; the spoken phrases and number words never fail on a label or módulo the
engine can produce and refuse anything else with ValueError only; the ticket renderer takes
any text (unicode, emoji, control characters, very long) without an exception or a smuggled
printer command, and prints every character of its code page as itself; and no request a
client can make, to any route of the app, page or API, gets a server error.

Example counts are bounded (``FAST``) so the whole file runs in seconds on a small machine;
the OpenAPI-driven fuzzing of every API operation is in test_openapi.py."""

from __future__ import annotations

import copy
import json
import math
import re
import string
import unicodedata
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appliance import parts
from appliance.app import create_app
from appliance.cli import CHECKS
from appliance.runtime import open_store
from config import ConfigError, Settings, load_settings
from config.demo import demo_data, demo_settings
from config.model import ARRAYS, SECTIONS
from hardware.printer import PrintableTicket, PrinterSettings, decode_text, qr_payloads, render
from hardware.printer.codepage import fit_text, table
from hardware.printer.stream import Code2D, Command, Raster, tokens
from hardware.speaker.numbers import MAX, WORDS
from hardware.speaker.phrases import LANGUAGES, Call, phrase
from tests.conftest import PIN, START
from turnero import accounts, day, tickets
from turnero.clock import ManualClock, to_iso
from turnero.store import Store

FAST = settings(max_examples=60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --- configuration ----------------------------------------------------------------------------

# A small valid centre: the mutations below start from something that loads.
BASE: dict[str, Any] = {
    "centre": {"code": "mac-prueba", "name": "MAC de prueba"},
    "entities": [{"code": "RENIEC", "name": "Registro Nacional"}],
    "queues": [{"code": "RN", "entity": "RENIEC", "prefix": "RN"},
               {"code": "RC", "entity": "RENIEC", "prefix": "RC"}],
    "services": [{"id": 1, "queue": "RN", "name": "DNI"},
                 {"id": 2, "queue": "RC", "name": "Certificados", "appointments": True}],
    "counters": [{"number": 1, "entity": "RENIEC", "queues": ["RN", "RC"],
                  "weights": {"RN": 2}}],
    "printers": [{"name": "kiosko-1", "devices": ["kiosk-1"], "reception": True}],
    "schedule": {"holidays": ["2026-06-29"]},
    "uplink": {"timeout_seconds": 5.0},
}
KEYS = sorted({(name, False, f.name) for name, cls in SECTIONS.items() for f in fields(cls)}
              | {(name, True, f.name) for name, cls in ARRAYS.items() for f in fields(cls)})
FLOAT_KEYS = [(s, a, k) for s, a, k in KEYS
              if (ARRAYS if a else SECTIONS)[s].__annotations__.get(k) == "float"]

TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
SCALARS = st.one_of(st.booleans(), st.integers(-2**63, 2**63 - 1), st.floats(), TEXT,
                    st.dates(), st.times(),
                    st.datetimes(timezones=st.none() | st.just(timezone(timedelta(hours=-5)))))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)
TARGETS = st.sampled_from(KEYS) | st.tuples(
    st.sampled_from([*SECTIONS, *ARRAYS, "otra_seccion"]), st.booleans(), st.none() | TEXT)
MUTATIONS = st.lists(st.tuples(TARGETS, VALUES, st.integers(0, 2)), min_size=1, max_size=4)


def _mutated(base: dict[str, Any], mutations: list[tuple[Any, Any, int]]) -> dict[str, Any]:
    """``base`` with each (section, is array, key) set to a value (a key of None replaces the
    whole section; an index past the end adds an array element)."""
    data = copy.deepcopy(base)
    for (section, array, key), value, index in mutations:
        if key is None:
            data[section] = value
        elif array:
            items = data.get(section)
            if not isinstance(items, list):
                items = data[section] = []
            if index < len(items) and isinstance(items[index], dict):
                items[index][key] = value
            else:
                items.append({key: value})
        else:
            table_ = data.get(section)
            if not isinstance(table_, dict):
                table_ = data[section] = {}
            table_[key] = value
    return data


def _loads_or_config_error(**kwargs: Any) -> Settings | ConfigError:
    """The loader's only two outcomes: settings, or a ConfigError that names each problem."""
    try:
        return load_settings(checks=CHECKS, **kwargs)
    except ConfigError as exc:
        assert exc.problems and all(p.message and p.key for p in exc.problems)
        assert exc.render().count("\n") == len(exc.problems) - 1
        return exc


def _finite_floats(found: Settings) -> bool:
    for section in SECTIONS:
        value = getattr(found, section)
        if any(isinstance(getattr(value, f.name), float)
               and not math.isfinite(getattr(value, f.name)) for f in fields(value)):
            return False
    return True


def test_the_base_centre_of_the_config_fuzzing_is_valid():
    assert isinstance(_loads_or_config_error(data=BASE, environ={}), Settings)


@FAST
@given(MUTATIONS)
def test_any_value_for_any_config_key_loads_or_fails_with_a_config_error(mutations):
    found = _loads_or_config_error(data=_mutated(BASE, mutations), environ={})
    if isinstance(found, Settings):
        assert _finite_floats(found)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (datetime, type(START.date()), type(START.time()))):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}"
                               for k, v in value.items()) + "}"
    raise TypeError(value)


def _toml(data: dict[str, Any]) -> list[str]:
    """TOML lines for ``data``: top-level values first, then tables, then arrays of tables."""
    lines, tables = [], []
    for name, value in data.items():
        key = json.dumps(name, ensure_ascii=False)
        if isinstance(value, dict):
            tables += [f"[{key}]", *(f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}"
                                     for k, v in value.items())]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                tables += [f"[[{key}]]", *(f"{json.dumps(k, ensure_ascii=False)} = "
                                           f"{_toml_value(v)}" for k, v in item.items())]
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return lines + tables


@FAST
@given(MUTATIONS, st.lists(st.tuples(st.integers(0, 60), TEXT), max_size=3))
def test_any_toml_file_loads_or_fails_with_a_config_error_naming_its_line(
        tmp_path_factory: pytest.TempPathFactory, mutations, noise):
    lines = _toml(_mutated(BASE, mutations))
    for at, text in noise:  # stray lines anywhere: comments, garbage, half a table header
        lines.insert(min(at, len(lines)), text)
    path = tmp_path_factory.mktemp("toml") / "centro.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    found = _loads_or_config_error(path=path, environ={})
    if isinstance(found, ConfigError):
        assert all(str(path) in row for row in found.render().splitlines())


@FAST
@given(st.binary(max_size=200))
def test_any_bytes_as_a_config_file_fail_with_a_config_error(
        tmp_path_factory: pytest.TempPathFactory, data: bytes):
    path = tmp_path_factory.mktemp("bytes") / "centro.toml"
    path.write_bytes(data)
    assert isinstance(_loads_or_config_error(path=path, environ={}), ConfigError)


ENV_NAMES = st.sampled_from([f"{s.upper()}__{k.upper()}" for s, a, k in KEYS if not a]) | (
    st.text(alphabet=string.ascii_letters + string.digits + "_", max_size=30))


@FAST
@given(st.dictionaries(ENV_NAMES, TEXT, max_size=4))
def test_any_environment_override_loads_or_fails_with_a_config_error(overrides):
    environ = {f"MAC_TURNOS__{name}": value for name, value in overrides.items()}
    found = _loads_or_config_error(data=BASE, environ={**environ, "HOME": "/nowhere"})
    if isinstance(found, Settings):
        assert _finite_floats(found)


@pytest.mark.parametrize("zone", ["America", "America/" + "x" * 300, "../etc/passwd",
                                  "America/Lima\x00"])
def test_a_time_zone_that_is_a_folder_or_too_long_is_a_config_error(zone: str):
    found = _loads_or_config_error(data={**BASE, "centre": {**BASE["centre"],
                                                            "timezone": zone}}, environ={})
    assert isinstance(found, ConfigError)
    assert [p.key for p in found.problems] == ["centre.timezone"]


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("key", FLOAT_KEYS, ids=lambda k: f"{k[0]}.{k[2]}")
def test_a_float_key_refuses_nan_and_infinity(key: tuple[str, bool, str], value: float):
    """nan slips past every bound (each comparison is false) and would reach timers and
    JSON answers; it is refused by name like any other bad value."""
    found = _loads_or_config_error(data=_mutated(BASE, [(key, value, 0)]), environ={})
    assert isinstance(found, ConfigError)
    assert any(p.key.endswith(key[2]) for p in found.problems)


def test_a_key_with_a_line_break_is_reported_quoted_on_one_line():
    found = _loads_or_config_error(data=_mutated(BASE, [(("centre", False, "a\nb"), 1, 0)]),
                                   environ={})
    assert isinstance(found, ConfigError)
    assert found.render() == '<built-in>: centre."a\\u000ab": unknown key'


def test_the_demo_centre_survives_the_same_checks():
    assert isinstance(_loads_or_config_error(data=demo_data(), environ={}), Settings)


# --- phrases and number words ----------------------------------------------------------------

ENGINE_LABELS = st.builds(lambda prefix, n: f"{prefix}-{n:03d}",
                          st.from_regex(r"[A-Z]{1,3}", fullmatch=True), st.integers(0, MAX))


@FAST
@given(ENGINE_LABELS, st.integers(1, 999), st.sampled_from(LANGUAGES), st.booleans())
def test_every_label_and_modulo_the_engine_makes_is_spoken_in_words_in_every_language(
        label: str, counter: int, language: str, recall: bool):
    text = phrase(Call(label, str(counter), recall=recall), language)
    assert text.strip() and not any(c.isdigit() for c in text)
    assert WORDS[language](int(label.split("-")[1])) in text
    assert WORDS[language](counter) in text


@settings(max_examples=150, deadline=None, database=None)
@given(st.one_of(ENGINE_LABELS, st.text(max_size=30)),
       st.one_of(st.integers(1, 999).map(str), st.text(max_size=30)),
       st.sampled_from(LANGUAGES), st.booleans())
def test_any_label_or_modulo_name_gives_a_phrase_or_a_value_error_never_another_failure(
        label: str, counter: str, language: str, recall: bool):
    """The announcer plays the chime alone for a call it cannot say (a ValueError); any
    other exception would be a bug that silences the TVs."""
    try:
        text = phrase(Call(label, counter, recall=recall), language)
    except ValueError:
        return
    assert isinstance(text, str) and text.strip()


@FAST
@given(st.sampled_from(["Ventanilla", "12A", "Módulo Ñ", "Ω", "12É", "Caja 3b", "ÀÉÎ"]),
       st.sampled_from(LANGUAGES))
def test_a_modulo_named_with_any_letters_is_spoken(counter: str, language: str):
    assert phrase(Call("RN-023", counter), language).strip()


@settings(max_examples=200, deadline=None, database=None)
@given(st.sampled_from(LANGUAGES), st.integers(0, MAX), st.integers(0, MAX))
def test_number_words_are_words_and_two_numbers_never_sound_the_same(
        language: str, a: int, b: int):
    words = WORDS[language](a)
    assert words.strip() and not any(c.isdigit() for c in words)
    assert words == WORDS[language](a)
    if a != b:
        assert words != WORDS[language](b)


@FAST
@given(st.sampled_from(LANGUAGES), st.one_of(st.integers(max_value=-1),
                                             st.integers(min_value=MAX + 1)))
def test_a_number_out_of_range_is_a_value_error(language: str, n: int):
    with pytest.raises(ValueError):
        WORDS[language](n)


# --- the printed ticket -----------------------------------------------------------------------

PAGES = ("CP858", "CP850", "ISO_8859-15")
LIMA = timezone(timedelta(hours=-5))
URL = "http://192.0.2.1:8080/t/Qm9sZXRvLTAyMw"
ANY_TEXT = st.text(max_size=300) | st.text(max_size=3000) | st.sampled_from(
    ["😀 turno", "\x1b@reset", "corte\x1dV\x00", "\x10\x14\x01\x00\x05", "a\r\nb\tc", "\x7f\x85",
     "ñandú ¿Dónde? ¡Sí! – “citas”", "قسم", "漢字", "e\u0301"])


def _ticket(**changes: Any) -> PrintableTicket:
    ticket = PrintableTicket(
        centre="Centro MAC", entity="RENIEC", label="RN-023", service="Duplicado de DNI",
        category="Adulto mayor", issued_at=datetime(2026, 11, 27, 9, 5, tzinfo=LIMA),
        people_ahead=3, wait_minutes=12, status_url=URL, footer="Gracias")
    return replace(ticket, **changes)


def _commands(data: bytes, page: str) -> list[Any]:
    return [t for t in tokens(data, page) if isinstance(t, (Command, Code2D, Raster))]


@FAST
@given(centre=ANY_TEXT, entity=ANY_TEXT, label=ANY_TEXT, service=ANY_TEXT,
       category=st.none() | ANY_TEXT, footer=ANY_TEXT, page=st.sampled_from(PAGES),
       width=st.sampled_from([32, 48]), language=st.sampled_from(["es", "qu", "en"]))
def test_any_ticket_text_renders_without_error_and_smuggles_no_printer_command(
        centre, entity, label, service, category, footer, page, width, language):
    settings_ = PrinterSettings(name="k", transport="virtual", target="", codepage=page,
                                width=width)
    ticket = _ticket(centre=centre, entity=entity, label=label, service=service,
                     category=category, footer=footer, language=language)
    data = render(ticket, settings_)
    text = decode_text(data, page)  # parses: no stray control byte
    assert not [c for c in text if unicodedata.category(c) == "Cc" and c != "\n"]
    # Exactly the commands of a plain ticket of the same shape: nothing came from the texts.
    plain = _ticket(centre="x", entity="x", service="x", footer="x" if footer else "",
                    label="x" * len(fit_text(label, page)), category="x" if category else None,
                    language=language)
    assert _commands(data, page) == _commands(render(plain, settings_), page)
    assert qr_payloads(data) == [URL]


def _printable(page: str) -> str:
    """The characters ``page`` prints as themselves (no control characters)."""
    high = "".join(c for c in table(page) if c)
    return "".join(c for c in string.printable[:95] + high
                   if unicodedata.category(c) != "Cc" and unicodedata.normalize("NFC", c) == c)


@FAST
@given(st.data(), st.sampled_from(PAGES))
def test_every_character_of_the_code_page_prints_as_itself(data: st.DataObject, page: str):
    chars = _printable(page)
    label = data.draw(st.text(alphabet=chars, min_size=1, max_size=60), label="label")
    footer = data.draw(st.text(alphabet=chars, max_size=500), label="footer")
    lines = decode_text(render(_ticket(centre="C", entity="E", label=label, footer=footer),
                               PrinterSettings(name="k", transport="virtual", target="",
                                               codepage=page)), page).split("\n")
    assert lines[:5] == ["C", "E", "", label, ""]  # the label, exactly as given
    scan = lines.index("Escanee para seguir su turno")
    printed_footer = "".join(lines[scan + 2:-1]) if footer else ""
    assert "".join(printed_footer.split()) == "".join(footer.split())  # wrapped, not changed


# --- no server error for anything a client can send ------------------------------------------

@dataclass
class Box:
    app: Flask
    store: Store
    samples: dict[str, list[str]]
    credentials: dict[str, dict[str, str]]
    enrolled: int = 0

    def client(self, caller: str) -> tuple[FlaskClient, dict[str, str]]:
        """A client and headers of a caller whose credentials still work (a fuzzed request
        may have logged the supervisor out, reset a PIN or revoked the kiosk)."""
        client = self.app.test_client()
        if caller == "anonymous":
            return client, {}
        found = self.credentials.get(caller)
        alive = False
        if found and caller == "supervisor":
            alive = accounts.session_principal(self.store.reader(), found["session"],
                                               to_iso(self.store.now())) is not None
        elif found:
            alive = accounts.device_principal(self.store.reader(),
                                              found["Authorization"][7:]) is not None
        if not alive:
            self.credentials[caller] = found = self._renew(caller)
        assert found is not None
        if caller != "supervisor":
            return client, dict(found)
        client.set_cookie("mt_session", found["session"])
        return client, {"X-CSRF-Token": found["csrf"]}

    def _renew(self, caller: str) -> dict[str, str]:
        if caller != "supervisor":
            self.enrolled += 1
            role = "kiosk" if caller == "kiosk" else "display"
            token = accounts.enrol_device(self.store, f"{role}-{self.enrolled}", role)
            return {"Authorization": f"Bearer {token}"}
        accounts.set_secret(self.store, "supervisor", PIN, security=demo_settings().security)
        accounts.set_disabled(self.store, "supervisor", False)
        client = self.app.test_client()
        answer = client.post("/api/v1/auth/login", json={"username": "supervisor",
                                                         "password": PIN},
                             # an address of its own: fuzzed failed logins come from another
                             environ_base={"REMOTE_ADDR": "127.0.0.9"})
        assert answer.status_code == 200, answer.get_json()
        cookie = client.get_cookie("mt_session")
        assert cookie is not None
        return {"session": cookie.value, "csrf": answer.get_json()["csrf_token"]}


@pytest.fixture(scope="module")
def box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Box]:
    settings_ = demo_settings()
    store = open_store(settings_, tmp_path_factory.mktemp("fuzz"), clock=ManualClock(START))
    day.open_day(store, actor="test")
    for name, role in (("supervisor", "supervisor"), ("orientador", "receptionist")):
        accounts.create_user(store, name, role, PIN, security=settings_.security)
    issued = [tickets.issue_ticket(store, service_id=76, channel="reception")[0]
              for _ in range(3)]
    app = create_app(settings_, store, TESTING=True, SSE_HEARTBEAT_SECONDS=0.05)
    samples = {"uid": [t["uid"] for t in issued], "token": [t["token"] for t in issued],
               "counter_id": ["1", "2", "0", "999999999999999999999"],
               "code": ["RN", "RC", "BN"], "name": ["orientador", "kiosko-demo", "tv-1"],
               "language": ["es", "qu", "en"], "job_id": ["1"], "file": ["chime.wav"],
               "filename": ["common.css", "kiosk.js"]}
    yield Box(app, store, samples, {})
    for stop in parts.of(app).on_stop:
        stop()
    parts.of(app).printing.stop()
    store.close()


FIELDS = ["service_id", "priority", "document", "document_type", "name", "visit",
          "appointment", "language", "uid", "reason", "outcome", "queue", "position", "score",
          "text", "minutes", "username", "password", "pin", "role", "entity", "checks",
          "full_name", "csrf_token"]
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | TEXT | st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.sampled_from(FIELDS) | TEXT, inner, max_size=4),
                    max_leaves=10)
BODIES = st.one_of(st.none(), st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=5)
                   .map(lambda d: json.dumps(d).encode()),
                   JSON.map(lambda v: json.dumps(v).encode()), st.binary(max_size=40))
QUERY_NAMES = ["label", "document", "lang", "sub", "rows", "idle", "voice", "entities", "after",
               "counter", "from", "to", "group", "format", "day"]
HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF,
                                             exclude_characters="\x7f"), max_size=40)


def _fill(box: Box, rule: str, data: st.DataObject) -> str:
    def value(match: Any) -> str:
        name = match.group(2)
        drawn = data.draw(st.sampled_from(box.samples.get(name, ["x"])) | st.text(max_size=20)
                          | st.integers(-10, 10**20).map(str), label=name)
        return urllib.parse.quote(drawn, safe="")
    return re.sub(r"<(int:|path:|[a-z]+:)?([a-z_]+)>", value, rule)


@FAST
@given(st.one_of(st.datetimes(timezones=st.timezones()).map(datetime.isoformat),
                 st.datetimes().map(datetime.isoformat), TEXT),
       st.sampled_from([76, 93]))
def test_any_appointment_time_is_answered_without_a_server_error_and_breaks_no_view(
        box: Box, appointment: str, service: int):
    """A slot far outside any real day was once stored and then broke every view of the
    ticket (its UTC year does not exist): it must be refused before it is written."""
    client, headers = box.client("supervisor")
    answer = client.post("/api/v1/tickets", headers=headers,
                         json={"service_id": service, "appointment": appointment})
    assert answer.status_code in (200, 201, 400, 409), answer.get_json()
    for view in ("/api/v1/floor", "/api/v1/queues", "/api/v1/tickets?label=RN-001"):
        assert client.get(view, headers=headers).status_code == 200, view


@settings(max_examples=250, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_no_request_to_any_route_gets_a_server_error(box: Box, data: st.DataObject):
    routes = sorted((method, rule.rule) for rule in box.app.url_map.iter_rules()
                    for method in (rule.methods or set()) - {"OPTIONS"})
    method, rule = data.draw(st.sampled_from(routes), label="route")
    caller = data.draw(st.sampled_from(["anonymous", "kiosk", "display", "supervisor"]),
                       label="caller")
    client, headers = box.client(caller)
    extra = data.draw(st.dictionaries(st.sampled_from(
        ["Idempotency-Key", "X-CSRF-Token", "Origin", "Sec-Fetch-Site", "Authorization",
         "Cookie", "Content-Type", "Accept-Language"]), HEADER_TEXT, max_size=2), label="headers")
    if data.draw(st.booleans(), label="fuzz the headers"):
        headers.update(extra)
    query = data.draw(st.dictionaries(st.sampled_from(QUERY_NAMES) | TEXT, TEXT, max_size=3),
                      label="query")
    payload = data.draw(BODIES, label="body") if method != "GET" else None
    response = client.open(
        _fill(box, rule, data), method=method, query_string=query, data=payload,
        headers=headers, content_type="application/json", buffered=False)
    try:
        status = response.status_code
        detail = response.get_data()[:300] if status >= 500 else b""
    finally:
        response.close()  # ends a live stream
    assert status < 500, (method, rule, caller, status, detail)
