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


def test_a_year_written_for_the_national_scale_bench_is_where_the_centres_continue(
        tmp_path: Path, pg) -> None:
    """The national-scale benchmark run small: its year of events lies in the monthly
    partitions, each centre's log continues it, and the day sent on top loses nothing."""
    import random

    from bench.national_ingest import send_days
    from bench.national_scale import fill_events
    from sync.central import partitions
    from sync.central.db import Database
    from sync.central.ingest import add_centre

    url = pg.new_database()
    db = Database(url)
    try:
        db.migrate()
        tokens = {code: add_centre(db, code) for code in ("mac-001", "mac-002")}
        held = fill_events(db, 2 * 12 * 50)
        assert held == {"mac-001": 600, "mac-002": 600}
        assert {f"events_2026_{m:02d}" for m in range(1, 13)} <= set(partitions.listed(db))
        seqs = db.conn().query("SELECT centre, MIN(seq) AS a, MAX(seq) AS b, COUNT(*) AS n "
                               "FROM events GROUP BY centre ORDER BY centre")
        assert [(r["a"], r["b"], r["n"]) for r in seqs] == [(1, 600, 600)] * 2
        sent = send_days(db, url, tokens, 100, tmp_path, random.Random(2), held)
        assert sent["problems"] == [] and sent["sent"] == 200
    finally:
        db.close()
