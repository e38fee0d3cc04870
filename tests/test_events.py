"""Declared events: the engine records only the kinds and payload fields declared in
turnero/events.py; every kind its readers name (the pages' JavaScript, the announcer, the
desks' devices, the reports' replay, the central) is declared; every declared kind is
recorded somewhere; and docs/events.md is generated from the declarations.

The kinds are found in the source as string literals shaped like a kind (``"ticket.called"``,
two lowercase words joined by a dot). Literals of that shape that are not kinds are left out by
one rule, ``not_a_kind``: file names (``"desk.html"``), logger names (the argument of
``getLogger``) and the keys the app keeps under the project's name (``"mac_turnos.store"``)
or WSGI's (``"wsgi.file_wrapper"``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from sync.central.ingest import KIND as CENTRAL_KIND
from sync.central.ingest import PERSONAL
from turnero.events import ENVELOPE, KINDS, UndeclaredEvent, families, reference
from turnero.store import Store

ROOT = Path(__file__).parent.parent
PRODUCT = ("appliance", "config", "counter", "display", "hardware", "kiosk", "supervision",
           "sync", "turnero")
# The rooms' scripts name the kinds they handle; appliance/static/staff.js only carries
# the stream to them and names none.
JS_DIRS = ("display/static", "counter/static", "supervision/static", "kiosk/static")
STREAM = "/api/v1/stream"  # a page that opens it receives events
# Python that reads events by kind without recording them.
PY_READERS = ("appliance/announcing.py", "appliance/api_stream.py", "appliance/desk_devices.py",
              "display/feed.py", "turnero/announcements.py", "turnero/views.py",
              "turnero/reports/*.py", "sync/*.py", "sync/central/*.py")

KIND_LITERAL = r"""(?P<q>[{quotes}])(?P<name>[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)(?P=q)"""
FAMILY_LITERAL = r"""(?P<q>[{quotes}])(?P<name>[a-z][a-z0-9_]*)\.(?P=q)"""  # "ticket."
FILE_EXTENSIONS = {"html", "js", "css", "json", "sqlite", "db", "md", "toml", "txt", "csv",
                   "xlsx", "pdf", "png", "svg", "wav", "mp3", "ogg"}
KEY_NAMESPACES = {"mac_turnos", "wsgi"}


def not_a_kind(name: str, before: str) -> bool:
    """A literal shaped like a kind that names something else; ``before`` is the source
    text just before it."""
    first, _, second = name.partition(".")
    return (second in FILE_EXTENSIONS or first in KEY_NAMESPACES
            or before.rstrip().endswith("getLogger("))


def literals(path: Path, pattern: str) -> set[str]:
    """The kind-shaped literals in ``path`` that are not excluded by ``not_a_kind``.
    JavaScript's template literals count; Python's backquotes are reStructuredText."""
    text = path.read_text(encoding="utf-8")
    quotes = "\"'`" if path.suffix == ".js" else "\"'"
    found = set()
    for m in re.finditer(pattern.format(quotes=quotes), text):
        if not not_a_kind(m["name"], text[max(0, m.start() - 40):m.start()]):
            found.add(m["name"])
    return found


def kinds_in(paths: list[Path]) -> dict[str, set[str]]:
    """Kind-shaped literals per file (relative path)."""
    return {str(p.relative_to(ROOT)): literals(p, KIND_LITERAL) for p in paths}


def stream_pages() -> list[Path]:
    return sorted(p for d in JS_DIRS for p in (ROOT / d).glob("*.js")
                  if STREAM in p.read_text(encoding="utf-8"))


def python_readers() -> list[Path]:
    paths = sorted(p for pattern in PY_READERS for p in ROOT.glob(pattern))
    assert all(p.is_file() for p in paths)
    return paths


def emitters() -> list[Path]:
    """Product modules that record events (call ``.emit(...)``), turnero/store.py aside."""
    found = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            if path == ROOT / "turnero" / "store.py":
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                   and n.func.attr == "emit" for n in ast.walk(tree)):
                found.append(path)
    return found


def undeclared(per_file: dict[str, set[str]]) -> dict[str, list[str]]:
    return {f: sorted(names - KINDS.keys()) for f, names in per_file.items()
            if names - KINDS.keys()}


# --- the check in Tx.emit ---------------------------------------------------------------------

def test_emitting_an_undeclared_kind_fails_and_records_nothing(store: Store) -> None:
    sub = store.bus.subscribe()
    before = store.reader().execute("SELECT COUNT(*) FROM events").fetchone()[0]
    with pytest.raises(UndeclaredEvent, match="ticket.teleported"):
        store.write(lambda tx: tx.emit("ticket.teleported", label="RN-001"))
    assert store.reader().execute("SELECT COUNT(*) FROM events").fetchone()[0] == before
    assert sub.get(timeout=0.05) is None


def test_emitting_an_undeclared_payload_field_fails_naming_the_field(store: Store) -> None:
    with pytest.raises(UndeclaredEvent, match=r"printer\.status: .*\bdocument\b"):
        store.write(lambda tx: tx.emit("printer.status", printer="p1", state="ok", message="",
                                       pending=0, document="12345678"))


def test_an_undeclared_event_is_a_value_error() -> None:
    assert issubclass(UndeclaredEvent, ValueError)


def test_a_declared_kind_with_declared_fields_is_recorded_and_published(store: Store) -> None:
    sub = store.bus.subscribe()
    store.write(lambda tx: tx.emit("printer.status", actor="printer:p1", printer="p1",
                                   state="paper_out", message="Sin papel", pending=2))
    event = sub.get(timeout=1)
    assert event is not None and event.kind == "printer.status"
    assert event.payload == {"printer": "p1", "state": "paper_out", "message": "Sin papel",
                             "pending": 2}


def test_an_optional_field_may_be_left_out(store: Store) -> None:
    assert "previous" in KINDS["counter.closed"].optional
    store.write(lambda tx: tx.emit("counter.closed", counter=1, reason="day_closed"))


# --- the declarations --------------------------------------------------------------------------

def test_every_declaration_is_documented_and_accepted_by_the_central() -> None:
    assert len(KINDS) >= 35
    for name, declared in KINDS.items():
        assert declared.name == name
        assert CENTRAL_KIND.match(name) and len(name) <= 64, name
        assert declared.doc.strip(), name
        assert all(doc.strip() for doc in declared.fields.values()), name
        assert declared.optional <= declared.names == set(declared.fields), name
        assert not declared.names & set(PERSONAL), f"{name} declares personal data"
        assert not declared.names & set(ENVELOPE), f"{name} repeats an envelope field"


def test_every_kind_the_pages_listen_to_is_declared() -> None:
    pages = stream_pages()
    names = {str(p.relative_to(ROOT)) for p in pages}
    assert {"display/static/display.js", "counter/static/desk.js", "counter/static/rating.js",
            "kiosk/static/reception.js", "supervision/static/supervision.js"} <= names
    found = kinds_in(pages)
    assert all(found.values()), f"a page that listens names no kind: {found}"
    assert len(set().union(*found.values())) >= 30  # the extraction works
    assert undeclared(found) == {}


def test_every_kind_the_python_readers_name_is_declared() -> None:
    found = kinds_in(python_readers())
    named = set().union(*found.values())
    assert len(named) >= 15  # the extraction works
    # the announcer, the desks' devices, the reports' replay and the central each name some
    for reader in ("turnero/announcements.py", "appliance/desk_devices.py",
                   "turnero/reports/replay.py", "sync/central/indicators.py"):
        assert found[reader], reader
    assert undeclared(found) == {}


def test_every_family_a_reader_matches_by_prefix_is_declared() -> None:
    # supervision.js: kind.startsWith("user."); api_stream.py: STAFF_ONLY = ("user.", ...)
    prefixes = {str(p.relative_to(ROOT)): literals(p, FAMILY_LITERAL)
                for p in [*stream_pages(), *python_readers()]}
    used = set().union(*prefixes.values())
    assert {"user", "device", "ticket"} <= used  # the extraction works
    assert used <= families(), sorted(used - families())


def test_every_kind_an_emitting_module_names_is_declared() -> None:
    found = kinds_in(emitters())
    assert len(found) >= 10
    assert undeclared(found) == {}


def test_every_declared_kind_is_emitted_somewhere() -> None:
    emitted = set().union(*kinds_in(emitters()).values())
    assert sorted(KINDS.keys() - emitted) == [], "declared but never recorded"


# --- the reference -----------------------------------------------------------------------------

def test_the_events_reference_in_docs_is_up_to_date() -> None:
    text = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert text == reference(), "run: mac-turnos events-docs > docs/events.md"


def test_the_reference_names_every_kind_and_field() -> None:
    text = reference()
    for name, declared in KINDS.items():
        assert f"### `{name}`" in text
        for field in declared.fields:
            assert f"| `{field}`" in text


def test_the_events_docs_command_prints_the_reference() -> None:
    from appliance.cli import main

    result = CliRunner().invoke(main, ["events-docs"])
    assert result.exit_code == 0, result.output
    assert result.output == reference()
