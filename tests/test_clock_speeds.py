"""The simulated clock with a change of speed (``ScaledClock(change_at=, speed_after=)``,
``serve --clock-speed-after N --clock-speed-change ISO``): one speed up to the change, the
other after it, never backwards; nonsense refused before the state is touched. Also the
simulator's side of the same mapping (``bench.day_people.SimTime``)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import main as cli_main
from appliance.runtime import DB_NAME
from bench.day_people import SimTime
from harness.live_server import write_config
from turnero.clock import ScaledClock

START = datetime(2026, 12, 1, 8, 15, tzinfo=UTC)
CHANGE = START + timedelta(minutes=75)


class Ticks:
    """A monotonic clock the test sets."""

    def __init__(self, at: float = 500.0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


def test_the_clock_runs_at_its_speed_up_to_the_change_and_at_the_other_after_it():
    ticks = Ticks()
    clock = ScaledClock(START, 10, monotonic=ticks, change_at=CHANGE, speed_after=60)
    assert clock.now() == START
    ticks.at += 30  # 30 real seconds at 10x: 5 simulated minutes
    assert clock.now() == START + timedelta(minutes=5)
    ticks.at += 420  # 75 minutes at 10x take 450 real seconds: now at the change
    assert clock.now() == CHANGE
    ticks.at += 60  # a real minute at 60x: an hour
    assert clock.now() == CHANGE + timedelta(hours=1)


def test_the_clock_never_goes_back_across_the_change():
    ticks = Ticks()
    clock = ScaledClock(START, 3, monotonic=ticks, change_at=START + timedelta(seconds=7),
                        speed_after=0.5)
    seen = []
    for _ in range(400):
        ticks.at += 0.0137
        seen.append(clock.now())
    assert seen == sorted(seen)
    assert seen[0] < START + timedelta(seconds=7) < seen[-1]


def test_a_change_at_the_start_runs_at_the_second_speed_from_the_start():
    ticks = Ticks()
    clock = ScaledClock(START, 10, monotonic=ticks, change_at=START, speed_after=2)
    ticks.at += 5
    assert clock.now() == START + timedelta(seconds=10)


def test_without_a_change_the_clock_keeps_one_speed():
    ticks = Ticks()
    clock = ScaledClock(START, 20, monotonic=ticks)
    ticks.at += 3600
    assert clock.change_at is None and clock.speed_after == 20
    assert clock.now() == START + timedelta(hours=20)


@pytest.mark.parametrize("change, speed_after, message", [
    (CHANGE, None, "both"),
    (None, 20.0, "both"),
    (datetime(2026, 12, 1, 9, 30), 20.0, "UTC offset"),
    (START - timedelta(seconds=1), 20.0, "before the start"),
    (CHANGE, 0.0, "above 0"),
    (CHANGE, float("nan"), "above 0"),
    (CHANGE, 3601.0, "at most 3600"),
])
def test_the_clock_refuses_a_change_without_its_parts_or_before_the_start_or_a_bad_speed(
        change: datetime | None, speed_after: float | None, message: str):
    with pytest.raises(ValueError, match=message):
        ScaledClock(START, 1, change_at=change, speed_after=speed_after)


@pytest.mark.parametrize("args, message", [
    (["--clock-speed-after", "20"], "--clock-speed-after needs --clock-start"),
    (["--clock-speed-change", "2026-12-01T09:30-05:00"],
     "--clock-speed-change needs --clock-start"),
    (["--clock-start", "2026-12-01T08:15-05:00", "--clock-speed-after", "20"], "go together"),
    (["--clock-start", "2026-12-01T08:15-05:00", "--clock-speed-change",
      "2026-12-01T09:30-05:00"], "go together"),
    (["--clock-start", "2026-12-01T08:15-05:00", "--clock-speed-after", "20",
      "--clock-speed-change", "las nueve"], "not an ISO 8601"),
    (["--clock-start", "2026-12-01T08:15-05:00", "--clock-speed-after", "20",
      "--clock-speed-change", "2026-12-01T09:30"], "UTC offset"),
    (["--clock-start", "2026-12-01T08:15-05:00", "--clock-speed-after", "20",
      "--clock-speed-change", "2026-12-01T08:00-05:00"], "before the start"),
    (["--clock-start", "2026-12-01T08:15-05:00", "--clock-speed-after", "0",
      "--clock-speed-change", "2026-12-01T09:30-05:00"], "above 0"),
    (["--clock-start", "2026-12-01T08:15-05:00", "--clock-speed-after", "1e6",
      "--clock-speed-change", "2026-12-01T09:30-05:00"], "at most 3600"),
])
def test_serve_refuses_a_nonsense_change_of_speed_before_touching_the_state(
        tmp_path: Path, args: list[str], message: str):
    config = write_config(tmp_path / "centre.toml")
    state = tmp_path / "state"
    result = CliRunner().invoke(cli_main, ["--config", str(config), "--state-dir",
                                           str(state), "serve", "--port", "0", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert not (state / DB_NAME).exists()


class SteppedTime:
    """``time.monotonic`` as the test sets it, for SimTime."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.at = 1000.0
        monkeypatch.setattr("bench.day_people.time.monotonic", lambda: self.at)


def test_the_simulators_time_follows_the_same_change_of_speed(monkeypatch):
    real = SteppedTime(monkeypatch)
    origin = START.timestamp()
    t = SimTime(origin, real.at, 10, change_at=CHANGE.timestamp(), speed_after=60)
    real.at += 450
    assert t.now() == pytest.approx(CHANGE.timestamp())
    real.at += 60
    assert t.now() == pytest.approx(CHANGE.timestamp() + 3600)
    # what is left to wait for an instant, in real seconds, across the change and after it
    real.at = 1000.0 + 420  # 30 real seconds (5 simulated minutes) before the change
    assert t.real_seconds(300 + 3600) == pytest.approx(30 + 60)
    assert t.real_seconds(60) == pytest.approx(6)
    real.at += 100
    assert t.real_seconds(120) == pytest.approx(2)


def test_the_simulators_time_read_after_the_change_runs_at_the_second_speed(monkeypatch):
    real = SteppedTime(monkeypatch)
    t = SimTime(CHANGE.timestamp() + 60, real.at, 10, change_at=CHANGE.timestamp(),
                speed_after=60)
    real.at += 1
    assert t.now() == pytest.approx(CHANGE.timestamp() + 120)
    assert t.real_seconds(600) == pytest.approx(10)


def test_sleeping_until_an_instant_past_the_change_waits_the_mapped_real_time(monkeypatch):
    real = SteppedTime(monkeypatch)
    t = SimTime(START.timestamp(), real.at, 10, change_at=CHANGE.timestamp(), speed_after=60)
    waited = []

    class Stop(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waited.append(timeout)
            return False

    assert t.sleep_until(CHANGE.timestamp() + 600, Stop())
    assert waited == [pytest.approx(450 + 10)]
