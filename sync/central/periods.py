"""A range of days cut into the periods the aggregates keep: whole calendar years, whole
months, and the days left at its ends. A page over a year then reads one row per centre and
entity (and per minute of wait) instead of 365."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

Piece = tuple[str, str, str]  # (grain, first period, last period)


def split(day_from: str, day_to: str) -> list[Piece]:
    """``("yearly", "2025", "2026")``, ``("monthly", "2024-03", "2024-12")`` and
    ``("daily", "2024-02-10", "2024-02-29")`` pieces that cover [day_from, day_to] once."""
    start, end = date.fromisoformat(day_from), date.fromisoformat(day_to)
    first = start.year if (start.month, start.day) == (1, 1) else start.year + 1
    last = end.year if (end.month, end.day) == (12, 31) else end.year - 1
    if first > last:
        return _months(start, end)
    pieces: list[Piece] = [("yearly", f"{first:04d}", f"{last:04d}")]
    if start < date(first, 1, 1):
        pieces += _months(start, date(first, 1, 1) - timedelta(days=1))
    if end > date(last, 12, 31):
        pieces += _months(date(last + 1, 1, 1), end)
    return pieces


def _months(start: date, end: date) -> list[Piece]:
    """Whole months from the monthly rollups, the days around them from the daily ones."""
    first = (start.year, start.month) if start.day == 1 else _next(start.year, start.month)
    ends_month = end.day == calendar.monthrange(end.year, end.month)[1]
    last = (end.year, end.month) if ends_month else _previous(end.year, end.month)
    if first > last:
        return [("daily", start.isoformat(), end.isoformat())]
    pieces: list[Piece] = [("monthly", f"{first[0]:04d}-{first[1]:02d}",
                            f"{last[0]:04d}-{last[1]:02d}")]
    if start.day != 1:  # the rest of the first month
        pieces.append(("daily", start.isoformat(), _last_day(start.year, start.month)))
    if not ends_month:  # the start of the last one
        pieces.append(("daily", f"{end.year:04d}-{end.month:02d}-01", end.isoformat()))
    return pieces


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def _previous(year: int, month: int) -> tuple[int, int]:
    return (year - 1, 12) if month == 1 else (year, month - 1)


def _last_day(year: int, month: int) -> str:
    return f"{year:04d}-{month:02d}-{calendar.monthrange(year, month)[1]:02d}"
