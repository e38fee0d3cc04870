"""Build the running parts from settings and a state directory."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from config import private_files
from config.model import Settings
from sync import catalogue as central_catalogue
from turnero import catalog, estimate
from turnero.clock import Clock
from turnero.store import Store

STATE_ENV = "MAC_TURNOS_STATE_DIR"
DB_NAME = "mac-turnos.sqlite"
log = logging.getLogger(__name__)


def state_dir(given: str | Path | None, default: Path) -> Path:
    """The state folder, created or tightened to 0700 (only the server's account may enter
    it) however the server was started; one line in the log if it was open to others."""
    path = Path(given or os.environ.get(STATE_ENV) or default).expanduser()
    private_files.create_folder(path)
    private_files.tighten_all([path], log, "State folder")
    return path


def open_store(settings: Settings, directory: Path, clock: Clock | None = None) -> Store:
    """Open (and migrate) the centre's database and bring its catalogue up to date: the
    file's, with the central office's version the box last applied."""
    store = Store(directory / DB_NAME, clock=clock, timezone=settings.centre.timezone,
                  policy=settings.policy)
    # In one write: the version applied is read where it is then written (no reader is
    # opened for it, and none is left idle in the pool).
    store.write(lambda tx: catalog.apply_in(tx, central_catalogue.load(store, settings,
                                                                       tx.conn)))
    estimate.use_hours(store, settings.hours, settings.schedule)
    return store
