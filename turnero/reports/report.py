"""Building a report: the days' facts, combined, grouped and labelled.

A report reads each day's packed facts: a closed day's are frozen in ``report_days`` the first
time they are needed (and dropped when the day is reopened or a late rating arrives); the
open day's are read live. The same facts rebuilt from the event log alone give the audit
(:func:`recompute_from_events`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from turnero.clock import to_iso
from turnero.errors import InvalidInput
from turnero.reports import GROUPS, MAX_DAYS, aggregate, labels, targets
from turnero.reports.facts import FORMAT, DayFacts, from_blobs, to_blobs
from turnero.reports.replay import build_day_from_events
from turnero.reports.tables import build_day
from turnero.store import Store, Tx


def build_report(store: Store, start: date, end: date, group: str | None) -> dict[str, Any]:
    """The report of ``start``..``end`` (service days, inclusive) grouped by ``group``."""
    return _report(store, start, end, group, _cached_day)


def recompute_from_events(store: Store, start: date, end: date,
                          group: str | None) -> dict[str, Any]:
    """The same report with every day rebuilt from the event log (no cache, no tables)."""
    def from_events(store: Store, day: str, now: datetime) -> DayFacts:
        return build_day_from_events(store.reader(), day, store.tz, now)
    return _report(store, start, end, group, from_events)


def _report(store: Store, start: date, end: date, group: str | None,
            facts_of: Callable[[Store, str, datetime], DayFacts]) -> dict[str, Any]:
    _check_range(start, end, group)
    now = store.now()
    days = [r[0] for r in store.reader().execute(
        "SELECT day FROM days WHERE day BETWEEN ? AND ? ORDER BY day",
        (start.isoformat(), end.isoformat())).fetchall()]
    facts = [facts_of(store, d, now) for d in days]  # may write (a day packed once)
    conn = store.reader()  # taken after those writes (see Store.write)
    book = targets.TargetBook(conn)
    cols = aggregate.combine(facts, book.seconds)
    names = labels.Labels(conn)
    rows = aggregate.group_rows(cols, group)
    for row in rows:
        row["label"] = names.of(group, row["key"])
    total = aggregate.group_rows(cols, None)[0]
    total["label"] = "Total"
    return {"from": start.isoformat(), "to": end.isoformat(), "group": group,
            "generated_at": to_iso(now), "days": days, "rows": rows, "total": total,
            "charts": _labelled_charts(aggregate.charts(cols), names)}


def _labelled_charts(charts: dict[str, Any], names: labels.Labels) -> dict[str, Any]:
    for item in charts["ans_by_entity"]:
        item["label"] = names.of("entity", item["entity"])
    return charts


def _check_range(start: date, end: date, group: str | None) -> None:
    if end < start:
        raise InvalidInput("La fecha final es anterior a la inicial.", "invalid_range")
    if (end - start).days + 1 > MAX_DAYS:
        raise InvalidInput(f"El período no puede superar {MAX_DAYS} días.", "range_too_long")
    if group is not None and group not in GROUPS:
        raise InvalidInput("group debe ser uno de: " + ", ".join(GROUPS) + ".",
                           "invalid_group")


def _cached_day(store: Store, day: str, now: datetime) -> DayFacts:
    """A closed past day's facts from the cache (building and saving them once)."""
    conn = store.reader()
    today = store.service_day(now)
    closed = conn.execute("SELECT closed_at IS NOT NULL FROM days WHERE day = ?",
                          (day,)).fetchone()
    if day >= today or not closed or not closed[0]:
        return build_day(conn, day, store.tz, now)
    row = conn.execute("SELECT keys, attentions, desk FROM report_days WHERE day = ? AND "
                       "format = ?", (day, FORMAT)).fetchone()
    if row is not None:
        return from_blobs(day, json.loads(row[0]), row[1], row[2])
    facts = build_day(conn, day, store.tz, now)
    _save(store, facts)
    return facts


def _save(store: Store, facts: DayFacts) -> None:
    attentions, desk = to_blobs(facts)

    def op(tx: Tx) -> None:
        closed = tx.one("SELECT closed_at FROM days WHERE day = ?", (facts.day,))
        if closed is None or closed["closed_at"] is None:
            return  # reopened meanwhile: nothing frozen
        tx.execute("INSERT OR REPLACE INTO report_days(day, format, keys, attentions, desk, "
                   "built_at) VALUES (?,?,?,?,?,?)",
                   (facts.day, FORMAT, json.dumps(facts.keys, ensure_ascii=False),
                    attentions, desk, tx.at))
    store.write(op)

