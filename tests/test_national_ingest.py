"""The national ingest benchmark's harness, run small: several centres sending their day at
once, signed, to a real central on PostgreSQL, end with every event stored once and every
ticket in the aggregates (the benchmark reports a run that does not as problems)."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

from pathlib import Path

from bench.national_ingest import day_log, run_once


def test_three_centres_sending_at_once_lose_double_and_miss_nothing(tmp_path: Path,
                                                                     pg) -> None:
    result = run_once(3, 300, tmp_path, pg, seed=1)
    assert result["problems"] == []
    assert result["sent"] == 3 * 300 and len(result["latencies"]) == 3  # one batch each


def test_a_centre_s_day_is_in_log_order_with_five_events_per_ticket() -> None:
    import random

    log = day_log(100, random.Random(3))
    assert [e["seq"] for e in log] == list(range(1, 101))
    assert [e["at"] for e in log] == sorted(e["at"] for e in log)
    assert sum(e["kind"] == "ticket.issued" for e in log) == 20
