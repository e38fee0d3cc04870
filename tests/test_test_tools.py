"""The suite's own tools: cheap hashing only inside the tests, and every program the tests
run installed by `scripts/setup --test`."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import CHEAP_HASH
from tests.programs import PROGRAMS, find_program, on_debian
from turnero import accounts

ROOT = Path(__file__).parent.parent


def test_pins_and_passwords_are_hashed_with_production_scrypt_outside_the_test_fixture():
    code = ("from turnero import accounts; from sync.central import viewers; "
            "from werkzeug.security import generate_password_hash as g; "
            "print(accounts.hash_secret('123456')); "
            "print(g('x', method=viewers.PASSWORD_HASH_METHOD))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.split()
    pin, password = out
    assert pin.startswith("scrypt:16384:8:1$")  # 16 MiB a check (turnero.accounts)
    assert password.startswith("scrypt:32768:8:1$")  # the central's viewers


def test_inside_the_tests_pins_are_hashed_cheaply_and_still_check():
    hashed = accounts.hash_secret("123456")
    assert hashed.startswith(CHEAP_HASH + "$")


def setup_packages() -> set[str]:
    """Every Debian package named in scripts/setup's package lists."""
    text = (ROOT / "scripts" / "setup").read_text(encoding="utf-8")
    found: set[str] = set()
    for body in re.findall(r"packages\+?=\(([^)]*)\)", text):
        found.update(body.split())
    return found


def test_the_setup_script_installs_every_program_the_suite_runs():
    assert {"python3", "espeak-ng", "chromium"} <= setup_packages()  # the parse works
    missing = {package for package in PROGRAMS.values()} - setup_packages()
    assert missing == set(), f"add to scripts/setup --test: {sorted(missing)}"


def test_on_debian_every_program_the_suite_runs_is_installed():
    if not on_debian():
        return  # the setup script installs Debian packages only
    absent = {program: package for program, package in PROGRAMS.items()
              if find_program(program) is None}
    assert absent == {}, f"run scripts/setup --test; missing: {absent}"


CLOCKS = {"monotonic", "perf_counter", "time", "monotonic_ns", "perf_counter_ns", "time_ns"}


def _reads_the_clock(node: ast.AST, timed: set[str]) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            owner = func.value.id if (isinstance(func, ast.Attribute)
                                      and isinstance(func.value, ast.Name)) else "time"
            if name in CLOCKS and owner == "time":
                return True
        if isinstance(sub, ast.Name) and sub.id in timed:
            return True
    return False


def wall_clock_asserts(source: str) -> list[int]:
    """Lines of `assert` statements that compare a reading of the clock (directly, or
    through a variable that holds one, such as `began` or `elapsed`)."""
    tree = ast.parse(source)
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef | ast.Module):
            continue
        timed: set[str] = set()
        for node in ast.walk(func):
            if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and \
                    node.value is not None and _reads_the_clock(node.value, timed):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                timed.update(n.id for t in targets for n in ast.walk(t)
                             if isinstance(n, ast.Name))
        for node in ast.walk(func):
            if isinstance(node, ast.Assert) and _reads_the_clock(node.test, timed):
                found.append(node.lineno)
    return sorted(set(found))


def test_the_wall_clock_search_finds_a_timed_assert():
    # What the search must catch, kept as text outside the test sources.
    sample = (ROOT / "tests" / "samples" / "timed_asserts.txt").read_text(encoding="utf-8")
    assert wall_clock_asserts(sample) == [5, 7, 8, 11, 12, 14]  # a tuple taints each name


def test_no_test_asserts_a_wall_clock_duration():
    """Durations and rates are benchmarks (bench/); tests wait on conditions."""
    offenders = {str(path.relative_to(ROOT)): lines
                 for path in sorted((ROOT / "tests").rglob("*.py"))
                 if (lines := wall_clock_asserts(path.read_text(encoding="utf-8")))}
    assert offenders == {}
