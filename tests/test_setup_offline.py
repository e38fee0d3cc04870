"""A box set up once runs its demo again with no network: the README's first command does
not go to the package index when the project is installed already."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_setting_up_again_needs_no_package_index() -> None:
    stamp = ROOT / ".venv" / ".mac-turnos-installed"
    assert stamp.is_file(), "scripts/setup --test writes it (the full run starts with it)"
    offline = {**os.environ, "PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
               "PIP_FIND_LINKS": ""}
    for args in (["--test"], []):
        done = subprocess.run([str(ROOT / "scripts" / "setup"), *args], cwd=ROOT, env=offline,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Installing" not in done.stdout + done.stderr
