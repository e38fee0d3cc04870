"""Programs the suite runs, and the Debian package that brings each.

`scripts/setup --test` installs every package named here (a test keeps the two lists the
same). On a Debian machine a missing program is a failure that names its package, never a
skip: a skip would let a fresh machine pass without running those tests. Elsewhere, where
the setup script does not install anything, the test is skipped with the same words.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# program -> Debian package; every program a test (or the code it drives) shells out to.
PROGRAMS = {
    "chromium": "chromium",
    "curl": "curl",
    "espeak-ng": "espeak-ng",
    "gcc": "gcc",
    "ip": "iproute2",
    "nginx": "nginx",
    "node": "nodejs",
    "npm": "npm",
    "pg_ctl": "postgresql",
    "shellcheck": "shellcheck",
    "sox": "sox",
    "systemd-analyze": "systemd",
    "unshare": "util-linux",
}

POSTGRES_BIN = Path("/usr/lib/postgresql")


def on_debian() -> bool:
    return Path("/etc/debian_version").exists()


def find_program(program: str) -> str | None:
    """Where a program is; PostgreSQL's server programs live outside PATH on Debian."""
    found = shutil.which(program)
    if found or program != "pg_ctl":
        return found
    versions = sorted(POSTGRES_BIN.glob("*/bin/pg_ctl"))
    return str(versions[-1]) if versions else None


def require_program(program: str, package: str | None = None) -> str:
    """The program's path; fails (on Debian) or skips (elsewhere) when it is missing."""
    path = find_program(program)
    if path:
        return path
    package = package or PROGRAMS[program]
    message = (f"{program} is missing: `scripts/setup --test` installs the Debian package "
               f"{package}")
    if on_debian():
        pytest.fail(message)
    pytest.skip(message)
