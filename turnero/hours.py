"""Opening hours of the centre: per weekday, on holidays, on closures.

A date's hours come from, in this order: the centre's own closures (``[schedule] closed``),
holidays (Peru's national ones from the ``holidays`` library, plus ``[schedule] holidays``)
which use ``[hours] holidays``, and otherwise the weekday's hours.

The central office's catalogue may add dated days (a decreed non-working day, a centre's
closure): they are kept per store (``use_central_days``) and added to the centre's own by
``schedule_for``, which every reader of the calendar goes through, so a version applied
while the box runs moves tomorrow's opening."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from config.model import Hours, Schedule, Settings

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# The central's dated days of each store: (holidays, closures), dates YYYY-MM-DD.
_CENTRAL_DAYS: WeakKeyDictionary[Any, tuple[frozenset[str], frozenset[str]]] = \
    WeakKeyDictionary()


def use_central_days(owner: Any, holidays: Iterable[str], closed: Iterable[str]) -> None:
    """From now on, ``owner``'s (a store's) calendar has the central's ``holidays`` and
    ``closed`` dates besides its own (replacing the central's earlier ones)."""
    _CENTRAL_DAYS[owner] = (frozenset(holidays), frozenset(closed))


def schedule_for(owner: Any, schedule: Schedule) -> Schedule:
    """``schedule`` with the central's dated days of ``owner`` added (none without one)."""
    found = _CENTRAL_DAYS.get(owner) if owner is not None else None
    if not found or not (found[0] or found[1]):
        return schedule
    return dataclasses.replace(schedule, holidays=sorted({*schedule.holidays, *found[0]}),
                               closed=sorted({*schedule.closed, *found[1]}))


@dataclass(frozen=True)
class DayHours:
    """What a date looks like for the centre: ``kind`` is weekday, holiday or closure."""

    date: date
    kind: str
    opens: datetime | None
    closes: datetime | None
    holiday: str | None = None

    @property
    def is_open(self) -> bool:
        return self.opens is not None

    def as_dict(self) -> dict[str, object]:
        return {"date": self.date.isoformat(), "kind": self.kind, "holiday": self.holiday,
                "opens": self.opens.isoformat() if self.opens else None,
                "closes": self.closes.isoformat() if self.closes else None}


@lru_cache(maxsize=32)
def _national(year: int) -> dict[date, str]:
    """Peru's national holidays of a year, with their names in Spanish. The library (every
    country's calendars, 2 MiB resident) is imported here, by the first date asked about."""
    import holidays as holiday_calendars

    found = holiday_calendars.country_holidays("PE", years=year, language="es")
    return dict(found.items())


def national_holiday(day: date) -> str | None:
    return _national(day.year).get(day)


def day_hours(hours: Hours, day: date, timezone: str,
              schedule: Schedule | None = None) -> DayHours:
    """The centre's hours on a local date."""
    schedule = schedule or Schedule()
    text = day.isoformat()
    if text in schedule.closed:
        return DayHours(day, "closure", None, None)
    name = national_holiday(day) if schedule.national_holidays else None
    if name is None and text in schedule.holidays:
        name = "Feriado del centro"
    if name is not None:
        value, kind = hours.holidays, "holiday"
    else:
        value, kind = getattr(hours, WEEKDAYS[day.weekday()]), "weekday"
    if value == "closed":
        return DayHours(day, kind, None, None, name)
    tz = ZoneInfo(timezone)
    opens, closes = (time(int(part[:2]), int(part[3:])) for part in value.split("-"))
    return DayHours(day, kind, datetime.combine(day, opens, tz),
                    datetime.combine(day, closes, tz), name)


def today_hours(hours: Hours, now: datetime, timezone: str) -> str:
    """The configured ``HH:MM-HH:MM`` (or ``closed``) of the centre's local weekday."""
    return getattr(hours, WEEKDAYS[now.astimezone(ZoneInfo(timezone)).weekday()])


def closing_time(hours: Hours, now: datetime, timezone: str,
                 schedule: Schedule | None = None) -> datetime | None:
    """Today's closing time as an aware datetime, or None on a day the centre is closed.
    Without ``schedule`` only the weekday counts; with it, holidays and closures too."""
    local = now.astimezone(ZoneInfo(timezone))
    if schedule is None:
        value = today_hours(hours, now, timezone)
        if value == "closed":
            return None
        hour, minute = (int(x) for x in value[6:].split(":"))
        return local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    return day_hours(hours, local.date(), timezone, schedule).closes


def upcoming(hours: Hours, start: date, days: int, timezone: str,
             schedule: Schedule | None = None) -> list[DayHours]:
    """The centre's hours on ``days`` dates from ``start``, for supervision."""
    return [day_hours(hours, start + timedelta(days=i), timezone, schedule)
            for i in range(days)]


def date_problems(schedule: Schedule) -> list[tuple[tuple, str]]:
    """(key path, problem) for each date of ``[schedule]`` that is not YYYY-MM-DD."""
    problems: list[tuple[tuple, str]] = []
    for name in ("holidays", "closed"):
        for index, text in enumerate(getattr(schedule, name)):
            try:
                date.fromisoformat(text)
                ok = len(text) == 10
            except ValueError:
                ok = False
            if not ok:
                problems.append((("schedule", name),
                                 f"{text!r} (item {index + 1}) is not a date YYYY-MM-DD"))
    return problems


def problems(settings: Settings) -> list[tuple[tuple, str]]:
    """Config check (see ``load_settings(checks=...)``): the dates of ``[schedule]``."""
    return date_problems(settings.schedule)
