"""The Raspberry Pi budget of the benchmarks (``bench/budget.py``): a process past the memory
limit is killed, a process inside has the SD card's fsync shim loaded and its fsyncs still
reach the disk. Where no cgroup is writable the budget cannot be held and the test is
skipped (the budget is for benchmarks; the box itself never uses it)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.budget import Budget, Held, NoBudget
from tests.programs import require_program

GROW = "blocks = []\nwhile True:\n    blocks.append(bytearray(16 << 20))\n"


@pytest.fixture
def held():
    require_program("gcc")
    try:
        budget = Held(Budget("test", cpus=1.0, memory_bytes=128 << 20, fsync_ms=1.0))
    except NoBudget as exc:
        pytest.skip(f"no budget on this machine: {exc}")
    yield budget
    budget.close()


def test_a_process_growing_past_the_memory_limit_is_killed(held):
    grow = held.popen([sys.executable, "-c", GROW], stderr=subprocess.DEVNULL)
    assert grow.wait(timeout=120) != 0
    assert held.cgroup.oom_kills() >= 1


def test_inside_the_budget_the_fsync_shim_is_loaded_and_fsync_still_writes(held, tmp_path):
    target = tmp_path / "written"
    script = ("import os, sys\n"
              "maps = open('/proc/self/maps').read()\n"
              f"fd = os.open({str(target)!r}, os.O_WRONLY | os.O_CREAT)\n"
              "os.write(fd, b'ticket'); os.fsync(fd); os.fdatasync(fd); os.close(fd)\n"
              "print('sd_card_fsync.so' in maps)\n")
    inside = held.popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    out, _ = inside.communicate(timeout=60)
    assert inside.returncode == 0 and out.strip() == "True"
    assert target.read_bytes() == b"ticket"
    outside = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert outside.stdout.strip() == "False"  # only what the budget starts is held by it
