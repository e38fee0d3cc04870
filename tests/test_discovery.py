"""Zeroconf discovery: a server advertised on loopback is found on loopback, and not after
it withdraws.

No packet may leave loopback. The network part therefore runs in a child process inside a
private network namespace (`unshare -n`, or `unshare -r -n` without root), where `lo` is
the only interface; there we may switch on multicast for `lo` (often off) without touching
the host. Without a namespace, the test runs in the host only if the host's `lo` already
carries multicast, and is skipped otherwise.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hardware.discovery import SERVICE_TYPE, Advertiser, ServerAddress, find_server
from tests.programs import require_program

ROOT = Path(__file__).parent.parent
LOOPBACK = ["127.0.0.1"]
PROPERTIES = {"path": "/display/sala-1", "version": "0.1.0"}
IFF_MULTICAST = 0x1000


def run_probe() -> dict[str, object]:
    """Advertise, browse, withdraw, browse again; what each step saw (runs in the child)."""
    result: dict[str, object] = {}
    with Advertiser("Centro MAC Prueba", 8080, LOOPBACK, PROPERTIES) as advertiser:
        result["registered"] = advertiser.registered_name
        found = find_server(timeout=15.0, interfaces=LOOPBACK)  # returns when found
        result["found"] = found and {"name": found.name, "host": found.host,
                                     "port": found.port, "properties": found.properties,
                                     "url": found.url()}
        other = find_server(timeout=1.0, interfaces=LOOPBACK, name="Otro Centro")
        result["other_name"] = other and other.name
    gone = find_server(timeout=1.5, interfaces=LOOPBACK)
    result["after_close"] = gone and gone.name
    return result


def _loopback_has_multicast() -> bool:
    flags = Path("/sys/class/net/lo/flags")
    return flags.exists() and bool(int(flags.read_text(), 16) & IFF_MULTICAST)


def _namespace_command() -> list[str] | None:
    """`unshare -n` as root, or with a user namespace (-r) where unprivileged ones exist."""
    require_program("unshare", "util-linux")
    require_program("ip", "iproute2")
    for command in (["unshare", "-n"], ["unshare", "-r", "-n"]):
        if subprocess.run([*command, "true"], capture_output=True).returncode == 0:
            return command
    return None


@pytest.fixture(scope="module")
def probe() -> dict[str, object]:
    unshare = _namespace_command()
    if unshare:
        code = "import json; from tests.test_discovery import run_probe; " \
               "print(json.dumps(run_probe()))"
        done = subprocess.run(
            [*unshare, "--", "sh", "-c",
             'ip link set lo up && ip link set lo multicast on && exec "$@"', "sh",
             sys.executable, "-c", code],
            cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])
    if _loopback_has_multicast():
        return run_probe()
    pytest.skip("needs a private network namespace (root + unshare) or multicast on lo")


def test_a_server_advertised_on_loopback_is_found(probe):
    assert probe["registered"] == f"Centro MAC Prueba.{SERVICE_TYPE}"
    assert probe["found"] is not None
    assert probe["found"]["name"] == "Centro MAC Prueba"
    assert probe["found"]["host"] == "127.0.0.1"
    assert probe["found"]["port"] == 8080


def test_the_client_gets_the_advertised_properties_and_the_display_url(probe):
    assert probe["found"]["properties"] == PROPERTIES
    assert probe["found"]["url"] == "http://127.0.0.1:8080/display/sala-1"


def test_browsing_for_another_centre_by_name_finds_nothing(probe):
    assert probe["other_name"] is None


def test_after_the_server_withdraws_a_new_browse_finds_nothing(probe):
    assert probe["after_close"] is None


def test_the_display_url_brackets_ipv6_hosts_and_defaults_to_the_root():
    assert ServerAddress("x", "fd00::2", 8080).url() == "http://[fd00::2]:8080/"
    assert ServerAddress("x", "127.0.0.1", 80, {"path": "display/a"}).url() == \
        "http://127.0.0.1:80/display/a"
    assert ServerAddress("x", "127.0.0.1", 80).url("/kiosk") == "http://127.0.0.1:80/kiosk"


def test_an_advertiser_needs_the_addresses_it_may_use():
    with pytest.raises(ValueError):
        Advertiser("Centro", 8080, [])
