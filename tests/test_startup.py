"""Start-up under systemd: safe mode after a crash loop, READY and watchdog pings over the
notify socket (and no ping while the writer is stuck), log lines with journal levels, one
server per database."""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from appliance import startup, systemd
from harness.live_server import free_port, write_config
from turnero.store import Store

# --- the crash-loop guard ---------------------------------------------------------------------

def test_three_failed_starts_within_the_window_make_the_next_one_safe(tmp_path: Path):
    now = [1000.0]
    guard = lambda: startup.StartGuard(tmp_path, clock=lambda: now[0])  # noqa: E731
    for _ in range(3):
        assert guard().begin() is False  # each dies before it is stable
        now[0] += 30
    assert guard().begin() is True


def test_a_start_that_became_stable_or_stopped_cleanly_is_not_a_failure(tmp_path: Path):
    now = [1000.0]
    for _ in range(5):
        g = startup.StartGuard(tmp_path, clock=lambda: now[0])
        assert g.begin() is False
        g.succeeded()
        now[0] += 30


def test_failed_starts_older_than_the_window_are_forgotten(tmp_path: Path):
    now = [1000.0]
    for _ in range(3):
        startup.StartGuard(tmp_path, clock=lambda: now[0]).begin()
    now[0] += startup.WINDOW_MINUTES * 60 + 1
    assert startup.StartGuard(tmp_path, clock=lambda: now[0]).begin() is False


# --- journal logging ----------------------------------------------------------------------------

def test_journal_lines_carry_the_syslog_level_of_each_record():
    formatter = startup.JournalFormatter()

    def line(level: int, text: str) -> str:
        return formatter.format(logging.LogRecord("mac", level, __file__, 1, text, None, None))

    assert line(logging.INFO, "listo") == "<6>mac: listo"
    assert line(logging.WARNING, "ojo") == "<4>mac: ojo"
    assert line(logging.ERROR, "a\nb") == "<3>mac: a\n<3>b"


# --- sd_notify and the watchdog -------------------------------------------------------------

@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, dict[str, str]]]:
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(10)
    yield sock, {"NOTIFY_SOCKET": str(path)}
    sock.close()


def messages(sock: socket.socket, seconds: float) -> list[str]:
    found: list[str] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            found.append(sock.recv(4096).decode())
        except TimeoutError:
            break
    return found


def test_notify_reaches_the_socket_and_is_silent_without_systemd(notify_socket):
    sock, env = notify_socket
    assert systemd.notify("READY=1", env)
    assert sock.recv(100) == b"READY=1"
    assert systemd.notify("READY=1", {}) is False


def test_the_watchdog_interval_is_half_of_watchdog_sec_and_only_for_this_process():
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert systemd.watchdog_interval({"WATCHDOG_USEC": "30000000",
                                      "WATCHDOG_PID": str(os.getpid() + 1)}) is None
    assert systemd.watchdog_interval({}) is None


def test_no_watchdog_ping_goes_out_while_the_writer_is_stuck(notify_socket, store: Store):
    sock, env = notify_socket
    dog = systemd.Watchdog(0.05, lambda: systemd.writer_problem(store), env)
    dog.start()
    try:
        assert "WATCHDOG=1" in messages(sock, 0.3)
        held, release = threading.Event(), threading.Event()

        def stuck(tx: object) -> None:
            held.set()
            release.wait(10)

        writer = threading.Thread(target=store.write, args=(stuck,))
        writer.start()
        held.wait(5)
        messages(sock, 0.1)  # a ping already under way may still arrive
        assert "WATCHDOG=1" not in messages(sock, 0.5)
        release.set()
        writer.join()
        assert "WATCHDOG=1" in messages(sock, 0.5)
    finally:
        release.set()
        dog.stop()


# --- a real server process ----------------------------------------------------------------------

def start_server(state: Path, config: Path, port: int, env: dict[str, str],
                 log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "appliance", "--config", str(config), "--state-dir",
             str(state), "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=out, env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
            start_new_session=True)


def health(port: int, timeout: float = 60) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health")
            body = json.loads(conn.getresponse().read())
            conn.close()
            return body
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("no health")


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        proc.wait(timeout=20)


def test_after_a_crash_loop_the_server_starts_in_safe_mode_and_says_so(tmp_path: Path):
    config = write_config(tmp_path / "centre.toml", printer=True)
    state, log = tmp_path / "state", tmp_path / "server.log"
    state.mkdir()
    for _ in range(startup.MAX_FAILED):
        port = free_port()
        proc = start_server(state, config, port, {}, log)
        try:
            components = health(port)["components"]
            assert "safe_mode" not in components and "kiosko-1" in components[
                "printers"]["printers"]
        finally:
            stop(proc, signal.SIGKILL)  # dies before it is stable: a failed start
    port = free_port()
    proc = start_server(state, config, port, {}, log)
    try:
        components = health(port)["components"]
        assert components["safe_mode"]["status"] == "warning"
        assert "Modo seguro" in components["safe_mode"]["detail"]
        assert "scheduler" not in components
        assert components["printers"]["printers"] == {}  # kiosko-1 is not driven
    finally:
        stop(proc)
    proc = start_server(state, config, free_port(), {}, log)  # the clean stop counted as good
    try:
        port = int(proc.args[-1])
        assert "safe_mode" not in health(port)["components"]
    finally:
        stop(proc)


def test_under_systemd_the_server_says_ready_feeds_the_watchdog_and_logs_levels(
        tmp_path: Path, notify_socket):
    sock, env = notify_socket
    config = write_config(tmp_path / "centre.toml")
    state, log = tmp_path / "state", tmp_path / "server.log"
    state.mkdir()
    log.touch()
    with log.open("ab") as handle:
        st = os.fstat(handle.fileno())
    env = {**env, "WATCHDOG_USEC": "400000", "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
    port = free_port()
    proc = start_server(state, config, port, env, log)
    try:
        got: list[str] = []
        end = time.monotonic() + 20
        while time.monotonic() < end and not any("READY=1" in m for m in got):
            got += messages(sock, 0.5)
        assert any("READY=1" in m for m in got)
        assert "WATCHDOG=1" in messages(sock, 1.0)
    finally:
        stop(proc)
    assert any("STOPPING=1" in m for m in messages(sock, 1.0))
    text = log.read_text(encoding="utf-8")
    assert "<6>appliance.server: listening on" in text
    assert "<6>appliance.scheduler: scheduler started" in text


def test_a_second_server_on_the_same_state_refuses_to_start(tmp_path: Path):
    config = write_config(tmp_path / "centre.toml")
    state, log = tmp_path / "state", tmp_path / "server.log"
    state.mkdir()
    port = free_port()
    first = start_server(state, config, port, {}, log)
    try:
        health(port)
        second = start_server(state, config, free_port(), {}, log)
        assert second.wait(timeout=20) == 1
        assert "Otro servidor ya usa" in log.read_text(encoding="utf-8")
    finally:
        stop(first)
