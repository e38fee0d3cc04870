"""From packed day facts to indicators per group: counts, time statistics, ANS shares,
satisfaction and módulo time. Vectorized with NumPy so that a year (~1.5M attentions) is
grouped in a fraction of a second on a small box.

Percentiles interpolate linearly between the closest ranks (the median of 10 and 20 is 15).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from turnero.reports.facts import DESK_STATES, STATUS_CODE, TEXT_KEYS, DayFacts

DESK_GROUPS = ("entity", "counter", "agent", "hour")
COUNTED = ("done", "no_show", "cancelled", "expired", "transferred")
WAIT_BUCKETS = (0, 5, 10, 15, 20, 30, 45, 60, 90, 120)  # minutes


@dataclass
class Columns:
    """Every attention (and desk slice) of the range as plain int arrays, text keys mapped
    to one numbering for the whole range."""

    keys: dict[str, list[str]]
    att: dict[str, np.ndarray]
    desk: dict[str, np.ndarray]


def combine(days: list[DayFacts],
            targets: Callable[[str, np.ndarray], tuple[np.ndarray, np.ndarray]]) -> Columns:
    """Concatenate days; ``targets(day, services)`` gives each attention's ANS seconds."""
    keys: dict[str, list[str]] = {name: [] for name in TEXT_KEYS}
    index: dict[str, dict[str, int]] = {name: {} for name in TEXT_KEYS}
    att: dict[str, list[np.ndarray]] = {}
    desk: dict[str, list[np.ndarray]] = {}
    for d in days:
        remap = {}
        for name in TEXT_KEYS:
            local = d.keys.get(name, [])
            remap[name] = np.array([index[name].setdefault(k, len(index[name]))
                                    for k in local] or [0], dtype=np.int64)
        for name, to in ((n, keys[n]) for n in TEXT_KEYS):
            to.extend(k for k in list(index[name])[len(to):])
        a = d.attentions
        for field in _fields(a.dtype):
            col = a[field].astype(np.int64)
            att.setdefault(field, []).append(remap[field][col] if field in remap else col)
        wait_target, attention_target = targets(d.day, a["service"].astype(np.int64))
        att.setdefault("wait_target", []).append(wait_target)
        att.setdefault("attention_target", []).append(attention_target)
        for field in _fields(d.desk.dtype):
            col = d.desk[field]
            col = col.astype(np.float64 if field == "seconds" else np.int64)
            desk.setdefault(field, []).append(remap[field][col] if field in remap else col)
    return Columns(keys,
                   {k: np.concatenate(v) for k, v in att.items()} if att else _empty_att(),
                   {k: np.concatenate(v) for k, v in desk.items()} if desk else _empty_desk())


def _fields(dtype: np.dtype) -> tuple[str, ...]:
    """The field names of a structured dtype (every array of facts has one)."""
    if dtype.names is None:
        raise TypeError(f"not a structured dtype: {dtype}")
    return dtype.names


def _empty_att() -> dict[str, np.ndarray]:
    from turnero.reports.facts import ATTENTION
    cols = {name: np.zeros(0, dtype=np.int64) for name in _fields(ATTENTION)}
    cols["wait_target"] = cols["attention_target"] = np.zeros(0, dtype=np.int64)
    return cols


def _empty_desk() -> dict[str, np.ndarray]:
    from turnero.reports.facts import DESK
    return {name: np.zeros(0, dtype=np.float64 if name == "seconds" else np.int64)
            for name in _fields(DESK)}


def group_rows(cols: Columns, group: str | None) -> list[dict[str, Any]]:
    """Indicators per value of ``group`` (one row for everything when None), sorted by key."""
    att, desk = cols.att, cols.desk
    if group is None:
        values = np.zeros(len(att["status"]), dtype=np.int64)
        desk_values = np.zeros(len(desk["state"]), dtype=np.int64)
    else:
        values = att[group]
        desk_values = desk[group] if group in DESK_GROUPS else np.zeros(0, dtype=np.int64)
    uniq, inverse = np.unique(np.concatenate([values, desk_values]), return_inverse=True)
    if group is None:  # one total row, even for a period with no activity
        uniq, inverse = np.zeros(1, dtype=np.int64), np.zeros(len(inverse), dtype=np.int64)
    g, desk_g, n = inverse[:len(values)], inverse[len(values):], len(uniq)
    rows = [{"key": _key(cols, group, int(k))} for k in uniq]
    _counts(rows, att, g, n)
    _times(rows, att, g, n)
    _satisfaction(rows, att, g, n)
    if group is None or group in DESK_GROUPS:
        _desk(rows, desk, desk_g, n)
    else:
        for row in rows:
            row["desk"] = None
    # By key, not by the internal numbering (the order keys were first met, which differs
    # between the tables and the event log).
    return sorted(rows, key=lambda row: row["key"])


def _key(cols: Columns, group: str | None, code: int) -> Any:
    if group is None:
        return "total"
    if group in TEXT_KEYS:
        return cols.keys[group][code]
    return code


def _counts(rows: list[dict], att: dict[str, np.ndarray], g: np.ndarray, n: int) -> None:
    status = att["status"]
    issued = np.bincount(g, weights=att["first"], minlength=n)
    entered = np.bincount(g, minlength=n)
    per = {name: np.bincount(g, weights=status == STATUS_CODE[name], minlength=n)
           for name in COUNTED}
    for i, row in enumerate(rows):
        row["issued"], row["entered"] = int(issued[i]), int(entered[i])
        for name in COUNTED:
            row["served" if name == "done" else name] = int(per[name][i])
        row["in_progress"] = row["entered"] - sum(int(per[name][i]) for name in COUNTED)


def _times(rows: list[dict], att: dict[str, np.ndarray], g: np.ndarray, n: int) -> None:
    wait, attention = att["wait"], att["attention"]
    called, timed = wait >= 0, attention >= 0
    pref = att["preferential"] == 1
    blocks = {
        "wait": stats(wait[called], g[called], n, with_max=True),
        "attention": stats(attention[timed], g[timed], n, with_max=True),
        "wait_preferential": stats(wait[called & pref], g[called & pref], n),
        "wait_normal": stats(wait[called & ~pref], g[called & ~pref], n),
    }
    within_wait = _share(wait <= att["wait_target"], called & (att["wait_target"] >= 0), g, n)
    within_att = _share(attention <= att["attention_target"],
                        timed & (att["attention_target"] >= 0), g, n)
    for i, row in enumerate(rows):
        for name, block in blocks.items():
            row[name] = {k: v[i] for k, v in block.items()}
        row["within_wait_target"] = within_wait[i]
        row["within_attention_target"] = within_att[i]


def stats(values: np.ndarray, groups: np.ndarray, n: int,
          with_max: bool = False) -> dict[str, list]:
    """count, mean, median, p90 (and max) of ``values`` (seconds, >= 0) per group. One sort
    of group and value packed in one integer orders every group's values at once."""
    packed = np.sort((groups.astype(np.int64) << 32) | values.astype(np.int64))
    v = (packed & 0xFFFFFFFF).astype(np.float64)
    counts = np.bincount(groups, minlength=n)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    sums = np.bincount(groups, weights=values.astype(np.float64), minlength=n)
    out: dict[str, list] = {"count": [int(c) for c in counts],
                            "mean": _rounded(np.divide(sums, counts, out=np.zeros(n),
                                                       where=counts > 0), counts),
                            "median": _percentile(v, starts, counts, 0.5),
                            "p90": _percentile(v, starts, counts, 0.9)}
    if with_max:
        last = np.maximum(starts + counts - 1, 0)
        out["max"] = _rounded(v[last] if len(v) else np.zeros(n), counts)
    return out


def _percentile(v: np.ndarray, starts: np.ndarray, counts: np.ndarray,
                q: float) -> list[float | None]:
    if not len(v):
        return [None] * len(counts)
    pos = q * np.maximum(counts - 1, 0)
    low = np.floor(pos).astype(np.int64)
    high = np.ceil(pos).astype(np.int64)
    at_low = v[np.minimum(starts + low, len(v) - 1)]
    at_high = v[np.minimum(starts + high, len(v) - 1)]
    return _rounded(at_low + (at_high - at_low) * (pos - low), counts)


def _rounded(values: np.ndarray, counts: np.ndarray) -> list[float | None]:
    return [round(float(x), 1) if c else None for x, c in zip(values, counts, strict=True)]


def _share(hit: np.ndarray, eligible: np.ndarray, g: np.ndarray, n: int) -> list[float | None]:
    total = np.bincount(g[eligible], minlength=n)
    good = np.bincount(g[eligible & hit], minlength=n)
    return [round(float(h) / t, 4) if t else None for h, t in zip(good, total, strict=True)]


def _satisfaction(rows: list[dict], att: dict[str, np.ndarray], g: np.ndarray,
                  n: int) -> None:
    rated = att["rating"] > 0
    dist = np.bincount(g[rated] * 6 + att["rating"][rated], minlength=n * 6).reshape(n, 6)
    for i, row in enumerate(rows):
        count = int(dist[i, 1:].sum())
        mean = float((dist[i, 1:] * np.arange(1, 6)).sum()) / count if count else None
        row["satisfaction"] = {
            "count": count, "mean": None if mean is None else round(mean, 2),
            "distribution": {str(s): int(dist[i, s]) for s in range(1, 6)}}


def _desk(rows: list[dict], desk: dict[str, np.ndarray], g: np.ndarray, n: int) -> None:
    seconds = np.zeros((n, len(DESK_STATES)))
    np.add.at(seconds, (g, desk["state"]), desk["seconds"])
    for i, row in enumerate(rows):
        by_state = {state: round(float(seconds[i, s]), 1)
                    for s, state in enumerate(DESK_STATES)}
        paused = {state.split(":", 1)[1]: v for state, v in by_state.items()
                  if state.startswith("paused:")}
        row["desk"] = {"serving": by_state["serving"], "calling": by_state["calling"],
                       "idle": by_state["idle"], "paused": paused,
                       "paused_total": round(sum(paused.values()), 1),
                       "open": round(by_state["serving"] + by_state["calling"]
                                     + by_state["idle"], 1)}


def charts(cols: Columns) -> dict[str, Any]:
    """What the report page draws: arrivals vs served per hour, the waiting-time
    distribution, ANS compliance per entity."""
    att = cols.att
    first, served = att["first"] == 1, att["status"] == STATUS_CODE["done"]
    arrivals = np.bincount(att["hour"][first], minlength=24)[:24]
    done = np.bincount(att["end_hour"][served], minlength=256)[:24]
    hours = [h for h in range(24) if arrivals[h] or done[h]]
    by_hour = [{"hour": h, "arrivals": int(arrivals[h]), "served": int(done[h])}
               for h in range(min(hours, default=0), max(hours, default=-1) + 1)]
    waits = att["wait"][att["wait"] >= 0] / 60.0
    distribution = []
    for low, high in zip(WAIT_BUCKETS, [*WAIT_BUCKETS[1:], None], strict=True):
        inside = (waits >= low) & (waits < high) if high is not None else waits >= low
        distribution.append({"from_minutes": low, "to_minutes": high,
                             "count": int(inside.sum())})
    entity, n = att["entity"], len(cols.keys["entity"])
    present = np.unique(entity)
    called, timed = att["wait"] >= 0, att["attention"] >= 0
    wait_share = _share(att["wait"] <= att["wait_target"],
                        called & (att["wait_target"] >= 0), entity, n)
    attention_share = _share(att["attention"] <= att["attention_target"],
                             timed & (att["attention_target"] >= 0), entity, n)
    called_count = np.bincount(entity[called], minlength=n)
    ans = [{"entity": cols.keys["entity"][e], "within_wait_target": wait_share[e],
            "within_attention_target": attention_share[e], "called": int(called_count[e])}
           for e in sorted(present, key=lambda e: cols.keys["entity"][e])]
    return {"by_hour": by_hour, "wait_distribution": distribution, "ans_by_entity": ans}
