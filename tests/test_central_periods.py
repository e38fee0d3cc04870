"""A range of days cut into whole years, whole months and the days at its ends: every day
of the range in exactly one piece, and the coarsest pieces that fit."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from sync.central.periods import split


def _days(piece: tuple[str, str, str]) -> set[date]:
    grain, low, high = piece
    if grain == "yearly":
        start, end = date(int(low), 1, 1), date(int(high), 12, 31)
    elif grain == "monthly":
        start = date.fromisoformat(low + "-01")
        after = date.fromisoformat(high + "-28") + timedelta(days=4)
        end = after.replace(day=1) - timedelta(days=1)
    else:
        start, end = date.fromisoformat(low), date.fromisoformat(high)
    return {start + timedelta(days=n) for n in range((end - start).days + 1)}


@given(st.dates(date(2020, 1, 1), date(2030, 12, 31)),
       st.integers(min_value=0, max_value=1500))
def test_every_day_of_a_range_is_in_exactly_one_piece(start: date, length: int) -> None:
    end = start + timedelta(days=length)
    pieces = split(start.isoformat(), end.isoformat())
    covered = [d for p in pieces for d in _days(p)]
    assert len(covered) == len(set(covered)) == length + 1
    assert set(covered) == {start + timedelta(days=n) for n in range(length + 1)}


def test_a_calendar_year_is_one_yearly_piece_and_its_ends_are_months_and_days() -> None:
    assert split("2026-01-01", "2026-12-31") == [("yearly", "2026", "2026")]
    assert split("2025-12-08", "2027-02-03") == [
        ("yearly", "2026", "2026"), ("daily", "2025-12-08", "2025-12-31"),
        ("monthly", "2027-01", "2027-01"),
        ("daily", "2027-02-01", "2027-02-03")]
    assert split("2026-03-01", "2026-11-30") == [("monthly", "2026-03", "2026-11")]
    assert split("2026-03-05", "2026-03-20") == [("daily", "2026-03-05", "2026-03-20")]
