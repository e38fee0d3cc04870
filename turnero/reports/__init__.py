"""Indicators of the centre for a range of service days, grouped one way.

This package's entry points; the work is in :mod:`turnero.reports.report`, imported on the
first report so that NumPy is loaded only by a box whose supervisor asks for one (idle
memory on a small box counts). Definitions of every indicator: docs/indicators.md.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from turnero.errors import InvalidInput

if TYPE_CHECKING:
    from turnero.store import Store

__all__ = ["GROUPS", "MAX_DAYS", "PERIODS", "build_report", "period_range",
           "recompute_from_events"]

GROUPS = ("entity", "queue", "service", "counter", "agent", "hour", "priority", "channel")
MAX_DAYS = 731
PERIODS = ("day", "week", "month")


def period_range(period: str, anchor: date) -> tuple[date, date]:
    """The day, the week (Monday to Sunday) or the calendar month holding ``anchor``."""
    if period == "day":
        return anchor, anchor
    if period == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=6)
    if period == "month":
        start = anchor.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return start, following - timedelta(days=1)
    raise InvalidInput("period debe ser day, week o month.", "invalid_period")


def build_report(store: Store, start: date, end: date, group: str | None) -> dict[str, Any]:
    """The report of ``start``..``end`` (service days, inclusive) grouped by ``group``."""
    from turnero.reports import report
    return report.build_report(store, start, end, group)


def recompute_from_events(store: Store, start: date, end: date,
                          group: str | None) -> dict[str, Any]:
    """The same report with every day rebuilt from the event log (no cache, no tables)."""
    from turnero.reports import report
    return report.recompute_from_events(store, start, end, group)
