"""The layering rules of the architecture hold: each package imports only what it may."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
OURS = {"config", "turnero", "appliance", "tests", "bench", "harness", "hardware", "kiosk",
        "counter", "display", "supervision", "sync"}
ROOMS = ("kiosk", "counter", "display", "supervision")
ALLOWED = {
    "config": {"config"},
    "turnero": {"config", "turnero"},
    "hardware": {"hardware"},
    "kiosk": {"kiosk", "turnero", "hardware"},
    "counter": {"counter", "turnero"},
    "display": {"display", "turnero", "hardware"},
    "supervision": {"supervision", "turnero"},
    "sync": {"sync", "turnero", "config"},
}
# Single modules a package may import besides whole packages. The composition root owns the
# wiring: a room reads the parts of the app it is mounted in (store, settings, announcement
# feed) through ``appliance.parts``, whose typed accessors import nothing of ours at run
# time; the rest of ``appliance`` stays out of the rooms.
ALLOWED_MODULES = {room: {"appliance.parts"} for room in ROOMS}
# What the shipped code never imports: the suite, the benchmarks and their shared harness.
TEST_ONLY = {"tests", "bench", "harness"}
SQL_WRITE = re.compile(r"\b(insert\s+(or\s+\w+\s+)?into|replace\s+into|delete\s+from|"
                       r"update\s+(or\s+\w+\s+)?[\w\"]+\s+set)\b", re.IGNORECASE)


def _is_module(dotted: str) -> bool:
    path = ROOT.joinpath(*dotted.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imported_modules(path: Path) -> set[str]:
    """The dotted names of our modules (or packages) ``path`` imports; ``from a import b``
    counts as ``a.b`` when ``b`` is a module, else as ``a``. A relative import counts as
    ``.`` (none of our packages uses them)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level or not node.module:
                names.add(".")
                continue
            for alias in node.names:
                whole = f"{node.module}.{alias.name}"
                names.add(whole if _is_module(whole) else node.module)
    return {name for name in names if name.split(".")[0] in OURS or name == "."}


def imported_packages(path: Path) -> set[str]:
    """The top-level names ``path`` imports, ours or not (relative imports as ``.``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." if node.level or not node.module else node.module.split(".")[0])
    return names


def offenders(folder: str, may: set[str], modules: set[str] | None = None
              ) -> dict[str, list[str]]:
    """Per file under ``folder``: our imports outside the packages ``may`` and the single
    ``modules``."""
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        extra = {name for name in imported_modules(path)
                 if name.split(".")[0] not in may and name not in (modules or set())}
        if extra:
            found[str(path.relative_to(ROOT))] = sorted(extra)
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_packages_it_may(package):
    assert offenders(package, ALLOWED[package], ALLOWED_MODULES.get(package, set())) == {}


def test_the_central_receiver_never_imports_the_centre_s_heart():
    """The central never touches a centre's database: it knows events, not the engine."""
    assert offenders("sync/central", {"sync", "config"}) == {}


@pytest.mark.parametrize("package", sorted({*ALLOWED, "appliance"}))
def test_shipped_code_never_imports_the_tests_the_benchmarks_or_their_harness(package):
    assert offenders(package, OURS - TEST_ONLY) == {}


def test_the_harness_serves_the_tests_and_benchmarks_and_imports_neither():
    assert offenders("harness", OURS - {"tests", "bench"}) == {}


def web_imports(path: Path) -> set[str]:
    """Flask and werkzeug modules ``path`` imports; werkzeug's password hashing
    (``werkzeug.security``) is a plain library function and is allowed."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        found.update(n for n in names if n.split(".")[0] in ("flask", "werkzeug")
                     and n != "werkzeug.security")
    return found


def test_the_engine_knows_nothing_of_the_web():
    """``turnero`` runs the same under the HTTP API, the command line and the scheduler."""
    for path in sorted((ROOT / "turnero").rglob("*.py")):
        web = web_imports(path)
        assert not web, f"{path.relative_to(ROOT)} imports {sorted(web)}"


def test_the_policy_is_pure_standard_library():
    """Who is next is decided by ``turnero.policy`` alone, on plain values."""
    imported = imported_packages(ROOT / "turnero" / "policy.py")
    assert imported <= set(sys.stdlib_module_names), sorted(
        imported - set(sys.stdlib_module_names))


def sql_writes(path: Path) -> list[str]:
    """The SQL writes (INSERT, UPDATE, DELETE, REPLACE, in any case) in ``path``'s strings,
    f-strings and implicitly joined literals included."""
    found, pieces = [], set()  # pieces: the constant parts of f-strings, read with them
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            parts = [v for v in node.values
                     if isinstance(v, ast.Constant) and isinstance(v.value, str)]
            pieces.update(id(v) for v in parts)
            text = "x".join(v.value for v in parts)
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and id(node) not in pieces):
            text = node.value
        else:
            continue
        found += [m.group(0) for m in SQL_WRITE.finditer(text)]
    return found


def test_only_the_store_and_the_engine_write_sql():
    """Rooms and the composition root call engine functions; they never write SQL."""
    found = {str(path.relative_to(ROOT)): writes
             for room in ("appliance", *ROOMS) for path in sorted((ROOT / room).rglob("*.py"))
             if (writes := sql_writes(path))}
    assert found == {}


@pytest.mark.parametrize("sql", ["INSERT INTO t VALUES (1)", "insert or replace into t",
                                 "Replace Into t", "update t set a = 1", 'UPDATE "t" SET',
                                 "delete from t", "DELETE\n  FROM t"])
def test_the_sql_write_check_sees_every_spelling(sql, tmp_path):
    source = f"Q = {sql!r}\nF = f{sql + ' {x}'!r}\n"  # a plain string and an f-string
    (tmp_path / "room.py").write_text(source, encoding="utf-8")
    assert len(sql_writes(tmp_path / "room.py")) == 2
