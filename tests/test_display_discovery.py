"""A TV finds the server by itself: `mac-turnos demo` advertises `_mac-turnos._tcp` on the
address it listens on, and `mac-turnos display-client --dry-run` browsing on loopback prints
the display page's address; with `--no-advertise` there is nothing to find.

As in test_discovery.py, everything runs inside a private network namespace where `lo` is
the only interface, so no packet reaches a real network."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import urllib.request

import pytest

from harness.live_server import free_port
from tests.test_discovery import ROOT, _loopback_has_multicast, _namespace_command
from tests.waiting import wait_until


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health",
                                    timeout=1) as answer:
            return answer.status == 200
    except OSError:
        return False


def probe(advertise: bool) -> dict[str, object]:
    """Start the demo server, then run the TV client's dry run (inside the namespace)."""
    port = free_port()
    with tempfile.TemporaryDirectory() as state:
        flag = "--advertise" if advertise else "--no-advertise"
        server = subprocess.Popen(
            [sys.executable, "-m", "appliance", "demo", "--host", "127.0.0.1", "--port",
             str(port), "--state-dir", state, flag],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT)
        try:
            wait_until(lambda: healthy(port), timeout=90, interval=0.05,
                       what="the demo server healthy")
            found = subprocess.run(
                [sys.executable, "-m", "appliance", "display-client", "--name", "sala-1",
                 "--dry-run", "--interface", "127.0.0.1",
                 "--timeout", "20" if advertise else "2"],
                capture_output=True, text=True, cwd=ROOT, timeout=90)
            return {"port": port, "code": found.returncode, "out": found.stdout.strip()}
        finally:
            server.terminate()
            server.wait(15)


def in_namespace(advertise: bool) -> dict[str, object]:
    unshare = _namespace_command()
    if unshare:
        code = ("import json; from tests.test_display_discovery import probe; "
                f"print(json.dumps(probe({advertise})))")
        done = subprocess.run(
            [*unshare, "--", "sh", "-c",
             'ip link set lo up && ip link set lo multicast on && exec "$@"', "sh",
             sys.executable, "-c", code],
            cwd=ROOT, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])
    if _loopback_has_multicast():
        return probe(advertise)
    pytest.skip("needs a private network namespace (root + unshare) or multicast on lo")


def test_the_display_client_finds_the_advertised_demo_server_and_prints_its_page():
    seen = in_namespace(True)
    assert seen["code"] == 0, seen
    assert seen["out"] == f"http://127.0.0.1:{seen['port']}/display/sala-1"


def test_a_server_started_with_no_advertise_is_not_found():
    seen = in_namespace(False)
    assert seen["code"] == 1
    assert "No se encontró" in str(seen["out"])

