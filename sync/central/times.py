"""Times as the central stores them, and as every box sends them: UTC text to the
microsecond that sorts in time order (``2026-12-07T14:05:09.123456Z``)."""

from __future__ import annotations

from datetime import UTC, datetime

ISO_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def iso(when: datetime) -> str:
    """A UTC instant as the central stores it."""
    return when.strftime(ISO_FORMAT)


def moment(text: str) -> datetime:
    """The UTC instant of a stored (or sent) time; ValueError when ``text`` is not one."""
    return datetime.strptime(text, ISO_FORMAT).replace(tzinfo=UTC)
