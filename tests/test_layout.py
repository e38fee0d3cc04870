"""The layering rules of the architecture hold: each package imports only what it may."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
OURS = {"config", "turnero", "appliance", "tests", "bench", "hardware", "kiosk", "counter",
        "display", "supervision", "sync"}
ALLOWED = {
    "config": {"config"},
    "turnero": {"config", "turnero"},
    "hardware": {"hardware"},
    "kiosk": {"kiosk", "turnero", "hardware"},
    "counter": {"counter", "turnero"},
    "display": {"display", "turnero", "hardware"},
    "supervision": {"supervision", "turnero"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_packages_it_may(package):
    offenders = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        extra = imported_packages(path) - ALLOWED[package]
        if extra:
            offenders[str(path.relative_to(ROOT))] = sorted(extra)
    assert offenders == {}


def test_only_the_store_and_the_engine_write_sql():
    """Rooms and the composition root call engine functions; they never write SQL."""
    writes = ("INSERT ", "UPDATE ", "DELETE ")
    rooms = ("appliance", "kiosk", "counter", "display", "supervision")
    for path in sorted(p for room in rooms for p in (ROOT / room).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not any(w in text for w in writes), path.name
