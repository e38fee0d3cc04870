"""waitress's worker threads, taken most-recently-idle first.

waitress hands each request to an idle worker through a condition variable, and Python's
``Condition.notify`` wakes the thread that has waited longest: the work goes round all the
server's threads (128 by default) in turn. Each thread that runs a request keeps memory of
its own (glibc's per-thread cache of freed blocks, the stack pages it touched), so over a day
every thread ends up holding some, and each request starts on a cold thread. Waking the
thread that went idle last keeps the work on the few threads that a moment's load needs;
the rest only ever serve the bursts and the long live streams.
"""

from __future__ import annotations

import threading

from waitress.task import ThreadedTaskDispatcher


class LastInCondition(threading.Condition):
    """A condition whose ``notify`` wakes the most recent waiters first."""

    def notify(self, n: int = 1) -> None:
        if not self._is_owned():  # type: ignore[attr-defined]
            raise RuntimeError("cannot notify on un-acquired lock")
        waiters = self._waiters  # type: ignore[attr-defined]
        while waiters and n > 0:
            waiter = waiters.pop()
            try:
                waiter.release()
            except RuntimeError:  # already released by a timed-out wait
                continue
            n -= 1


class HotThreadsDispatcher(ThreadedTaskDispatcher):
    """waitress's dispatcher, waking the most recently idle worker for each request."""

    def __init__(self) -> None:
        super().__init__()
        self.queue_cv = LastInCondition(self.lock)
