"""SQLite readers follow the requests in flight, not the server's threads: a thread hands its
reader back after each response and the next thread to read takes it, so a server with 128
threads does not end up holding 128 connections (150-250 KiB each)."""

from __future__ import annotations

import http.client
import json
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.runtime import DB_NAME
from appliance.server import returning_readers
from harness.live_server import LiveServer, write_config
from turnero.store import IDLE_READERS, Store


def in_thread(fn: Callable[[], Any]) -> Any:
    """``fn()`` run on a new thread, as a waitress worker would run a request."""
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn()))
    thread.start()
    thread.join(10)
    return out[0]


def read_and_return(store: Store) -> sqlite3.Connection:
    conn = store.reader()
    conn.execute("SELECT COUNT(*) FROM events").fetchone()
    store.return_reader()
    return conn


def burst(store: Store, width: int) -> list[sqlite3.Connection]:
    """``width`` threads each holding a reader at the same moment, then handing it back;
    the readers in the order they were handed back."""
    held = threading.Barrier(width)
    handed: list[sqlite3.Connection] = []

    def read() -> None:
        conn = store.reader()
        conn.execute("SELECT 1").fetchone()
        held.wait(10)  # everyone holds a reader at the same moment
        handed.append(conn)
        store.return_reader()

    run_together(read, width, timeout=10)
    return handed


def run_together(target: Callable[[], Any], count: int, timeout: float) -> None:
    """``target`` on ``count`` threads at once; returns when all have ended (or timed out)."""
    threads = [threading.Thread(target=target) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)


def test_a_reader_handed_back_is_taken_by_the_next_thread(store: Store) -> None:
    first = in_thread(lambda: read_and_return(store))
    before = store.reader_count
    later = [in_thread(lambda: read_and_return(store)) for _ in range(20)]
    assert all(conn is first for conn in later)
    assert store.reader_count == before


def test_threads_reading_at_once_get_distinct_readers_and_the_pool_keeps_that_many(
        store: Store) -> None:
    together = 6
    before = store.reader_count

    def round_of_readers() -> set[int]:
        return {id(conn) for conn in burst(store, together)}

    first = round_of_readers()
    assert len(first) == together
    assert store.reader_count == before + together
    assert round_of_readers() == first  # the same connections, none opened
    assert store.reader_count == before + together


def test_readers_a_burst_left_idle_are_closed_keeping_the_most_recent_few(
        store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("turnero.store.time.monotonic", lambda: now[0])
    before = store.reader_count
    handed = burst(store, 8)  # a burst: eight requests read at once
    assert store.reader_count == before + 8
    now[0] += 30
    assert store.close_idle_readers(keep=3, idle_for=60) == 0  # not idle long enough yet
    now[0] += 31
    closed = store.close_idle_readers(keep=3, idle_for=60)
    assert closed == before + 8 - 3
    assert store.reader_count == 3
    kept = in_thread(lambda: read_and_return(store))
    assert kept is handed[-1]  # the one handed back last, its cache the warmest
    with pytest.raises(sqlite3.ProgrammingError):
        handed[0].execute("SELECT 1")  # closed, not merely forgotten


def test_after_a_burst_wider_than_the_pool_the_extra_readers_are_closed_when_handed_back(
        store: Store) -> None:
    wide = IDLE_READERS + 6
    handed = burst(store, wide)  # every idle módulo calls at once
    assert len(handed) == wide
    assert store.reader_count == IDLE_READERS
    closed = 0
    for conn in handed:
        try:
            conn.execute("SELECT 1")
        except sqlite3.ProgrammingError:
            closed += 1
    assert closed == 6


def test_a_thread_waiting_to_write_holds_no_reader(store: Store) -> None:
    mine = store.reader()
    mine.execute("SELECT 1").fetchone()
    seen: dict[str, Any] = {}

    def op(tx: Any) -> None:  # inside the write lock, as a queued writer would be
        seen["other"] = in_thread(lambda: read_and_return(store))
        seen["count"] = store.reader_count

    store.write(op)
    assert seen["other"] is mine  # handed back before the write, taken by the other thread
    assert seen["count"] == 1  # the other thread opened none of its own


def test_a_reader_in_use_is_never_closed_as_idle(store: Store,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr("turnero.store.time.monotonic", lambda: now[0])
    mine = store.reader()  # held by this thread, as by a request in flight
    now[0] += 3600
    store.close_idle_readers(keep=0, idle_for=1)
    assert mine.execute("SELECT 1").fetchone()[0] == 1
    store.return_reader()
    now[0] += 2
    assert store.close_idle_readers(keep=0, idle_for=1) == 1
    assert store.reader_count == 0


def test_a_reader_taken_from_the_pool_sees_what_was_committed_after_it_was_handed_back(
        store: Store) -> None:
    def last_seq() -> int:
        conn = store.reader()
        seq = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
        store.return_reader()
        return int(seq)

    before = in_thread(last_seq)
    store.write(lambda tx: tx.emit("display.message", text="", until=None))
    assert in_thread(last_seq) == before + 1


def test_a_thread_that_never_hands_its_reader_back_keeps_it_to_itself(store: Store) -> None:
    kept = store.reader()  # this thread's, not handed back
    assert in_thread(lambda: read_and_return(store)) is not kept
    assert store.reader() is kept


def test_handing_back_without_a_reader_does_nothing(store: Store) -> None:
    before = store.reader_count
    store.return_reader()
    assert store.reader_count == before


def test_the_server_hands_a_reader_back_only_after_the_body_was_sent(store: Store) -> None:
    """A streamed body may read while it runs: its reader stays with it until close()."""
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])

        def body() -> Iterator[bytes]:
            for _ in range(2):
                yield str(store.reader().execute("SELECT 1").fetchone()[0]).encode()
        return body()

    wrapped = returning_readers(app, store)
    seen: dict[str, Any] = {}

    def serve_one():
        body = wrapped({"REQUEST_METHOD": "GET"}, lambda *args: None)
        chunks = iter(body)
        next(chunks)
        seen["streaming"] = store.reader()
        seen["other_while_streaming"] = in_thread(lambda: read_and_return(store))
        list(chunks)
        body.close()  # type: ignore[attr-defined]
        seen["other_after"] = in_thread(lambda: read_and_return(store))

    in_thread(serve_one)
    assert seen["other_while_streaming"] is not seen["streaming"]
    assert seen["other_after"] is seen["streaming"]


def test_the_server_hands_the_reader_back_when_the_app_raises(store: Store) -> None:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        store.reader().execute("SELECT 1").fetchone()
        raise RuntimeError("boom")

    def serve_one() -> sqlite3.Connection:
        conn = store.reader()
        store.return_reader()
        with pytest.raises(RuntimeError):
            returning_readers(app, store)({"REQUEST_METHOD": "GET"}, lambda *args: None)
        return conn

    conn = in_thread(serve_one)
    assert in_thread(lambda: read_and_return(store)) is conn


# --------------------------------------------------------------------------- real server

def sqlite_files_open(pid: int) -> int:
    """How many descriptors of the server point at the database file (writer + readers)."""
    fds = Path(f"/proc/{pid}/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        count += target.endswith("/" + DB_NAME)
    return count


@pytest.mark.slow
def test_a_server_with_128_threads_holds_readers_for_the_requests_in_flight_only(
        tmp_path: Path) -> None:
    clients, rounds = 16, 25
    state = tmp_path / "state"
    state.mkdir()
    server = LiveServer(state, write_config(tmp_path / "centre.toml", threads=128))
    server.setup()
    server.start()
    try:
        staff = server.login()
        failures: list[int] = []

        def client():
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            try:
                for _ in range(rounds):
                    for path in ("/api/v1/queues", "/api/v1/counters"):
                        conn.request("GET", path, headers=staff)
                        response = conn.getresponse()
                        json.loads(response.read())
                        if response.status != 200:
                            failures.append(response.status)
            finally:
                conn.close()

        run_together(client, clients, timeout=60)
        assert not failures
        assert server.proc is not None
        # The writer, one reader per request that ran at once, a few for the workers
        # (scheduler, announcer, uplink): far from one per thread (130 before).
        assert sqlite_files_open(server.proc.pid) <= clients + 8
    finally:
        server.stop()
