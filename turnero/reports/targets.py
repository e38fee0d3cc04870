"""Each attention's ANS targets for its day, resolved once per report."""

from __future__ import annotations

import sqlite3

import numpy as np

NONE = -1  # an attention whose service is unknown has no target


class TargetBook:
    """The catalogue's targets and the dated ANS rows, read once; resolved per day with the
    rules of :mod:`turnero.ans` (service over queue, latest ``valid_from`` first)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._base = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
            "SELECT id, queue, max_wait_minutes, max_attention_minutes FROM services")}
        self._dated = conn.execute(
            "SELECT queue, service, max_wait_minutes, max_attention_minutes, valid_from, "
            "valid_to FROM ans_targets ORDER BY service IS NOT NULL, valid_from, id").fetchall()
        self._memo: dict[tuple, dict[int, tuple[int, int]]] = {}

    def for_day(self, day: str) -> dict[int, tuple[int, int]]:
        """Per service id: (waiting, attention) target seconds on ``day``."""
        valid = tuple(i for i, r in enumerate(self._dated)
                      if r[4] <= day and (r[5] is None or r[5] >= day))
        found = self._memo.get(valid)
        if found is None:
            rows = [self._dated[i] for i in valid]
            by_queue = {r[0]: (r[2], r[3]) for r in rows if r[1] is None}
            by_service = {r[1]: (r[2], r[3]) for r in rows if r[1] is not None}
            found = {}
            for service, (queue, wait, attention) in self._base.items():
                wait, attention = by_service.get(service, by_queue.get(queue, (wait, attention)))
                found[service] = (wait * 60, attention * 60)
            self._memo[valid] = found
        return found

    def seconds(self, day: str, services: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Waiting and attention target seconds for each of ``services`` on ``day``."""
        table = self.for_day(day)
        unique, inverse = np.unique(services, return_inverse=True)
        pairs = np.array([table.get(int(s), (NONE, NONE)) for s in unique],
                         dtype=np.int64).reshape(-1, 2)
        return pairs[inverse, 0], pairs[inverse, 1]
