"""Running a process tree inside a budget that stands for a smaller machine: a CPU quota and
a memory limit of a cgroup of its own (v2 ``cpu.max``/``memory.max``, or v1
``cpu.cfs_quota_us``/``memory.limit_in_bytes``, whichever this machine has writable), and every
``fsync``/``fdatasync`` delayed as an SD card would (an ``LD_PRELOAD`` shim compiled here).

Used by ``bench/pi_budget.py``; nothing in the box imports it.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CGROUP = Path("/sys/fs/cgroup")
PERIOD_US = 100_000

SHIM_SOURCE = r"""
/* Every fsync and fdatasync waits DELAY_US first, as on an SD card; then the real call. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <time.h>

static void card_wait(void) {
    static long delay_us = -1;
    if (delay_us < 0) {
        const char *text = getenv("MAC_TURNOS_FSYNC_DELAY_US");
        delay_us = text ? atol(text) : 5000;
    }
    struct timespec t = {delay_us / 1000000, (delay_us % 1000000) * 1000};
    while (nanosleep(&t, &t) != 0) {}
}

int fsync(int fd) {
    static int (*real)(int) = 0;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    card_wait();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int) = 0;
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    card_wait();
    return real(fd);
}
"""


class NoBudget(RuntimeError):
    """This machine cannot hold a process to a budget (no writable cgroup, no compiler)."""


def compile_shim(folder: Path) -> Path:
    """The fsync shim, built with this machine's C compiler into ``folder``."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        raise NoBudget("no C compiler to build the SD card's fsync shim")
    source, library = folder / "sd_card_fsync.c", folder / "sd_card_fsync.so"
    source.write_text(SHIM_SOURCE, encoding="ascii")
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(library), str(source),
                    "-ldl"], check=True, capture_output=True)
    return library


def _writable(path: Path) -> bool:
    return path.exists() and os.access(path, os.W_OK)


@dataclass
class Cgroup:
    """One cgroup (two folders under v1: the cpu and the memory hierarchies)."""

    folders: list[Path]
    version: int

    @classmethod
    def make(cls, name: str) -> Cgroup:
        v2 = CGROUP / "cgroup.controllers"
        if v2.exists() and {"cpu", "memory"} <= set(v2.read_text().split()) \
                and _writable(CGROUP / "cgroup.subtree_control"):
            folder = CGROUP / name
            folder.mkdir(exist_ok=True)
            return cls([folder], 2)
        cpu, memory = CGROUP / "cpu", CGROUP / "memory"
        if _writable(cpu / "cgroup.procs") and _writable(memory / "cgroup.procs"):
            folders = [cpu / name, memory / name]
            for folder in folders:
                folder.mkdir(exist_ok=True)
            return cls(folders, 1)
        raise NoBudget("no writable cgroup (v2 cpu.max or v1 cpu.cfs_quota_us) here")

    def limit(self, cpus: float, memory_bytes: int) -> None:
        quota = max(1000, int(cpus * PERIOD_US))
        if self.version == 2:
            folder = self.folders[0]
            (folder / "cpu.max").write_text(f"{quota} {PERIOD_US}")
            (folder / "memory.max").write_text(str(memory_bytes))
            swap = folder / "memory.swap.max"
            if swap.exists():
                swap.write_text("0")  # a Pi's 1 GB model as installed: no swap to hide in
            return
        cpu, memory = self.folders
        (cpu / "cpu.cfs_period_us").write_text(str(PERIOD_US))
        (cpu / "cpu.cfs_quota_us").write_text(str(quota))
        (memory / "memory.limit_in_bytes").write_text(str(memory_bytes))
        memsw = memory / "memory.memsw.limit_in_bytes"
        if memsw.exists():
            memsw.write_text(str(memory_bytes))

    def enter(self) -> None:
        """Move the calling process (and so what it starts later) into the cgroup."""
        for folder in self.folders:
            (folder / "cgroup.procs").write_text(str(os.getpid()))

    def peak_memory(self) -> int | None:
        folder = self.folders[-1]
        for name in ("memory.peak", "memory.max_usage_in_bytes"):
            if (folder / name).exists():
                return int((folder / name).read_text())
        return None

    def oom_kills(self) -> int:
        folder = self.folders[-1]
        for name in ("memory.events", "memory.oom_control"):
            path = folder / name
            if path.exists():
                for line in path.read_text().splitlines():
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        return int(value)
        return 0

    def remove(self) -> None:
        for folder in self.folders:
            procs = folder / "cgroup.procs"
            parent = folder.parent / "cgroup.procs"
            if procs.exists():
                for pid in procs.read_text().split():
                    try:
                        parent.write_text(pid)
                    except OSError:
                        pass
            try:
                folder.rmdir()
            except OSError:
                pass


@dataclass
class Budget:
    """A machine to stand for: CPU (in cores of this machine), memory and fsync latency."""

    name: str
    cpus: float
    memory_bytes: int
    fsync_ms: float

    def environment(self, shim: Path) -> dict[str, str]:
        """What a process started inside the budget needs in its environment."""
        preload = " ".join(filter(None, [str(shim), os.environ.get("LD_PRELOAD", "")]))
        return {**os.environ, "LD_PRELOAD": preload,
                "MAC_TURNOS_FSYNC_DELAY_US": str(int(self.fsync_ms * 1000))}


class Held:
    """A budget applied: its cgroup and shim, for processes started through ``popen``."""

    def __init__(self, budget: Budget, factor: float = math.nan) -> None:
        self.budget = budget
        self.factor = factor  # this machine's core in Pi 4 cores when it was calibrated
        self.folder = Path(tempfile.mkdtemp(prefix="budget-"))
        self.shim = compile_shim(self.folder)
        self.cgroup = Cgroup.make(f"mac-turnos-{budget.name}-{os.getpid()}")
        self.cgroup.limit(budget.cpus, budget.memory_bytes)

    def popen(self, args: list[str], **kwargs: object) -> subprocess.Popen:
        env = {**self.budget.environment(self.shim), **dict(kwargs.pop("env", {}) or {})}  # type: ignore[call-overload]
        return subprocess.Popen(args, env=env, preexec_fn=self.cgroup.enter,  # noqa: PLW1509
                                **kwargs)  # type: ignore[call-overload]

    def close(self) -> None:
        self.cgroup.remove()
        shutil.rmtree(self.folder, ignore_errors=True)
