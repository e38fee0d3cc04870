"""The in-process bus: a subscriber that cannot hold a commit's events is ended before any
is queued (its stream reconnects to a snapshot), while the listeners and the subscribers
with room get every event."""

from __future__ import annotations

from turnero.bus import Bus


def test_a_commit_larger_than_a_subscriber_s_room_ends_it_and_reaches_the_others() -> None:
    bus = Bus()
    heard: list[int] = []
    bus.listen(heard.append)
    small, large = bus.subscribe(size=5), bus.subscribe(size=50)
    bus.publish(range(10))
    assert small.dropped and small.queue.qsize() == 1  # only the wake-up of its reader
    assert small.get(timeout=0) is None
    assert not large.dropped and [large.get(timeout=0) for _ in range(10)] == list(range(10))
    assert heard == list(range(10))
    assert bus.subscribers == 1


def test_a_subscriber_with_room_for_the_commit_keeps_every_event_in_order() -> None:
    bus = Bus()
    sub = bus.subscribe(size=10)
    bus.publish(range(4))
    bus.publish(range(4, 10))
    assert not sub.dropped
    bus.publish([10])  # no room left: ended, with what it had still to read
    assert sub.dropped
    assert [sub.get(timeout=0) for _ in range(10)] == list(range(10))
