"""Keeping the server's memory flat over a long day on a small box (glibc only).

Three habits of glibc's allocator make a threaded Python server grow and never shrink: it
gives busy threads arenas of their own (up to eight per core); each thread keeps a private
cache of freed small blocks (the tcache), which pins pages all over the heap once a hundred
request threads have each run some requests; and it keeps freed memory instead of handing
it back. A morning rush leaves its peak behind for the rest of the day. The server therefore
caps the arenas (``limit_arenas``, first thing in ``serve`` and ``demo``), keeps the work on
the fewest threads (``appliance.dispatch``), and while it runs hands freed memory back every
minute (``Trimmer``). Elsewhere (musl, macOS) the allocator calls are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)
M_ARENA_MAX = -8  # mallopt parameters, from glibc's malloc.h
M_MMAP_THRESHOLD = -3
ARENAS = 2
# Blocks this large or larger are mapped on their own and unmapped when freed. Setting it
# turns off glibc's sliding threshold, which after the first freed 16 MiB block (a PIN's
# scrypt check) served every later one from the heap and kept it: a login flood left
# +50 MiB behind (measured by bench/front_drill.py).
MMAP_THRESHOLD = 1 << 20
TRIM_EVERY = 60.0  # seconds


@functools.cache
def _libc() -> Any | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt, libc.malloc_trim  # noqa: B018 - both must exist (glibc)
        return libc
    except (OSError, AttributeError):
        return None


def limit_arenas(arenas: int = ARENAS) -> bool:
    """At most ``arenas`` malloc arenas; True if the allocator took it. Call it before the
    process starts a thread: glibc settles the limit when the first thread allocates, and
    a later call changes nothing (a server measured with the call after its first threads
    had 15 arenas)."""
    libc = _libc()
    if libc is None:
        return False
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    return bool(libc.mallopt(M_ARENA_MAX, arenas) == 1)


def trim() -> bool:
    """Give freed heap memory back to the system; True if some was returned."""
    libc = _libc()
    return bool(libc and libc.malloc_trim(0) == 1)


@functools.cache
def _sqlite() -> Any | None:
    """Looked up once: ``find_library`` runs ``ldconfig``, a process per call."""
    name = ctypes.util.find_library("sqlite3")
    try:
        lib = ctypes.CDLL(name) if name else None
        if lib is not None:
            lib.sqlite3_memory_used.restype = ctypes.c_int64
        return lib
    except (OSError, AttributeError):
        return None


def rss_bytes() -> int:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def health(readers: int) -> dict[str, Any]:
    """The process's resident memory and the share SQLite holds (page caches, statements),
    with the number of SQLite readers open: what a technician needs to tell a leak from a
    cache."""
    lib = _sqlite()
    found: dict[str, Any] = {"status": "ok", "rss_mib": round(rss_bytes() / 2**20, 1),
                             "readers": readers}
    if lib is not None:
        found["sqlite_mib"] = round(lib.sqlite3_memory_used() / 2**20, 1)
    return found


class Trimmer:
    """Calls ``trim`` every ``every`` seconds on a daemon thread until stopped, after
    ``tidy`` (what lets go of memory first, such as idle database connections)."""

    def __init__(self, every: float = TRIM_EVERY,
                 tidy: Callable[[], object] | None = None) -> None:
        self.every = every
        self.tidy = tidy
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="malloc-trim", daemon=True)

    def start(self) -> Trimmer:
        if _libc() is not None:
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                if self.tidy is not None:
                    self.tidy()
                trim()
            except Exception as exc:  # memory housekeeping must never stop the server
                log.warning("memory housekeeping failed: %r", exc)

    def stop(self) -> None:
        """Stops the thread and waits for a round in progress, so no trim follows."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.every + 5)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()
