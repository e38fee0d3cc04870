"""Opening hours of the centre per weekday (DOMAIN.md §1): when today's service ends."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from config.model import Hours

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def today_hours(hours: Hours, now: datetime, timezone: str) -> str:
    """The configured ``HH:MM-HH:MM`` (or ``closed``) of the centre's local weekday."""
    return getattr(hours, WEEKDAYS[now.astimezone(ZoneInfo(timezone)).weekday()])


def closing_time(hours: Hours, now: datetime, timezone: str) -> datetime | None:
    """Today's closing time as an aware datetime, or None on a day the centre is closed."""
    value = today_hours(hours, now, timezone)
    if value == "closed":
        return None
    local = now.astimezone(ZoneInfo(timezone))
    hour, minute = (int(x) for x in value[6:].split(":"))
    return local.replace(hour=hour, minute=minute, second=0, microsecond=0)
