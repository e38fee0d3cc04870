"""The central office's catalogue on the box: pulled when the central offers a version newer
than the box knows (its answer to every batch says which is newest), applied in one
transaction with its ``catalogue.applied`` event, or refused with the reason (the box goes on
with what it had, and does not ask for that version again). The version applied is kept in
the database and run again at every start, on top of the centre's own file.

Nothing here waits on a citizen's request: the pull runs in the uplink's round.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from config.catalogue_document import bad_dates, merge, reason
from config.loader import ConfigError
from config.model import Settings
from sync.transport import SendError, Transport, central_json
from turnero import catalog, hours
from turnero.store import Store, Tx

log = logging.getLogger("sync.uplink")
PATH = "/api/v1/catalogue"


def state(conn: Any) -> dict[str, Any]:
    """The version the box runs and the last one it refused (for health and the central's
    question "after which version?")."""
    row = conn.execute("SELECT version, applied_at, refused_version, refused_reason, "
                       "refused_at FROM central_catalogue WHERE id = 1").fetchone()
    return dict(row) if row else {"version": None, "applied_at": None, "refused_version": None,
                                  "refused_reason": None, "refused_at": None}


def known(conn: Any) -> int:
    """The newest version the box has seen, applied or refused: it asks only for later ones."""
    s = state(conn)
    return max(s["version"] or 0, s["refused_version"] or 0)


def load(store: Store, settings: Settings, conn: Any = None) -> Settings:
    """The settings the box runs: its file's, with the central version it applied, whose
    dated days (holidays, closures) are put in use for ``store``'s calendar. A file changed
    since so that the version no longer fits runs alone, and the log says why. ``conn``:
    read through it (the opening's own transaction) rather than this thread's reader."""
    row = (conn or store.reader()).execute(
        "SELECT version, body FROM central_catalogue WHERE id = 1").fetchone()
    if row is None or row["body"] is None:
        return settings
    view = json.loads(row["body"])
    try:
        merged = merge(settings, view)
    except ConfigError as exc:
        log.warning("the central catalogue v%d does not fit this configuration any more: %s",
                    row["version"], reason(exc))
        return settings
    _use_days(store, view)
    return merged


def _use_days(store: Store, view: dict[str, Any]) -> None:
    hours.use_central_days(store, view.get("holidays", []), view.get("closed", []))


def apply(store: Store, settings: Settings, version: int, view: dict[str, Any]) -> str:
    """Run ``version`` (the centre's ``view`` of it) from now on: ``applied``, ``refused``
    (it does not fit the centre), or ``known`` (applied or refused already)."""
    bad = bad_dates("holidays", view.get("holidays", [])) + bad_dates("closed",
                                                                    view.get("closed", []))
    try:
        if bad:
            raise ValueError("; ".join(bad))
        merged = merge(settings, view)
    except (ConfigError, ValueError) as exc:
        why = reason(exc) if isinstance(exc, ConfigError) else str(exc)
        done = store.write(lambda tx: _refuse(tx, version, why))
        if done:
            log.warning("central catalogue v%d refused: %s", version, why)
        return "refused" if done else "known"
    body = json.dumps(view, ensure_ascii=False, sort_keys=True)
    done = store.write(lambda tx: _apply(tx, merged, version, body))
    if done:
        _use_days(store, view)
        log.info("central catalogue v%d applied: %d services in %d queues", version,
                 len(merged.services), len(merged.queues))
    return "applied" if done else "known"


def _apply(tx: Tx, merged: Settings, version: int, body: str) -> bool:
    if known(tx.conn) >= version:  # another pull got there first
        return False
    catalog.apply_in(tx, merged)
    tx.execute("UPDATE central_catalogue SET version = ?, body = ?, applied_at = ? "
               "WHERE id = 1", (version, body, tx.at))
    tx.emit("catalogue.applied", version=version, entities=len(merged.entities),
            queues=len(merged.queues), services=len(merged.services))
    return True


def _refuse(tx: Tx, version: int, why: str) -> bool:
    if known(tx.conn) >= version:
        return False
    tx.execute("UPDATE central_catalogue SET refused_version = ?, refused_reason = ?, "
               "refused_at = ? WHERE id = 1", (version, why, tx.at))
    tx.emit("catalogue.refused", version=version, problems=why)
    return True


def fetch(transport: Transport, token: str, after: int) -> tuple[int, dict[str, Any]] | None:
    """The newest version after ``after`` for this centre, or None when there is none;
    SendError when the answer is not the central's (a portal, an error, a cut)."""
    answer = transport.get(f"{PATH}?after={after}", {"Authorization": f"Bearer {token}"})
    if answer.status == 204:
        return None
    data = central_json(answer)
    try:
        version, view = data["version"], data["catalogue"]
        if not isinstance(version, int) or isinstance(version, bool) or version <= after \
                or not isinstance(view, dict):
            raise ValueError(f"versión {version!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise SendError("bad_answer", f"catálogo no válido: {exc}") from None
    return version, view


class Puller:
    """The pull of the uplink's round: asks only when the central offers a newer version."""

    def __init__(self, store: Store, settings: Settings, transport: Transport,
                 token: str) -> None:
        self.store, self.settings = store, settings
        self.transport, self.token = transport, token
        self._error_kind: str | None = None

    def due(self, offered: int | None) -> bool:
        return offered is not None and offered > known(self.store.reader())

    def pull(self) -> str:
        """``applied``, ``refused``, ``known``, ``current`` (nothing newer) or ``failed``
        (tried again next round)."""
        try:
            found = fetch(self.transport, self.token, known(self.store.reader()))
        except SendError as exc:
            if exc.kind != self._error_kind:  # one line per change of state
                log.warning("central catalogue not fetched: %s", exc)
                self._error_kind = exc.kind
            return "failed"
        self._error_kind = None
        if found is None:
            return "current"
        return apply(self.store, self.settings, *found)
