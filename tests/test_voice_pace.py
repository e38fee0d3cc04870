"""The voice's pace: no more calls synthesized than a voice could say (hardware.speaker.pacing),
and the announcer holding to it."""

from __future__ import annotations

import pytest

from hardware.speaker import Announcement, Announcer, Call, Pace, Rules, Synthesizer
from hardware.speaker.tts import VirtualVoice
from tests.helpers import announce_backlog


def test_the_budget_of_a_voice_is_what_fits_in_its_bound_at_the_shortest_call():
    pace = Pace.for_rules(Rules(bound=30.0))
    # chime 0.7 s + 1.5 s of speech + 0.5 s to start = 2.7 s; 29 s of the bound usable
    assert pace.every == pytest.approx(2.7) and pace.capacity == 10


def test_a_group_spends_its_budget_then_gets_one_call_per_interval_and_others_are_apart():
    pace = Pace(capacity=2, every=3.0)
    for _ in range(2):
        assert pace.wait("piso-1|RENIEC", 100.0) == 0
        pace.take("piso-1|RENIEC", 100.0)
    assert pace.wait("piso-1|RENIEC", 100.0) == pytest.approx(3.0)
    assert pace.wait("piso-1|RENIEC", 101.5) == pytest.approx(1.5)
    assert pace.wait("piso-1|RENIEC", 103.0) == 0
    assert pace.wait("piso-2|RENIEC", 100.0) == 0  # another group has its own budget
    pace.take("piso-1|RENIEC", 103.0)
    assert pace.wait("piso-1|RENIEC", 200.0) == 0  # refilled, never past its capacity
    pace.take("piso-1|RENIEC", 200.0)
    pace.take("piso-1|RENIEC", 200.0)
    assert pace.wait("piso-1|RENIEC", 200.0) > 0


@pytest.fixture
def tones(tmp_path):
    return Synthesizer(tmp_path / "voice", backend=VirtualVoice())


def test_past_its_budget_a_group_keeps_its_newest_call_and_skips_the_older_ones(tones):
    """Twelve módulos of one group call at once with a budget of three: the first three are
    synthesized, the middle eight skipped (the TVs keep the newest), and the newest waits
    for the budget, then is synthesized."""
    now = [1000.0]
    ready: list[Announcement] = []
    announcer = Announcer(tones, ["es"], ready.append, pace=Pace(capacity=3, every=60.0),
                          clock=lambda: now[0])
    calls = [Call(f"RN-{n:03d}", str(n), group="|RENIEC") for n in range(1, 13)]
    for call in calls:
        announcer.submit(call)
    announcer.start()
    try:
        assert not announcer.wait_idle(0.5)  # the newest waits for the budget
        assert [a.skipped for a in ready] == [None] * 3 + ["superseded"] * 8
        now[0] += 60.0
        announcer.submit(Call("BN-001", "40", group="|BN"))  # wakes the announcer
        assert announcer.wait_idle(30)
    finally:
        announcer.stop()
    assert [a.call.label for a in ready] == [c.label for c in calls] + ["BN-001"]
    assert [a.skipped for a in ready[11:]] == [None, None] and ready[11].files
    assert tones.synthesized == 5 and announcer.skipped == 8


def test_within_its_budget_every_call_of_a_burst_is_synthesized_in_order(tones):
    ready: list[Announcement] = []
    announcer = Announcer(tones, ["es"], ready.append, pace=Pace.for_rules(Rules()))
    calls = [Call(f"RN-{n:03d}", str(n), group=f"|E{n % 4}") for n in range(1, 41)]
    announce_backlog(announcer, calls)
    assert [a.call for a in ready] == calls and all(a.skipped is None for a in ready)
