"""The parts an app is made of, stored once on the Flask app by ``create_app``, and typed
accessors to them.

Request code reads a part with ``store()``, ``settings()``, ``printing()``… (through
``current_app``); code that runs outside a request (the server, the command line, tests)
passes the app: ``of(app).store``.

The rooms (``kiosk``, ``counter``, ``display``, ``supervision``) may import this module and
nothing else of the composition root (``tests/test_layout.py``). It imports only Flask at run
time, the parts' types are for the type checker alone, so a room importing it does not pull
in the composition root (nor import its own blueprint back through it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from pathlib import Path

    from appliance.announcing import Announcing
    from appliance.api_stream import SessionStreams
    from appliance.desk_workers import DeskWorkers
    from appliance.printing import Printing
    from appliance.ratelimit import RateLimiter
    from appliance.scheduler import Scheduler
    from config.model import Settings
    from display.feed import AnnouncementFeed
    from sync.service import Uplink
    from turnero.store import Store

KEY = "mac_turnos"
HealthCheck = Callable[[], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Parts:
    """What ``create_app`` built for one app. The workers are started by ``create_app``
    (printing, desk workers, the announcer's bus listener) or by the server (uplink,
    scheduler); the registries below are filled while the app is assembled and started."""

    settings: Settings
    store: Store
    printing: Printing
    announcing: Announcing
    desk: DeskWorkers
    uplink: Uplink
    scheduler: Scheduler
    kiosk_limit: RateLimiter
    session_streams: SessionStreams
    health: dict[str, HealthCheck] = field(default_factory=dict)
    """Health components by name (``GET /api/v1/health``)."""
    pages: dict[str, str] = field(default_factory=dict)
    """The app's pages for people, title → path (what ``mac-turnos demo`` prints)."""
    on_stop: list[Callable[[], None]] = field(default_factory=list)
    """What a server's stop undoes, in reverse order, before the uplink, the printing and
    the desk workers stop."""

    @property
    def announcements(self) -> AnnouncementFeed:
        """The TVs' announcement streams."""
        return self.announcing.feed

    @property
    def speech_dir(self) -> Path:
        """Where the announcer writes its audio files."""
        return self.announcing.cache_dir


def install(app: Flask, parts: Parts) -> Parts:
    """Store ``parts`` on ``app``; once only."""
    if KEY in app.extensions:
        raise RuntimeError("the app's parts are already installed")
    app.extensions[KEY] = parts
    return parts


def of(app: Flask) -> Parts:
    """The parts of ``app``, for code that runs outside a request."""
    found: Parts = app.extensions[KEY]
    return found


def parts() -> Parts:
    """The parts of the app handling the current request."""
    return of(current_app)


def store() -> Store:
    return parts().store


def settings() -> Settings:
    return parts().settings


def printing() -> Printing:
    return parts().printing


def announcements() -> AnnouncementFeed:
    return parts().announcements


def speech_dir() -> Path:
    return parts().speech_dir


def uplink() -> Uplink:
    return parts().uplink


def scheduler() -> Scheduler:
    return parts().scheduler


def health() -> dict[str, HealthCheck]:
    return parts().health


def kiosk_limit() -> RateLimiter:
    return parts().kiosk_limit


def session_streams() -> SessionStreams:
    return parts().session_streams
