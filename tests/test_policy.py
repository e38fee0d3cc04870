"""Property tests of the call policy (docs/design.md, "Policy"): the guarantees hold for any
waiting room."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from turnero import policy
from turnero.policy import Candidate, QueueRules

NOW = 1_800_000_000.0

candidate_lists = st.lists(
    st.builds(
        Candidate,
        id=st.integers(1, 10_000),
        queue=st.sampled_from(["RN", "BN"]),
        preferential=st.booleans(),
        order_key=st.floats(NOW - 4 * 3600, NOW, allow_nan=False),
        appointment_at=st.one_of(st.none(), st.floats(NOW - 3600, NOW + 3600,
                                                      allow_nan=False)),
    ),
    max_size=40, unique_by=lambda c: c.id)


def drain(cands: list[Candidate], rules: QueueRules, weights: dict[str, int],
          now: float = NOW) -> list[policy.Choice]:
    """Call everyone, one by one, as a módulo serving ``weights`` would."""
    waiting, streaks, order = list(cands), {q: 0 for q in weights}, []
    rule_map = {q: rules for q in weights}
    while True:
        choice = policy.choose(waiting, weights, rule_map, streaks, now)
        if choice is None:
            return order
        order.append(choice)
        waiting.remove(choice.candidate)
        q = choice.candidate.queue
        streaks[q] = policy.next_streak(streaks[q], choice.candidate.preferential)


@given(candidate_lists)
def test_default_policy_never_lets_a_normal_ticket_pass_a_preferential_one_of_its_queue(cands):
    order = drain(cands, QueueRules(), {"RN": 1, "BN": 1})
    for i, earlier in enumerate(order):
        for later in order[i + 1:]:
            if later.candidate.preferential and earlier.candidate.queue == later.candidate.queue:
                assert earlier.candidate.preferential, (earlier, later)


@given(candidate_lists, st.integers(1, 5))
def test_with_n_in_a_row_a_waiting_normal_is_called_after_at_most_n_preferential(cands, n):
    order = drain(cands, QueueRules(max_preferential_in_row=n), {"RN": 1})
    rn = [c.candidate for c in order]
    run = 0
    for i, c in enumerate(rn):
        normal_waiting = any(not x.preferential for x in rn[i:])
        run = run + 1 if c.preferential else 0
        if normal_waiting:
            assert run <= n, (n, [x.preferential for x in rn])


@given(candidate_lists, st.integers(0, 60), st.integers(0, 60),
       st.floats(NOW - 3600, NOW + 3600, allow_nan=False))
def test_appointments_are_called_as_such_only_inside_their_window(cands, early, late, now):
    rules = QueueRules(appointment_early_minutes=early, appointment_late_minutes=late)
    choice = policy.choose(cands, {"RN": 1, "BN": 1}, {"RN": rules, "BN": rules},
                           {}, now)
    if choice is not None and choice.rule == policy.APPOINTMENT:
        slot = choice.candidate.appointment_at
        assert slot is not None and slot - early * 60 <= now <= slot + late * 60


@given(candidate_lists)
def test_an_appointment_in_its_window_goes_before_every_walk_in_normal_ticket(cands):
    rules = QueueRules()
    choice = policy.choose(cands, {"RN": 1}, {"RN": rules}, {}, NOW)
    in_queue = [c for c in cands if c.queue == "RN"]
    if choice and not any(c.preferential for c in in_queue) and any(
            rules.in_window(c, NOW) for c in in_queue):
        assert choice.rule == policy.APPOINTMENT


@given(candidate_lists, st.integers(0, 3), st.integers(0, 120), st.integers(0, 6))
def test_the_same_state_always_gives_the_same_choice(cands, n, wait, streak):
    rules = QueueRules(max_preferential_in_row=n, max_normal_wait_minutes=wait)
    weights, streaks = {"RN": 2, "BN": 1}, {"RN": streak, "BN": 0}
    first = policy.choose(cands, weights, {"RN": rules, "BN": rules}, streaks, NOW)
    again = policy.choose(list(reversed(cands)), weights, {"RN": rules, "BN": rules},
                          streaks, NOW)
    assert first == again


@given(candidate_lists)
def test_a_higher_weight_queue_is_served_first_by_the_modulo(cands):
    choice = policy.choose(cands, {"RN": 2, "BN": 1}, {}, {}, NOW)
    if any(c.queue == "RN" for c in cands):
        assert choice is not None and choice.candidate.queue == "RN"


@settings(max_examples=200)
@given(candidate_lists, st.integers(1, 240))
def test_a_normal_ticket_older_than_the_limit_goes_first_and_says_why(cands, minutes):
    rules = QueueRules(max_normal_wait_minutes=minutes)
    choice = policy.choose(cands, {"RN": 1}, {"RN": rules}, {}, NOW)
    overdue = [c for c in cands if c.queue == "RN" and not c.preferential
               and not rules.in_window(c, NOW) and NOW - c.order_key > minutes * 60]
    if overdue:
        assert choice is not None and choice.rule == policy.MAX_NORMAL_WAIT
        assert choice.candidate == min(overdue, key=lambda c: (c.order_key, c.id))


def test_nobody_waiting_gives_no_choice():
    assert policy.choose([], {"RN": 1}, {}, {}, NOW) is None


def test_each_call_names_the_rule_that_chose_it():
    pref = Candidate(1, "RN", True, NOW - 60)
    normal = Candidate(2, "RN", False, NOW - 600)
    appt = Candidate(3, "RN", False, NOW - 30, appointment_at=NOW)
    assert policy.choose([normal, pref, appt], {"RN": 1}, {}, {}, NOW).rule == "preferential"
    assert policy.choose([normal, appt], {"RN": 1}, {}, {}, NOW).rule == "appointment"
    assert policy.choose([normal], {"RN": 1}, {}, {}, NOW).rule == "arrival"
    streak = {"RN": QueueRules(max_preferential_in_row=2)}
    assert policy.choose([normal, pref], {"RN": 1}, streak, {"RN": 2}, NOW).rule == \
        "preferential_streak_limit"
