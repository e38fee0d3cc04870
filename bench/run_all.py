"""Run the benchmarks, keep their figures in bench/results.json, write bench/RESULTS.md.

    .venv/bin/python -m bench.run_all                          # every benchmark
    .venv/bin/python -m bench.run_all --only report,idle_rss   # just these
    .venv/bin/python -m bench.run_all --render                 # rewrite RESULTS.md only
    .venv/bin/python -m bench.run_all --record busiest_day_pi4 FILE   # a long one, run apart

results.json keeps, per benchmark, the figures of the last run that included it, with that
run's date, the machine and the CPU other processes took meanwhile. RESULTS.md is generated
from the whole file, so re-measuring one benchmark does not mean re-running all of them (the
full run takes the best part of an hour on a 2-core machine). Both files are rewritten after
each benchmark, so an interrupted run keeps what it finished.

Each benchmark prints its figures as JSON lines too; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sqlite3
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, cast

from bench.common import Figure, cpu_count, emit, fmt, progress

# Module names under bench/, in the order they run and are listed. They are imported only
# when they run: some pull in Playwright or a PostgreSQL cluster helper.
BENCHMARKS = ("issue", "call_next", "idle_rss", "startup", "render_ticket", "kiosk_tap",
              "desk_click", "speak", "voice_delay", "display_latency", "sse_hold", "sync_drain",
              "uplink_stop", "national_ingest",
              "report", "day_sim", "crash_drill", "front_drill")
# Runs too long for a whole run (the busiest day takes about 105 minutes): each is run on
# its own, as its command says, its JSON lines kept in a file, and recorded with --record.
RECORDED = {
    "busiest_day_pi4": "sudo .venv/bin/python -m bench.busiest_day --budget pi4",
    "busiest_day_pi5": "sudo .venv/bin/python -m bench.busiest_day --budget pi5",
    "busiest_day_pi4_surge": "sudo .venv/bin/python -m bench.busiest_day --budget pi4 "
                             "--rate-factor 10",
    "national_year": ".venv/bin/python -m bench.national_year",  # about 15 minutes
    "national_scale": ".venv/bin/python -m bench.national_scale",  # about 30 minutes
}
DISTURBED = 5.0  # % of all cores used by other processes that makes a benchmark run again
BUDGET = 6 * 60.0  # seconds; no second attempt past this
HERE = Path(__file__).parent
FORMAT = 1  # version of the results.json layout

Results = dict[str, Any]


class Benchmark(Protocol):
    """What run_all needs of a benchmark module."""

    def parser(self) -> argparse.ArgumentParser: ...

    def run(self, args: argparse.Namespace, argv: list[str]) -> list[Figure]: ...


def load(name: str) -> Benchmark:
    return cast(Benchmark, importlib.import_module(f"bench.{name}"))


# --------------------------------------------------------------------------- measuring


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


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
    return busy / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    """CPU seconds of this process and of its waited-for children (the servers)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def wait_quiet(limit: float = 60.0, window: float = 2.0, share: float = 0.05) -> None:
    """Wait (at most ``limit`` s) until the machine is idle: benchmarks on a shared machine
    measure its other load too. Goes on regardless after ``limit``; the report then shows
    how much CPU other processes took."""
    cores = cpu_count()
    stop_at = time.monotonic() + limit
    while time.monotonic() < stop_at:
        busy = busy_seconds()
        time.sleep(window)
        if busy_seconds() - busy < share * window * cores:
            return
    progress(f"machine still busy after {limit:.0f} s; going on")


def measure(name: str, module: Benchmark, t0: float) -> tuple[float, list[Figure], int, float]:
    """(share of the CPU other processes took, figures, attempts, seconds) of one benchmark
    with its default sizes. Another load on the machine disturbs the figures: it runs once
    more if there is time left in the budget, and the less disturbed attempt is kept."""
    cores = cpu_count()
    kept: tuple[float, list[Figure], float] | None = None
    attempt = 0
    for attempt in (1, 2):
        wait_quiet()
        progress(f"running {name}" + (" again" if attempt > 1 else ""))
        step, busy, own = time.monotonic(), busy_seconds(), own_seconds()
        found = module.run(module.parser().parse_args([]), [])
        wall = time.monotonic() - step
        other = max(0.0, (busy_seconds() - busy) - (own_seconds() - own))
        share = 100 * other / (max(wall, 1e-3) * cores)
        progress(f"{name} took {wall:.0f} s; other processes used {share:.0f}% of the CPU")
        if kept is None or share < kept[0]:
            kept = (share, found, wall)
        if share <= DISTURBED or time.monotonic() - t0 + wall > BUDGET:
            break
    assert kept is not None
    return kept[0], kept[1], attempt, kept[2]


# --------------------------------------------------------------------------- results.json


def read_results(path: Path) -> Results:
    """The stored figures; an empty set when the file does not exist yet. A malformed file
    is an error before anything runs, not after half an hour of measuring."""
    if not path.exists():
        return {"format": FORMAT, "benchmarks": {}}
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), dict):
        raise ValueError("no 'benchmarks' object")
    if data.get("format") != FORMAT:
        raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
    for name, entry in data["benchmarks"].items():
        missing = {"date", "machine", "other_cpu_percent", "figures"} - set(entry)
        if missing:
            raise ValueError(f"{name}: missing {', '.join(sorted(missing))}")
        datetime.fromisoformat(entry["date"])
    return cast(Results, data)


def entry(began: datetime, host: dict[str, str], share: float, attempts: int,
          seconds: float, figures: list[Figure]) -> dict[str, Any]:
    """One benchmark's stored run: everything RESULTS.md shows about its figures."""
    return {"date": began.isoformat(timespec="seconds"), "seconds": round(seconds, 1),
            "attempts": attempts, "other_cpu_percent": round(share, 1), "machine": host,
            "figures": [f.record() for f in figures]}


def ordered(results: Results, names: Sequence[str]) -> Results:
    """The results in benchmark order; benchmarks no longer in the list are dropped, so the
    report does not keep figures that nothing can re-measure."""
    stored = results["benchmarks"]
    for name in stored:
        if name not in names:
            progress(f"dropping the figures of {name}: not a benchmark any more")
    return {**results, "format": FORMAT,
            "benchmarks": {name: stored[name] for name in names if name in stored}}


def write(path: Path, text: str) -> None:
    """Replace ``path`` whole, so an interrupted run never leaves half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def save(results: Results, names: Sequence[str], results_path: Path, out: Path) -> Results:
    results = ordered(results, names)
    write(results_path, json.dumps(results, ensure_ascii=False, indent=1) + "\n")
    write(out, render(results, names, results_path.name))
    return results


# --------------------------------------------------------------------------- RESULTS.md


def when(entry: dict[str, Any]) -> str:
    return f"{datetime.fromisoformat(entry['date']):%Y-%m-%d %H:%M} UTC"


def home_machine(entries: dict[str, dict[str, Any]]) -> dict[str, str]:
    """The machine most benchmarks were measured on (the latest one on a tie): the header's,
    so that only rows measured elsewhere need to name theirs."""
    if not entries:
        return dict(machine())
    counts: Counter[str] = Counter()
    latest: dict[str, tuple[str, dict[str, str]]] = {}
    for e in sorted(entries.values(), key=lambda e: e["date"]):
        key = json.dumps(e["machine"], sort_keys=True)
        counts[key] += 1
        latest[key] = (e["date"], e["machine"])
    best = max(counts, key=lambda k: (counts[k], latest[k][0]))
    return latest[best][1]


def measured(entry: dict[str, Any], home: dict[str, str]) -> str:
    """The row's date, and what differs from the header's machine if anything does."""
    other = [f"{key} {value}" for key, value in entry["machine"].items()
             if home.get(key) != value]
    return when(entry) + (" on " + ", ".join(other) if other else "")


def amount(value: float | None, unit: str) -> str:
    return "n/a" if value is None else f"{fmt(value)} {unit}".strip()


def row(record: dict[str, Any], date: str) -> str:
    unit = record["unit"]
    median = amount(record["median"], unit)
    if record["met"] is False:
        median = f"**{median}** (missed)"
    spread = ("n/a" if record["min"] is None else
              f"{fmt(record['min'])}–{fmt(record['max'])} {unit}".strip())
    return (f"| {record['label']} | {record['target']} | {median} | {spread} | "
            f"{record['runs']} | {date} | `{record['command']}` |")


def render(results: Results, names: Sequence[str], source: str = "results.json") -> str:
    """RESULTS.md from the whole results file: one table with every figure, its date (and
    machine when not the header's) and the command that measures it."""
    entries: dict[str, dict[str, Any]] = results["benchmarks"]
    home = home_machine(entries)
    dates: dict[str, list[str]] = {}
    for name, e in sorted(entries.items(), key=lambda item: item[1]["date"], reverse=True):
        dates.setdefault(when(e), []).append(name)
    lines = ["# Benchmark results", "",
             f"Generated by `.venv/bin/python -m bench.run_all` from `{source}` beside this "
             "file, which keeps each benchmark's figures from the last run that included it "
             "(`--only NAME,...` re-runs some and keeps the others'); see bench/README.md for "
             "what each script measures. Server and load generator run on the same machine "
             "and talk over 127.0.0.1; the state is a fresh SQLite database in a temporary "
             "directory on the local disk.", ""]
    if len(dates) == 1:
        lines.append(f"- Measured: {next(iter(dates))} (every benchmark below)")
    else:
        lines.append("- Measured: " + "; ".join(f"{date} ({', '.join(group)})"
                                                for date, group in dates.items()))
    lines += [f"- {key}: {value}" for key, value in home.items()]
    if any(e["machine"] != home for e in entries.values()):
        lines.append("- Rows measured on another machine name what differs in the measured "
                     "column.")
    lines.append("- CPU used by other processes during each benchmark (share of all cores; "
                 "above a few % the figures are disturbed): " + ", ".join(
                     name + (f" (kept the quieter of {e['attempts']} attempts)"
                             if e.get("attempts", 1) > 1 else "")
                     + f" {e['other_cpu_percent']:.0f}%" for name, e in entries.items()))
    lines += ["", "| figure | target | median | spread (min–max) | runs | measured | command |",
              "| --- | --- | --- | --- | --- | --- | --- |"]
    records: list[dict[str, Any]] = []
    for e in entries.values():
        date = measured(e, home)
        for record in e["figures"]:
            lines.append(row(record, date))
            records.append(record)
    lines.append("")
    missed = [r for r in records if r["met"] is False]
    if missed:
        lines.append("Targets missed (median over the runs): " + "; ".join(
            f"{r['label']} {amount(r['median'], r['unit'])} against {r['target']}"
            for r in missed) + ".")
    else:
        lines.append("All targets met (median over the runs).")
    notes = [f"{r['label']}: {note}" for r in records for note in r["notes"]]
    if notes:
        lines += ["", "Notes (errors or short runs):", *[f"- {note}" for note in notes]]
    absent = [name for name in names if name not in entries]
    if absent:
        lines += ["", "Not measured yet: " + ", ".join(
            f"{name} (`{RECORDED[name]} > FILE`, then `.venv/bin/python -m bench.run_all "
            f"--record {name} FILE`)" if name in RECORDED else
            f"{name} (`.venv/bin/python -m bench.run_all --only {name}`)" for name in absent)
            + "."]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- command line


def chosen(only: str | None, names: Sequence[str]) -> list[str]:
    """The benchmarks ``--only`` names, in run order; all of them without it."""
    if only is None:
        return list(names)
    asked = {part.strip().removeprefix("bench.") for part in only.split(",") if part.strip()}
    unknown = sorted(asked - set(names))
    if unknown or not asked:
        raise ValueError(f"unknown benchmark {', '.join(unknown) or repr(only)}; "
                         f"valid names: {', '.join(names)}")
    return [name for name in names if name in asked]


def recorded(name: str, path: Path) -> dict[str, Any]:
    """The stored run of a benchmark run apart: its JSON lines in ``path`` (the figures'
    records, as ``emit`` prints them), dated by the file (the run's end). The CPU other
    processes took is the run's own ``other_cpu_cores`` figure when it has one."""
    figures = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
               if line.startswith("{")]
    if not figures or any("figure" not in f or "median" not in f for f in figures):
        raise ValueError(f"{path} holds no figure records")
    other = next((f["median"] for f in figures if f["figure"].endswith(".other_cpu_cores")),
                 None)
    runs = max(f["runs"] for f in figures)
    wall = next((f["median"] for f in figures if f["figure"].endswith(".wall")), 0.0)
    ended = datetime.fromtimestamp(path.stat().st_mtime, UTC).replace(microsecond=0)
    return {"date": ended.isoformat(timespec="seconds"), "seconds": round(wall or 0.0, 1),
            "attempts": runs, "machine": dict(machine()),
            "other_cpu_percent": round(100 * (other or 0.0) / cpu_count(), 1),
            "figures": figures}


def main(argv: list[str] | None = None, benchmarks: Sequence[str] = BENCHMARKS,
         loader: Callable[[str], Benchmark] = load) -> None:
    p = argparse.ArgumentParser(
        description="Run the benchmarks, store their figures in results.json and rewrite "
                    "RESULTS.md from it.")
    p.add_argument("--only", metavar="NAME[,NAME...]",
                   help="run just these benchmarks and keep the others' stored figures; "
                        f"names: {', '.join(benchmarks)}")
    p.add_argument("--render", action="store_true",
                   help="run nothing; rewrite RESULTS.md from results.json")
    p.add_argument("--record", nargs=2, metavar=("NAME", "FILE"),
                   help="run nothing; store the figures a long benchmark printed to FILE "
                        f"under NAME ({', '.join(RECORDED)})")
    p.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    p.add_argument("--results", type=Path, default=None,
                   help="the stored figures (default: results.json beside --out)")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if (args.render or args.record) and args.only is not None:
        p.error("--render and --record run nothing; drop --only")
    if args.record and args.record[0] not in RECORDED:
        p.error(f"--record takes one of {', '.join(RECORDED)}")
    try:
        names = [] if args.render or args.record else chosen(args.only, benchmarks)
    except ValueError as e:
        p.error(str(e))
    listed = [*benchmarks, *RECORDED]
    results_path: Path = args.results or args.out.with_name("results.json")
    try:
        results = read_results(results_path)
    except (ValueError, KeyError, TypeError) as e:
        p.error(f"{results_path.name} is not a results file ({e}); fix it before running")
    if args.record:
        try:
            results["benchmarks"][args.record[0]] = recorded(args.record[0],
                                                             Path(args.record[1]))
        except (OSError, ValueError, KeyError, TypeError) as e:
            p.error(f"cannot record {args.record[1]}: {e}")
    modules = {name: loader(name) for name in names}  # an import error stops before running
    began, t0 = datetime.now(UTC).replace(microsecond=0), time.monotonic()
    host = dict(machine())
    for name, module in modules.items():
        share, figures, attempts, seconds = measure(name, module, t0)
        emit(figures)
        results["benchmarks"][name] = entry(began, host, share, attempts, seconds, figures)
        results = save(results, listed, results_path, args.out)
    if not modules:
        save(results, listed, results_path, args.out)
    progress(f"wrote {results_path.name} and {args.out.name}")


if __name__ == "__main__":
    main()
