"""Build the running parts from settings and a state directory."""

from __future__ import annotations

import os
from pathlib import Path

from config.model import Settings
from turnero import catalog
from turnero.clock import Clock
from turnero.store import Store

STATE_ENV = "MAC_TURNOS_STATE_DIR"
DB_NAME = "mac-turnos.sqlite"


def state_dir(given: str | Path | None, default: Path) -> Path:
    path = Path(given or os.environ.get(STATE_ENV) or default).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def open_store(settings: Settings, directory: Path, clock: Clock | None = None) -> Store:
    """Open (and migrate) the centre's database and bring its catalogue up to date."""
    store = Store(directory / DB_NAME, clock=clock, timezone=settings.centre.timezone,
                  policy=settings.policy)
    catalog.apply_settings(store, settings)
    return store
