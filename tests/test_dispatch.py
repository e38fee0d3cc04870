"""The server's worker threads are woken most-recently-idle first (appliance.dispatch), so a
steady trickle of requests stays on one warm thread instead of going round all of them."""

from __future__ import annotations

import sys
import threading

from waitress.task import ThreadedTaskDispatcher

from appliance.dispatch import HotThreadsDispatcher, LastInCondition
from tests.waiting import wait_until


class Recorded:
    """A waitress task that notes the thread that ran it."""

    def __init__(self, seen: list[str], done: threading.Event) -> None:
        self.seen, self.done = seen, done

    def service(self) -> None:
        self.seen.append(threading.current_thread().name)
        self.done.set()

    def cancel(self) -> None:
        pass


def waiting(cv: threading.Condition) -> int:
    with cv:
        return len(cv._waiters)  # type: ignore[attr-defined]


def every_worker_waiting(cv: threading.Condition, workers: int) -> None:
    wait_until(lambda: waiting(cv) == workers, what=f"{workers} workers waiting")


def threads_used(dispatcher: ThreadedTaskDispatcher, tasks: int) -> set[str]:
    dispatcher.set_thread_count(8)
    seen: list[str] = []
    try:
        every_worker_waiting(dispatcher.queue_cv, 8)
        for _ in range(tasks):  # one after the other, as a quiet floor sends them
            done = threading.Event()
            dispatcher.add_task(Recorded(seen, done))
            assert done.wait(30)
            every_worker_waiting(dispatcher.queue_cv, 8)  # back before the next one comes
    finally:
        dispatcher.shutdown(timeout=5)
    assert len(seen) == tasks
    return set(seen)


def test_one_request_after_another_is_served_by_the_same_warm_thread():
    assert len(threads_used(HotThreadsDispatcher(), 20)) == 1


def test_waitress_own_dispatcher_goes_round_its_threads():  # what the change is for
    assert len(threads_used(ThreadedTaskDispatcher(), 20)) == 8


def test_the_last_in_condition_wakes_the_latest_waiter_and_all_of_them_on_notify_all():
    cv = LastInCondition()
    woke: list[int] = []

    def wait(n: int) -> None:
        with cv:
            cv.wait(5)
            woke.append(n)

    threads = []
    for n in range(3):
        threads.append(threading.Thread(target=wait, args=(n,)))
        threads[-1].start()
        wait_until(lambda n=n: waiting(cv) == n + 1)  # waiting in the order 0, 1, 2
    with cv:
        cv.notify()
    wait_until(lambda: woke, what="a waiter woken")
    assert waiting(cv) == 2
    assert woke == [2]
    with cv:
        cv.notify_all()
    for t in threads:
        t.join(5)
    assert sorted(woke) == [0, 1, 2]


def test_the_server_serves_with_the_hot_threads_dispatcher(monkeypatch, app, store):
    from appliance import server

    given: dict[str, object] = {}

    class Stop(Exception):
        pass

    def create_server(*args: object, **kwargs: object) -> None:
        given.update(kwargs)
        raise Stop

    monkeypatch.setattr(server, "create_server", create_server)
    monkeypatch.setattr(server.memory, "Trimmer", lambda **kw: type(
        "T", (), {"start": lambda self: self, "stop": lambda self: None})())
    interval = sys.getswitchinterval()
    try:
        server.serve(app, store, "127.0.0.1", 0, threads=4)
    except Stop:
        pass
    finally:
        sys.setswitchinterval(interval)  # serve() sets the process's; the suite's stays
    dispatcher = given["_dispatcher"]
    assert isinstance(dispatcher, HotThreadsDispatcher)
    assert len(dispatcher.threads) == 4
    dispatcher.shutdown(timeout=5)
