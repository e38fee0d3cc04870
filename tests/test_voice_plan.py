"""The voice planner: never more than the bound behind, the newest calls said, the latest call
per módulo wins, a recall merges, Quechua only when there is time; the TVs' JavaScript copy
decides exactly the same; health reports how far behind the voice is (contract C3)."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from appliance.announcing import Announcing
from hardware.speaker import Item, Rules, Speaker, decide, simulate
from tests.test_announcing import callable_pairs
from tests.waiting import wait_until
from turnero import calls
from turnero.store import Store

PLAN_JS = Path(__file__).parent.parent / "display" / "static" / "voiceplan.js"
CLIPS = (0.7, 2.6, 3.1)  # chime, Spanish, Quechua


def burst(count: int, spacing: float = 0.05, start: float = 0.0) -> list[Item]:
    return [Item(n, f"T{n}", str(n), start + n * spacing, CLIPS) for n in range(1, count + 1)]


def test_a_burst_of_sixty_calls_is_said_within_the_bound_the_newest_always():
    speaker = simulate(burst(60), Rules(bound=30))
    spoken = [o for o in speaker.outcomes.values() if o.fate == "spoken"]
    assert all(o.delay is not None and o.delay <= 30 for o in spoken)
    assert speaker.outcomes[60].fate == "spoken"  # the last call is never the one dropped
    assert {o.fate for o in speaker.outcomes.values()} == {"spoken", "dropped"}
    starts = [t for t, _, index in speaker.log if index == 0]
    assert starts == sorted(starts)  # one after another, never two at once


def test_the_same_day_with_the_bound_as_a_setting_keeps_any_bound():
    for bound in (5.0, 10.0, 60.0):
        speaker = simulate(burst(60), Rules(bound=bound))
        assert max(o.delay or 0 for o in speaker.outcomes.values()) <= bound
        assert speaker.outcomes[60].fate == "spoken"


def test_quechua_is_said_when_calls_are_spread_and_skipped_in_a_burst():
    spread = simulate(burst(10, spacing=60), Rules())
    assert all(o.clips_said == 3 for o in spread.outcomes.values())
    crowded = simulate(burst(20), Rules())
    said = [o for o in crowded.outcomes.values() if o.fate == "spoken"]
    assert any(o.clips_said == 2 for o in said)  # no time for the second language
    never = simulate(burst(3, spacing=60), Rules(second="never"))
    assert all(o.clips_said == 2 for o in never.outcomes.values())


def test_the_latest_call_per_modulo_wins_and_a_recall_merges_with_the_waiting_call():
    items = [Item(1, "A", "5", 0.0, CLIPS), Item(2, "B", "6", 0.1, CLIPS),
             Item(3, "C", "6", 0.2, CLIPS), Item(4, "D", "7", 0.3, CLIPS),
             Item(5, "D", "7", 0.4, CLIPS)]
    speaker = simulate(items, Rules())
    fates = {seq: o.fate for seq, o in speaker.outcomes.items()}
    assert fates == {1: "spoken", 2: "dropped", 3: "spoken", 4: "merged", 5: "spoken"}


def test_a_call_being_said_is_finished_and_a_recall_during_it_is_said_with_it():
    current = Item(1, "A", "5", 0.0, CLIPS, said=1)
    decision = decide([current, Item(2, "A", "5", 0.5, CLIPS)], 0.7, Rules())
    assert decision.play == (1, 1) and decision.merged == (2,)


def test_at_most_capacity_calls_wait_the_oldest_leaves_first():
    decision = decide(burst(12), 1.0, Rules(bound=600, capacity=9))
    assert decision.dropped == (1, 2, 3) and decision.play == (4, 0)


# ---------------------------------------------------------------- the TVs' copy


def random_queue(rng: random.Random) -> tuple[list[Item], float, Rules]:
    now = rng.uniform(0, 40)
    items = []
    for seq in range(1, rng.randint(0, 14) + 1):
        clips = (0.7, rng.uniform(1.5, 4), rng.uniform(1.5, 4))[:rng.choice((1, 2, 3, 3))]
        items.append(Item(seq, f"T{rng.randint(1, 8)}", str(rng.randint(1, 6)),
                          rng.uniform(0, now), clips))
    if items and rng.random() < 0.5:
        first = rng.randrange(len(items))
        items[first] = Item(**{**asdict(items[first]), "said": rng.randint(1, 3)})
    rules = Rules(rng.choice((5.0, 10.0, 30.0)), rng.choice(("when_time", "always", "never")),
                  rng.choice((None, 3, 9)))
    return items, now, rules


def test_the_tv_planner_in_javascript_decides_exactly_as_the_python_one():
    node = shutil.which("node")
    assert node, "Node.js is needed (it also lints the pages' scripts)"
    rng = random.Random(18)
    cases = [random_queue(rng) for _ in range(400)]
    payload = [{"queue": [asdict(i) for i in items], "now": now, "rules": asdict(rules)}
               for items, now, rules in cases]
    script = ("const vm = require('vm'), fs = require('fs'); const ctx = {window: {}};"
              f"vm.runInNewContext(fs.readFileSync({json.dumps(str(PLAN_JS))}, 'utf8'), ctx);"
              "const cases = JSON.parse(fs.readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(cases.map((c) =>"
              " ctx.window.macVoicePlan.decide(c.queue, c.now, c.rules))));")
    out = subprocess.run([node, "-e", script], input=json.dumps(payload), text=True,
                         capture_output=True, check=True, timeout=60).stdout
    for (items, now, rules), js in zip(cases, json.loads(out), strict=True):
        py = decide(items, now, rules)
        expected: dict[str, Any] = {"play": list(py.play) if py.play else None,
                                    "finished": list(py.finished),
                                    "dropped": list(py.dropped), "merged": list(py.merged)}
        assert js == expected, (items, now, rules)


# ---------------------------------------------------------------- health (C3)


def test_behind_is_the_age_of_the_oldest_call_not_yet_started():
    speaker = Speaker(Rules(bound=30))
    for item in burst(3, spacing=1.0):
        speaker.add(item)
    speaker.advance(3.5)  # call 1 started at 1.0, its Spanish ends at 4.3
    assert speaker.behind(3.5) == pytest.approx(1.5)  # call 2, made at 2.0
    speaker.advance(60)
    assert speaker.behind(60) == 0


@pytest.fixture
def voice(open_store_day: Store, tmp_path: Path) -> Iterator[Announcing]:
    voice = Announcing(open_store_day, tmp_path / "speech", ("es", "qu"), mode="virtual",
                       rules=Rules(bound=2.0))
    voice.attach()
    yield voice
    voice.stop()


def test_health_says_how_far_behind_the_voice_is_and_how_many_calls_it_dropped(
        voice: Announcing, open_store_day: Store):
    health = voice.health()
    assert health["behind_seconds"] == 0 and health["dropped_last_10_min"] == 0
    assert health["max_delay_seconds"] == 2.0
    for ticket, counter in callable_pairs(open_store_day, 12):
        calls.call_ticket(open_store_day, counter, ticket["uid"])
    # every call handled: announced, or skipped by the box because no TV could say it
    # (hardware.speaker.pacing: with a 2 s bound a group's budget is one call)
    wait_until(lambda: voice.announcer is not None
               and voice.announced + voice.announcer.skipped == 12, timeout=30)
    samples = [voice.health()]
    wait_until(lambda: samples.append(voice.health()) or samples[-1]["behind_seconds"] == 0,
               timeout=30)
    assert all(h["behind_seconds"] <= 2.0 for h in samples)  # never beyond the bound
    # a burst of 12 cannot all be said within 2 s: the older calls are dropped
    wait_until(lambda: voice.health()["dropped_last_10_min"] > 0, timeout=30)
