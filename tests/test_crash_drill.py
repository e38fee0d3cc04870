"""``kill -9`` of the whole server under load, restarted on the same state dir
(``bench.crash_drill``), at the suite's size: 3 kills of a centre with 4 kiosks and 6
módulos, then the kill that pins print jobs and announcements (about 30 s). The drill runs
once; each test reads what it pins."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from bench import crash_drill
from bench.crash_drill import CHECKS, DrillResult, Options

pytestmark = pytest.mark.slow

SMALL = Options(kills=3, kiosks=4, counters=6, queues=3, min_gap=1.0, max_gap=2.0)


@pytest.fixture(scope="module")
def drill(tmp_path_factory: pytest.TempPathFactory) -> DrillResult:
    root: Path = tmp_path_factory.mktemp("crash") / "run"
    return crash_drill.drill(replace(SMALL, state_dir=root), say=lambda _: None)


@pytest.mark.parametrize("name", [name for name, _ in CHECKS])
def test_after_kills_under_load_the_day_holds_the_invariant(drill, name: str):
    assert drill.checks[name] == []


def test_every_ticket_a_kiosk_was_given_survives_every_kill(drill):
    assert drill.kills == SMALL.kills == len(drill.restart_seconds)
    assert drill.confirmed > 50 and drill.counts["calls"] > 20
    assert drill.checks["confirmed_tickets_kept"] == []


def test_print_jobs_pending_at_a_kill_are_owed_after_it_and_print_once_repaired(drill):
    pins = drill.pins
    assert pins.jobs_live_at_kill  # the offline printer owed these at the kill
    assert set(pins.jobs_live_at_kill) <= set(pins.jobs_owed_after_restart)
    assert sorted(pins.jobs_printed_after_repair) == sorted(pins.jobs_owed_after_restart)
    assert pins.labels_missing_on_paper == [] and pins.jobs_owed_at_end == []
    assert drill.checks["print_jobs_written"] == []


def test_calls_not_yet_announced_at_a_kill_reach_the_tv_after_the_restart(drill):
    pins = drill.pins
    assert pins.pending_announcements  # the voice was still busy at the kill
    assert all(t in pins.heard_after_restart for t in pins.pending_announcements)
    assert pins.screen_calls and pins.screen_calls == pins.logged_calls
    assert drill.checks["pending_work_resumes"] == []
