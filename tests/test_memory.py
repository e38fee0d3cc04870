"""The server's memory housekeeping (appliance.memory): glibc takes the arena cap, and a trim
gives back what a burst of work freed but the allocator kept. Run in a fresh interpreter so
the figures are that process's alone."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time

from appliance import memory
from tests.waiting import wait_until

BURST = """
import json, threading
from appliance import memory

def rss_mib():
    with open("/proc/self/status") as status:
        return next(int(l.split()[1]) // 1024 for l in status if l.startswith("VmRSS"))

def work():
    global survivor
    blocks = [bytes(4000) + bytes([i % 256]) for i in range(20000)]  # about 80 MB
    survivor = blocks[-1]  # one block at the heap's top: free() alone cannot shrink it

limited = memory.limit_arenas()
thread = threading.Thread(target=work)
thread.start()
thread.join()
kept = rss_mib()
memory.trim()
print(json.dumps({"limited": limited, "kept": kept, "trimmed": rss_mib()}))
"""


ARENAS = """
import ctypes, sys, threading
from appliance import memory

if sys.argv[1] == "limit":
    memory.limit_arenas()

together = threading.Barrier(17)

def work():
    blocks = [bytearray(600) for _ in range(2000)]  # beyond pymalloc: glibc's malloc
    together.wait()  # all sixteen alive and holding memory at once
    together.wait()
    del blocks

threads = [threading.Thread(target=work) for _ in range(16)]
for t in threads:
    t.start()
together.wait()
sys.stderr.flush()
ctypes.CDLL(None).malloc_stats()  # glibc lists every arena on stderr: "Arena N:"
together.wait()
for t in threads:
    t.join()
"""


def extra_arenas(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", ARENAS, mode], capture_output=True,
                         text=True, check=True, timeout=60)
    arenas = re.findall(r"^Arena (\d+):$", out.stderr, re.MULTILINE)
    assert arenas and arenas[0] == "0", out.stderr  # the main arena, then the extra ones
    return len(arenas) - 1


def test_the_arena_cap_holds_sixteen_allocating_threads_to_one_extra_arena():
    assert extra_arenas("limit") <= 1
    assert extra_arenas("default") >= 4  # what the cap prevents


def test_a_trim_gives_back_what_a_burst_of_work_freed():
    out = subprocess.run([sys.executable, "-c", BURST], capture_output=True, text=True,
                         check=True, timeout=60)
    figures = json.loads(out.stdout)
    assert figures["limited"] is True
    assert figures["kept"] - figures["trimmed"] >= 40, figures


def test_the_trimmer_trims_on_its_interval_and_stops(monkeypatch):
    calls: list[float] = []
    monkeypatch.setattr(memory, "trim", lambda: calls.append(time.monotonic()) or True)
    trimmer = memory.Trimmer(every=0.05).start()
    wait_until(lambda: len(calls) >= 3, what="three rounds of trimming")
    trimmer.stop()
    count = len(calls)
    assert not trimmer.running
    assert len(calls) == count


def test_the_trimmer_tidies_before_each_trim_and_survives_a_failing_tidy(monkeypatch):
    order: list[str] = []
    monkeypatch.setattr(memory, "trim", lambda: order.append("trim") or True)

    def tidy() -> None:
        order.append("tidy")
        if len(order) == 1:
            raise RuntimeError("the first tidy fails")

    trimmer = memory.Trimmer(every=0.05, tidy=tidy).start()
    wait_until(lambda: order.count("tidy") >= 3, what="three rounds")
    trimmer.stop()
    assert order[:3] == ["tidy", "tidy", "trim"]  # the failed round skipped its trim only
    assert order.count("tidy") >= 3 and order.count("trim") == order.count("tidy") - 1


def test_health_reports_the_memory_held_and_sqlites_share(app):
    memory_now = app.test_client().get("/api/v1/health").get_json()["components"]["memory"]
    assert memory_now["status"] == "ok" and memory_now["readers"] >= 1
    assert 10 < memory_now["rss_mib"] < 2048
    assert 0 < memory_now["sqlite_mib"] < memory_now["rss_mib"]
