"""A simulated day against a real server at accelerated time (``bench.day_sim``), at the
suite's size: 300 visitors, 8 módulos of 4 entities, 3 opening hours at 500x (about 40 s).
The day runs once; each test reads what it pins. Also the simulated clock itself and the
``serve`` options that start it, and proof that the invariant checks can fail."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from appliance.cli import main as cli_main
from appliance.runtime import DB_NAME
from bench import day_sim
from bench.day_checks import POST_DAY_CHECKS, Replay
from bench.day_plan import TZ, Options
from bench.day_sim import DayResult
from harness.live_server import write_config
from turnero.clock import ScaledClock, from_iso

pytestmark = pytest.mark.slow

SMALL = Options(visitors=300, counters=8, entities=4, hours=3.0, speed=500.0, kiosks=3,
                tvs=1, idle_seconds=5.0)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> tuple[DayResult, Path, Options]:
    root = tmp_path_factory.mktemp("day") / "run"
    options = replace(SMALL, state_dir=root)
    return day_sim.simulate(options, say=lambda _: None), root, options


def database(root: Path) -> closing[sqlite3.Connection]:
    return closing(sqlite3.connect(root / "state" / DB_NAME))


@pytest.mark.parametrize("name", [name for name, _ in POST_DAY_CHECKS])
def test_a_simulated_day_holds_the_invariant(day, name: str):
    result, _, _ = day
    assert result.checks[name] == []


def test_every_visitor_gets_a_ticket_and_ends_served_absent_or_expired(day):
    result, root, options = day
    f = result.figures
    assert f["tickets"] == options.visitors
    assert f["served"] + f["no_show"] + f["expired"] == options.visitors
    assert f["no_show"] == result.counts["no_show_marked"] > 0
    assert result.unexpected == {}


def test_the_day_has_preferential_tickets_visits_derivations_pauses_and_ratings(day):
    result, root, _ = day
    c = result.counts
    assert 0.1 < result.figures["preferential_share"] < 0.3
    assert c["multi_step_tickets"] > 0 and c["next_steps"] > 0
    assert c["transferred"] > 0 and c["attentions_transferred"] == c["transferred"]
    assert c["pauses_break"] == 8 and c["ratings"] > 0
    with database(root) as db:
        kinds = dict(db.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind").fetchall())
    assert kinds["ticket.next_step"] == c["next_steps"]
    assert kinds["counter.paused"] == kinds["counter.resumed"] == c["pauses_break"] + c.get(
        "pauses_it_support", 0)
    assert kinds["ticket.rated"] == c["ratings"]
    assert kinds["ticket.recalled"] == kinds["ticket.no_show"] == c["no_show_marked"]


def test_a_visit_of_several_tramites_is_served_step_by_step_under_one_label(day):
    result, root, _ = day
    with database(root) as db:
        rows = db.execute(
            "SELECT t.label, t.visit, COUNT(a.id), SUM(a.status = 'done'), "
            "COUNT(DISTINCT a.queue) FROM tickets t JOIN attentions a ON a.ticket = t.id "
            "WHERE t.day = ? GROUP BY t.id HAVING COUNT(a.id) > 1", (result.day,)).fetchall()
    served_visits = [r for r in rows if r[2] == r[3]]
    assert served_visits, rows
    for _label, remaining, steps, _done, queues in served_visits:
        assert remaining == "[]" and steps >= 2 and queues >= 2


def test_the_server_clock_ran_the_simulated_day_at_its_hours(day):
    result, root, options = day
    opens = datetime.fromtimestamp(result.opens_at, TZ)
    assert opens.date().isoformat() == result.day and f"{opens:%H:%M}" == options.opens
    with database(root) as db:
        first, last = db.execute("SELECT MIN(issued_at), MAX(issued_at) FROM tickets "
                                 "WHERE day = ?", (result.day,)).fetchone()
        closed = db.execute("SELECT closed_at FROM days WHERE day = ?",
                            (result.day,)).fetchone()[0]
    first_at, last_at, closed_at = (from_iso(t) for t in (first, last, closed))
    # A crowd at the door takes tickets in the quarter hour before opening. The clients took
    # the server's time from one request: it is known to within that request's duration
    # (in simulated seconds), not better.
    known_to = timedelta(seconds=result.clock_uncertainty)
    assert opens - timedelta(minutes=15) - known_to <= first_at < opens
    assert opens + timedelta(hours=2.5) < last_at < opens + timedelta(hours=3)
    assert opens + timedelta(hours=3) <= closed_at < opens + timedelta(hours=4)


def test_waits_throughput_and_the_estimate_error_are_measured(day):
    result, root, options = day
    f = result.figures
    with database(root) as db:
        called = db.execute("SELECT COUNT(DISTINCT ticket) FROM attentions WHERE day = ? "
                            "AND called_at IS NOT NULL", (result.day,)).fetchone()[0]
    assert len(result.waits) == called >= f["served"] + f["no_show"]
    assert 0 <= f["wait_median"] <= f["wait_p90"] <= max(result.waits)
    assert f["wait_mean"] > 0
    assert f["throughput_per_hour"] * options.hours >= f["served"]
    assert len(result.estimate_errors) == len(result.waits)
    assert f["estimate_mae"] == pytest.approx(
        sum(abs(e) for e in result.estimate_errors) / len(result.estimate_errors))
    # the first hour (the crowd before opening included) is reported apart from the rest
    assert f["issued_before_opening"] > 0
    assert f["estimate_mae_first_hour"] >= 0 and f["estimate_mae_rest"] >= 0


def test_the_server_grows_at_most_10_mb_after_the_first_hour(day):
    result, _, _ = day
    assert result.figures["rss_first_hour_mib"] > 0
    assert result.figures["rss_growth_mb"] <= 10


def test_the_server_is_idle_after_the_day(day):
    result, _, _ = day
    assert result.figures["idle_cpu_percent"] <= 2


# ----------------------------------------------------------------------------- the checks


def replay(*events: tuple[str, int | None, str, dict[str, Any]],
           rules: tuple[int, int] = (0, 0)) -> Replay:
    r = Replay("2026-12-01", {"RN": rules})
    for kind, counter, uid, payload in events:
        r.apply(kind, counter, uid, {"day": "2026-12-01", "queue": "RN", **payload})
    return r


def issued(uid: str, preferential: bool) -> tuple[str, None, str, dict[str, Any]]:
    return ("ticket.issued", None, uid, {"label": uid, "preferential": preferential})


def called(uid: str, counter: int, rule: str) -> tuple[str, int, str, dict[str, Any]]:
    return ("ticket.called", counter, uid, {"label": uid, "rule": rule})


def test_the_preferential_check_flags_a_normal_ticket_called_while_one_waits():
    r = replay(issued("RN-001", False), issued("RN-002", True), called("RN-001", 1, "arrival"))
    assert len(r.passed_preferential) == 1 and "RN-002" in r.passed_preferential[0]
    assert replay(issued("RN-001", False), issued("RN-002", True),
                  called("RN-002", 1, "preferential"),
                  called("RN-001", 2, "arrival")).passed_preferential == []


def test_the_preferential_check_allows_only_the_passes_the_queue_enabled():
    run = (issued("RN-001", False), issued("RN-002", True), issued("RN-003", True),
           issued("RN-004", True), called("RN-002", 1, "preferential"),
           called("RN-003", 2, "preferential"), called("RN-001", 3, "preferential_streak_limit"))
    assert replay(*run, rules=(2, 0)).passed_preferential == []
    assert len(replay(*run, rules=(3, 0)).passed_preferential) == 1  # a streak of 2 < 3
    assert len(replay(*run).passed_preferential) == 1  # strict by default
    assert replay(issued("RN-001", False), issued("RN-002", True),
                  called("RN-001", 1, "max_normal_wait"), rules=(0, 30)).passed_preferential == []


def test_the_call_check_flags_a_ticket_called_twice_and_a_modulo_holding_two():
    r = replay(issued("RN-001", False), called("RN-001", 1, "arrival"),
               called("RN-001", 2, "arrival"))
    assert len(r.double_calls) == 1 and "módulo 2" in r.double_calls[0]
    r = replay(issued("RN-001", False), issued("RN-002", False), called("RN-001", 1, "arrival"),
               called("RN-002", 1, "arrival"))
    assert len(r.double_calls) == 1 and "holding RN-001" in r.double_calls[0]
    r = replay(issued("RN-001", False), issued("RN-002", False), called("RN-001", 1, "arrival"),
               ("ticket.no_show", 1, "RN-001", {}), called("RN-002", 1, "arrival"))
    assert r.double_calls == []


# ----------------------------------------------------------------------------- the clock


def test_the_scaled_clock_runs_from_its_start_at_its_speed():
    ticks = iter([100.0, 100.0, 102.5, 110.0])
    clock = ScaledClock(datetime(2026, 12, 1, 8, 0, tzinfo=TZ), 60,
                        monotonic=lambda: next(ticks))
    start = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    assert clock.now() == start
    assert clock.now() == start + timedelta(minutes=2.5)
    assert clock.now() == start + timedelta(minutes=10)


@pytest.mark.parametrize("start, speed", [
    (datetime(2026, 12, 1, 8, 0), 60),  # no UTC offset: which 8:00?
    (datetime(2026, 12, 1, 8, 0, tzinfo=TZ), 0),
    (datetime(2026, 12, 1, 8, 0, tzinfo=TZ), -5),
    (datetime(2026, 12, 1, 8, 0, tzinfo=TZ), float("nan")),
    (datetime(2026, 12, 1, 8, 0, tzinfo=TZ), float("inf")),
    (datetime(2026, 12, 1, 8, 0, tzinfo=TZ), 3601),
])
def test_the_scaled_clock_refuses_a_start_without_offset_and_a_nonsense_speed(start, speed):
    with pytest.raises(ValueError):
        ScaledClock(start, speed)


@pytest.mark.parametrize("args, message", [
    (["--clock-speed", "60"], "--clock-speed needs --clock-start"),
    (["--clock-start", "mañana"], "not an ISO 8601"),
    (["--clock-start", "2026-12-01T08:00"], "UTC offset"),
    (["--clock-start", "2026-12-01T08:00-05:00", "--clock-speed", "0"], "above 0"),
    (["--clock-start", "2026-12-01T08:00-05:00", "--clock-speed", "1e9"], "at most 3600"),
    (["--clock-start", "2001-01-01T08:00-05:00"], "no day could be opened"),
])
def test_serve_refuses_nonsense_clock_options_before_touching_the_state(tmp_path: Path, args,
                                                                         message: str):
    config = write_config(tmp_path / "centre.toml")
    state = tmp_path / "state"
    result = CliRunner().invoke(cli_main, ["--config", str(config), "--state-dir",
                                           str(state), "serve", "--port", "0", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not (state / DB_NAME).exists()
