"""The busiest day (``bench.busiest_day``) at a tiny size and without a budget: 60 visitors
at 6 módulos in 2 zones, 2 TVs with voice, 10 phones (reading every second, not every
5 s: a simulated minute lasts half a second here), a rush from 08:15 to 08:30 at 120x
and the rest of a one-hour day at 600x, the uplink to a central on a real PostgreSQL
(about 40 s). The day runs once; each test reads what it pins. Nothing here is a time."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from bench import busiest_day
from bench.busiest_setup import BusyOptions, Run
from bench.day_checks import POST_DAY_CHECKS
from tests.waiting import wait_until

pytestmark = pytest.mark.slow

TINY = BusyOptions(visitors=60, modulos=6, tvs=2, zones=2, kiosks=2, phones=10,
                   poll_seconds=1.0, orientadores=2, rush_start="08:15", rush_end="08:30",
                   rush_speed=120, speed_after=600, hours=1.0, budget="none")
CHECKS = [name for name, _ in POST_DAY_CHECKS] + [
    "print_jobs_written", "tvs_announced_their_zone", "uplink_delivered_everything"]


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("busiest") / "run"
    return busiest_day.simulate(replace(TINY, state_dir=root), say=lambda _: None)


@pytest.mark.parametrize("name", CHECKS)
def test_the_busiest_day_holds_every_post_day_check(day: Run, name: str):
    assert day.checks[name] == []


def test_every_visitor_got_a_ticket_and_staff_logged_in_over_http(day: Run):
    c = day.counts
    assert c["tickets"] == TINY.visitors
    assert sum(c["final"].values()) == TINY.visitors and c["calls"] >= TINY.visitors
    assert c["timed_login"] == 1 + TINY.orientadores + TINY.modulos
    assert c["timed_issue"] >= TINY.visitors
    assert all(c.get(f"timed_{action}", 0) > 0 for action in ("call-next", "start", "finish"))


def test_every_kind_of_client_did_something(day: Run):
    c = day.counts
    assert c["phones"]["phones"] > 0 and c["phones"]["pages"] > 0 and c["phones"]["polls"] > 0
    assert c["phones_peak"] <= TINY.phones
    assert c["tv_calls"] == [c["calls"]] * TINY.tvs  # every TV shows every call
    assert all(heard > 0 for heard in c["voice_heard"])  # each TV's zone had its calls
    assert sum(c["voice_heard"]) >= c["calls"]  # each call announced in its zone
    assert c["desk_stream_events"] > 0 and c["supervisor_stream_events"] > 0
    assert c["timed_dashboard"] >= 3
    assert c["central_events"] > c["calls"]


def test_nothing_went_wrong_and_every_figure_was_measured(day: Run):
    f = day.figures
    assert f["errors_5xx"] == f["unexpected_4xx"] == f["refused_staff_streams"] == 0
    assert day.counts["statuses"] == {} and day.counts["refused"] == {}
    budget_only = ("cgroup_peak_mib", "speed_min", "speed_max")
    measured = [k for k, v in f.items() if k not in budget_only and math.isnan(v)]
    assert measured == []
    assert all(math.isnan(f[k]) for k in budget_only)  # no budget: no cgroup, no speed


def test_the_speed_watch_reads_the_machine_s_speed_until_told_to_stop() -> None:
    import threading

    from bench.busiest_day import SpeedWatch

    stop = threading.Event()
    watch = SpeedWatch(1.0, stop, every=0.01, steps=2_000)
    watch.start()
    wait_until(lambda: len(watch.readings) >= 3, timeout=60, what="two more readings")
    stop.set()
    watch.join(30)
    assert not watch.is_alive() and watch.readings[0] == 1.0
    assert all(r > 0 for r in watch.readings[1:])
