"""A Raspberry Pi's budget on this machine, and the check that it holds.

The budget is a cgroup's CPU quota and memory limit and a 5 ms delay on every fsync
(``bench/budget.py``). Its CPU share comes from one published Python figure:

* Raspberry Pi 4 Model B (Cortex-A72, 1.5 GHz, performance governor): the n-body benchmark
  in Python, 5,000,000 steps, 158.263 s (C. Mehta, "Performance Analysis of Languages on
  Raspberry Pi", chaitanyamehta.github.io/projects/performance-analysis-of-programming-
  languages). The Python version is not stated; a CPython older than this project's 3.11
  would make the Pi look slower than it is with 3.11, so the budget errs on the small side.
* Raspberry Pi 5 (Cortex-A76, 2.4 GHz) against the Pi 4, single thread: sysbench cpu 1,847
  against 812 events/s (zbotic.in, "Raspberry Pi 5 Benchmarks: Real Performance Numbers vs
  Pi 4"); no Python figure for both was found, so the Pi 5's is the Pi 4's divided by 2.27.

The same n-body steps are timed here, one process, no budget: one core of this machine is
``factor`` times a Pi 4 core. A Pi has four cores, so the budget's quota is 4 / factor cores
of this machine (at most all of them). The check then runs four n-body processes at once
inside the budget, as a Pi runs four: each should take the Pi's time for its steps; the
ratio is printed. A process that allocates past the memory limit must be killed (a 1 GB Pi
without swap), and 50 fsyncs inside must take at least 50 × 5 ms.

    sudo .venv/bin/python -m bench.pi_budget [--budget pi4|pi5|both] [--steps 200000]

The busiest day under it is ``bench.busiest_day --budget pi4`` (its calibration is
``calibrated_budgets``: the n-body steps' CPU time, not their wall time, so that a shared
machine's other load does not skew it).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time

from bench.budget import Budget, Held, NoBudget

PI4_NBODY_SECONDS, PI4_NBODY_STEPS = 158.263, 5_000_000
PI5_OVER_PI4 = 1847 / 812
PI_CORES = 4
GIB = 1 << 30

NBODY = r"""
import sys

def bodies():
    pi, year = 3.141592653589793, 365.24
    solar = 4 * pi * pi
    rows = [  # x, y, z, vx, vy, vz (per year), mass (in solar masses)
        (0, 0, 0, 0, 0, 0, 1),
        (4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
         1.66007664274403694e-03, 7.69901118419740425e-03, -6.90460016972063023e-05,
         9.54791938424326609e-04),
        (8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
         -2.76742510726862411e-03, 4.99852801234917238e-03, 2.30417297573763929e-05,
         2.85885980666130812e-04),
        (1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
         2.96460137564761618e-03, 2.37847173959480950e-03, -2.96589568540237556e-05,
         4.36624404335156298e-05),
        (1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
         2.68067772490389322e-03, 1.62824170038242295e-03, -9.51592254519715870e-05,
         5.15138902046611451e-05),
    ]
    return [[x, y, z, vx * year, vy * year, vz * year, m * solar]
            for x, y, z, vx, vy, vz, m in rows]

def advance(system, steps, dt=0.01):
    pairs = [(system[i], system[j]) for i in range(len(system))
             for j in range(i + 1, len(system))]
    for _ in range(steps):
        for a, b in pairs:
            dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
            d2 = dx * dx + dy * dy + dz * dz
            mag = dt / (d2 * d2 ** 0.5)
            bm, am = b[6] * mag, a[6] * mag
            a[3] -= dx * bm; a[4] -= dy * bm; a[5] -= dz * bm
            b[3] += dx * am; b[4] += dy * am; b[5] += dz * am
        for body in system:
            body[0] += dt * body[3]; body[1] += dt * body[4]; body[2] += dt * body[5]

advance(bodies(), int(sys.argv[1]))
"""

GROW = "import sys\nblocks = []\nwhile True:\n    blocks.append(bytearray(64 << 20))\n"
FSYNCS = ("import os, sys, tempfile, time\nf = tempfile.TemporaryFile()\nt = time.monotonic()\n"
          "for _ in range(50):\n    f.write(b'x'); f.flush(); os.fsync(f.fileno())\n"
          "print(time.monotonic() - t)\n")


def nbody_seconds(steps: int, runner: Held | None = None, copies: int = 1) -> float:
    """Wall seconds of ``copies`` n-body processes of ``steps`` each, started together."""
    args = [sys.executable, "-c", NBODY, str(steps)]
    began = time.monotonic()
    procs = [runner.popen(args) if runner else subprocess.Popen(args) for _ in range(copies)]
    for proc in procs:
        if proc.wait() != 0:
            raise RuntimeError("the n-body run failed")
    return time.monotonic() - began


def calibrate(steps: int = 200_000) -> tuple[float, float]:
    """(CPU seconds of ``steps`` n-body steps in one process here, ``factor``: how many Pi 4
    cores one core of this machine is). CPU time rather than wall time, so that other load
    on a shared machine does not make its cores look slower than they are."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    nbody_seconds(steps)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, PI4_NBODY_SECONDS / PI4_NBODY_STEPS / (cpu / steps)


def calibrated_budgets(steps: int = 200_000) -> tuple[float, dict[str, Budget]]:
    """(factor, the budgets) from a calibration run now (``calibrate``)."""
    factor = calibrate(steps)[1]
    return factor, budgets(factor)


def budgets(factor: float) -> dict[str, Budget]:
    cores = os.cpu_count() or 1
    return {"pi4": Budget("pi4", min(cores, PI_CORES / factor), GIB, 5.0),
            "pi5": Budget("pi5", min(cores, PI_CORES * PI5_OVER_PI4 / factor), GIB, 5.0)}


def check(budget: Budget, steps: int, pi_step_seconds: float) -> list[tuple[str, str]]:
    held = Held(budget)
    version = held.cgroup.version
    try:
        seconds = nbody_seconds(steps, held, copies=PI_CORES)
        expected = steps * pi_step_seconds
        grow = held.popen([sys.executable, "-c", GROW], stderr=subprocess.DEVNULL)
        killed = grow.wait(timeout=120) < 0 or held.cgroup.oom_kills() > 0
        fsync = held.popen([sys.executable, "-c", FSYNCS], stdout=subprocess.PIPE, text=True)
        out, _ = fsync.communicate(timeout=60)
        fsync_seconds = float(out.strip())
        delayed = fsync_seconds >= 50 * budget.fsync_ms / 1000
    finally:
        held.close()
    return [
        ("CPU quota", f"{budget.cpus:.2f} cores of this machine (cgroup v{version})"),
        ("4 n-body processes at once, each", f"{seconds:.1f} s; a {budget.name} would take "
                                             f"{expected:.1f} s (ratio {seconds / expected:.2f})"),
        ("memory", f"limit {budget.memory_bytes / GIB:.0f} GiB; a process growing past it "
                   f"{'was killed' if killed else 'WAS NOT killed'}"),
        ("50 fsyncs", f"{fsync_seconds * 1000:.0f} ms (at least {50 * budget.fsync_ms:.0f} ms "
                      f"expected: {'held' if delayed else 'NOT held'})"),
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--budget", choices=("pi4", "pi5", "both"), default="both")
    p.add_argument("--steps", type=int, default=200_000,
                   help="n-body steps of the calibration and of each check process")
    args = p.parse_args(argv)
    host = nbody_seconds(args.steps)
    pi4_step = PI4_NBODY_SECONDS / PI4_NBODY_STEPS
    factor = pi4_step / (host / args.steps)
    print(f"Calibration: n-body {args.steps:,} steps here in {host:.2f} s "
          f"({host / args.steps * 1e6:.2f} µs a step); a Pi 4 core: {pi4_step * 1e6:.2f} µs a "
          f"step (published); one core here = {factor:.2f} Pi 4 cores.")
    chosen = budgets(factor)
    names = ["pi4", "pi5"] if args.budget == "both" else [args.budget]
    try:
        for name in names:
            step = pi4_step / (PI5_OVER_PI4 if name == "pi5" else 1)
            print(f"\n| {name} budget | |\n|---|---|")
            for label, value in check(chosen[name], args.steps, step):
                print(f"| {label} | {value} |")
    except NoBudget as exc:
        print(f"No budget on this machine: {exc}")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
