"""Run every benchmark with its default sizes and write bench/RESULTS.md.

    .venv/bin/python -m bench.run_all [--out bench/RESULTS.md]

Each benchmark prints its figures as JSON lines too; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import call_next, idle_rss, issue, startup
from bench.common import Figure, emit, fmt, progress

BENCHMARKS = (issue, call_next, idle_rss, startup)


def machine() -> list[tuple[str, str]]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    ram = "unknown"
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    ram = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    return [("CPU", model), ("Cores", str(os.cpu_count() or "unknown")), ("RAM", ram),
            ("Kernel", f"{platform.system()} {platform.release()}"),
            ("Python", platform.python_version()), ("SQLite", sqlite3.sqlite_version)]


def spread(figure: Figure) -> str:
    if not figure.values:
        return "n/a"
    return f"{fmt(min(figure.values))}–{fmt(max(figure.values))}"


def table(figures: list[Figure]) -> list[str]:
    rows = ["| figure | target | median | spread (min–max) | runs | command |",
            "| --- | --- | --- | --- | --- | --- |"]
    for f in figures:
        median = f"{fmt(f.median)} {f.unit}"
        if f.met is False:
            median = f"**{median}** (missed)"
        rows.append(f"| {f.label} | {f.target_text()} | {median} | {spread(f)} {f.unit} | "
                    f"{len(f.values)} | `{f.command}` |")
    return rows


def report(figures: list[Figure], began: datetime, seconds: float) -> str:
    lines = ["# Benchmark results", "",
             "Written by `.venv/bin/python -m bench.run_all`; see bench/README.md for what each "
             "script measures. Server and load generator run on the same machine and talk "
             "over 127.0.0.1; the state is a fresh SQLite database in a temporary directory "
             "on the local disk.", "",
             f"- Date: {began:%Y-%m-%d %H:%M} UTC (run took {seconds / 60:.1f} min)"]
    lines += [f"- {key}: {value}" for key, value in machine()]
    lines += ["", *table(figures), ""]
    missed = [f for f in figures if f.met is False]
    if missed:
        lines.append("Targets missed (median over the runs): " + "; ".join(
            f"{f.label} {fmt(f.median)} {f.unit} against {f.target_text()}" for f in missed)
            + ".")
    else:
        lines.append("All targets met (median over the runs).")
    notes = [f"{f.label}: {note}" for f in figures for note in f.notes]
    if notes:
        lines += ["", "Notes (errors or short runs):", *[f"- {note}" for note in notes]]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Run all benchmarks and write RESULTS.md.")
    p.add_argument("--out", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    began, t0 = datetime.now(UTC), time.monotonic()
    figures: list[Figure] = []
    for module in BENCHMARKS:
        name = module.__name__.rsplit(".", 1)[-1]
        progress(f"running {name}")
        step = time.monotonic()
        found = module.run(module.parser().parse_args([]), [])
        emit(found)
        figures += found
        progress(f"{name} took {time.monotonic() - step:.0f} s")
    args.out.write_text(report(figures, began, time.monotonic() - t0), encoding="utf-8")
    progress(f"wrote {args.out.name}")


if __name__ == "__main__":
    main()
