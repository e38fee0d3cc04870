"""bench.run_all keeps every benchmark's figures in results.json and regenerates RESULTS.md
from the whole file, so that re-running one benchmark (``--only``) must not lose or re-date
the others. Fake benchmarks (functions returning Figures, no server) keep this fast."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import run_all
from bench.common import Figure

OLD = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
NAMES = ("alpha", "beta")


def fake(name: str, values: list[float], calls: list[str]) -> SimpleNamespace:
    """A benchmark module: ``parser()`` and ``run()`` returning two figures."""

    def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
        calls.append(name)
        cmd = f".venv/bin/python -m bench.{name}"
        latency = Figure(f"{name}.p99", f"{name} p99", "ms", ("<=", 10), cmd)
        rate = Figure(f"{name}.rate", f"{name} rate", "calls/s", None, cmd)
        for v in values:
            latency.add(v)
            rate.add(1000 / v)
        return [latency, rate]

    return SimpleNamespace(parser=argparse.ArgumentParser, run=run)


@pytest.fixture
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """A results.json holding both fake benchmarks measured at OLD, and a main() that runs
    fakes whose figures differ from the stored ones."""
    monkeypatch.setattr(run_all, "wait_quiet", lambda: None)
    monkeypatch.setattr(run_all, "DISTURBED", float("inf"))  # never a second attempt
    calls: list[str] = []
    stored = {"format": run_all.FORMAT, "benchmarks": {
        name: run_all.entry(OLD, dict(run_all.machine()), 1.0, 1, 2.0,
                            fake(name, [4.0, 5.0, 6.0], []).run(argparse.Namespace(), []))
        for name in NAMES}}
    results, out = tmp_path / "results.json", tmp_path / "RESULTS.md"
    results.write_text(json.dumps(stored), encoding="utf-8")
    modules = {name: fake(name, [20.0, 30.0], calls) for name in NAMES}

    def main(*argv: str) -> None:
        run_all.main([*argv, "--out", str(out), "--results", str(results)], NAMES,
                     modules.__getitem__)

    return SimpleNamespace(main=main, calls=calls, results=results, out=out, stored=stored)


def test_only_replaces_that_benchmark_and_keeps_the_others(bench: SimpleNamespace) -> None:
    bench.main("--only", "beta")
    assert bench.calls == ["beta"]
    data = json.loads(bench.results.read_text(encoding="utf-8"))
    assert list(data["benchmarks"]) == ["alpha", "beta"]
    assert data["benchmarks"]["alpha"] == bench.stored["benchmarks"]["alpha"]
    beta = data["benchmarks"]["beta"]
    assert datetime.fromisoformat(beta["date"]) > OLD
    assert [f["values"] for f in beta["figures"]] == [[20.0, 30.0], [50.0, 33.333]]
    assert beta["machine"] == dict(run_all.machine())
    assert beta["figures"][0]["met"] is False and 0 <= beta["other_cpu_percent"]
    md = bench.out.read_text(encoding="utf-8")
    alpha_row = next(line for line in md.splitlines() if line.startswith("| alpha p99 |"))
    assert "| 5 ms | 4–6 ms | 3 | 2026-01-02 03:04 UTC |" in alpha_row
    beta_row = next(line for line in md.splitlines() if line.startswith("| beta p99 |"))
    assert "**25 ms** (missed)" in beta_row and "2026-01-02" not in beta_row
    assert "Targets missed (median over the runs): beta p99 25 ms against ≤ 10 ms." in md


def test_no_option_runs_every_benchmark(bench: SimpleNamespace) -> None:
    # A benchmark no longer in the list has nothing to re-measure it: its figures go.
    bench.stored["benchmarks"]["gone"] = bench.stored["benchmarks"]["alpha"]
    bench.results.write_text(json.dumps(bench.stored), encoding="utf-8")
    bench.main()
    assert bench.calls == ["alpha", "beta"]
    data = json.loads(bench.results.read_text(encoding="utf-8"))
    assert list(data["benchmarks"]) == ["alpha", "beta"]
    assert all(e["figures"][0]["median"] == 25.0 for e in data["benchmarks"].values())


@pytest.mark.parametrize("only", ["gamma", "beta,gamma", ","])
def test_unknown_name_is_an_error_and_changes_nothing(
        bench: SimpleNamespace, capsys: pytest.CaptureFixture[str], only: str) -> None:
    before = bench.results.read_bytes()
    with pytest.raises(SystemExit) as exit_:
        bench.main("--only", only)
    assert exit_.value.code == 2
    assert "valid names: alpha, beta" in capsys.readouterr().err
    assert bench.calls == []
    assert bench.results.read_bytes() == before and not bench.out.exists()


def test_malformed_results_stop_before_running(bench: SimpleNamespace) -> None:
    bench.results.write_text('{"benchmarks": []}', encoding="utf-8")
    with pytest.raises(SystemExit):
        bench.main("--only", "alpha")
    assert bench.calls == [] and not bench.out.exists()


def test_markdown_has_every_figure_with_its_command(bench: SimpleNamespace) -> None:
    data = json.loads(bench.results.read_text(encoding="utf-8"))
    data["benchmarks"]["beta"]["machine"]["Cores"] = "64"
    data["benchmarks"]["beta"]["figures"][1]["notes"] = ["short run"]
    bench.results.write_text(json.dumps(data), encoding="utf-8")
    bench.main("--render")
    assert bench.calls == []
    md = bench.out.read_text(encoding="utf-8")
    rows = [line for line in md.splitlines() if line.startswith("| ")]
    assert rows[0] == ("| figure | target | median | spread (min–max) | runs | measured | "
                       "command |")
    for name in NAMES:
        for label in (f"{name} p99", f"{name} rate"):
            row = next(r for r in rows if r.startswith(f"| {label} |"))
            assert row.endswith(f"| `.venv/bin/python -m bench.{name}` |")
    # The header shows the machine of most benchmarks; a row measured elsewhere says what
    # differs.
    assert f"- Cores: {run_all.machine()[1][1]}" in md
    assert sum("2026-01-02 03:04 UTC on Cores 64 |" in r for r in rows) == 2
    assert "All targets met" in md and "- beta rate: short run" in md


def test_render_lists_benchmarks_never_measured(bench: SimpleNamespace) -> None:
    text = run_all.render(json.loads(bench.results.read_text(encoding="utf-8")),
                          (*NAMES, "gamma"))
    assert "Not measured yet: gamma (`.venv/bin/python -m bench.run_all --only gamma`)." in text


def test_a_long_benchmark_run_apart_is_recorded_from_its_output_and_kept(
        bench: SimpleNamespace, tmp_path: Path) -> None:
    cmd = "sudo .venv/bin/python -m bench.busiest_day --budget pi4"
    figures = [Figure("busiest_day.kiosk_issue_rush_p99", "Busiest day (pi4 budget): kiosk",
                      "ms", ("<=", 300), cmd), Figure("busiest_day.other_cpu_cores",
                                                      "other CPU", "cores", None, cmd)]
    figures[0].add(120.0)
    figures[1].add(0.1)
    out = tmp_path / "pi4.jsonl"
    out.write_text("[bench] progress goes to stderr\n" + "".join(
        json.dumps(f.record(), ensure_ascii=False) + "\n" for f in figures), encoding="utf-8")
    bench.main("--record", "busiest_day_pi4", str(out))
    assert bench.calls == []  # nothing ran
    data = json.loads(bench.results.read_text(encoding="utf-8"))
    assert list(data["benchmarks"]) == ["alpha", "beta", "busiest_day_pi4"]
    kept = data["benchmarks"]["busiest_day_pi4"]
    assert kept["figures"][0]["median"] == 120.0 and kept["other_cpu_percent"] > 0
    md = bench.out.read_text(encoding="utf-8")
    assert "| Busiest day (pi4 budget): kiosk | ≤ 300 ms | 120 ms |" in md
    assert "busiest_day_pi5 (`sudo .venv/bin/python -m bench.busiest_day --budget pi5 > FILE`" \
        in md
    bench.main("--only", "alpha")  # a later run of another keeps the recorded one
    assert "busiest_day_pi4" in json.loads(bench.results.read_text(encoding="utf-8"))[
        "benchmarks"]


def test_recording_a_file_without_figures_is_an_error_and_changes_nothing(
        bench: SimpleNamespace, tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("[bench] it stopped early\n", encoding="utf-8")
    before = bench.results.read_text(encoding="utf-8")
    with pytest.raises(SystemExit):
        bench.main("--record", "busiest_day_pi4", str(empty))
    assert bench.results.read_text(encoding="utf-8") == before
