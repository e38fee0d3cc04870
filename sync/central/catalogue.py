"""The national catalogue at the central: numbered versions, each centre's view of one, and
what each box says it runs.

A version is published whole (``config.catalogue_document``): checked by the same rules as
a centre's file before any box sees it, then numbered. A box learns the newest number from
every answer to its batches, fetches its centre's view when it runs an older one, and says
through its own event log whether it applied or refused it; those events set the centre's
row here, so the dashboard shows each centre's version and any refusal with its reason.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

from config.catalogue_document import (
    TABLES,
    centre_view,
    date_problems,
    reason,
    shape_problems,
)
from config.loader import ConfigError, load_settings
from sync.central.db import Conn, Database, now_iso


class Invalid(ValueError):
    """The document cannot be a version; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def check(document: Any) -> list[str]:
    """Why ``document`` cannot be published (empty: it can)."""
    found = shape_problems(document)
    if found:
        return found
    found = date_problems(document)
    queues = {q.get("code") for q in document.get("queues", [])}
    for centre, part in document.get("centres", {}).items():
        unknown = sorted(set(part.get("queues", [])) - queues)
        if unknown:
            found.append(f"centres.{centre}.queues: no existen las colas {unknown}")
    national = {"centre": {"code": "central", "name": "Catálogo nacional"},
                **{name: document.get(name, []) for name in TABLES}}
    try:
        load_settings(data=national, environ={})
    except ConfigError as exc:
        found.append(reason(exc))
    return found


def read_source(path: Path) -> dict[str, Any]:
    """A catalogue document from a JSON file, or from a centre's TOML file (its catalogue
    tables); ValueError when the file is neither."""
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".toml":
            data = tomllib.loads(text)
            return {name: data[name] for name in TABLES if name in data}
        found = json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(str(exc)) from None
    if not isinstance(found, dict):
        raise ValueError("se esperaba un objeto JSON")
    return found


def publish(db: Database, document: Any, by: str, note: str = "") -> int:
    """Number and keep ``document`` as the newest version; Invalid if it cannot be one."""
    problems = check(document)
    if problems:
        raise Invalid(problems)
    body = json.dumps(document, ensure_ascii=False, sort_keys=True)
    with db.transaction() as tx:
        number = int(tx.query("SELECT COALESCE(MAX(number), 0) + 1 AS n "
                              "FROM catalogue_versions")[0]["n"])
        tx.execute("INSERT INTO catalogue_versions(number, body, created_at, created_by, note) "
                   "VALUES (?,?,?,?,?)", (number, body, now_iso(), by, note))
    return number


def newest(conn: Conn) -> int:
    """The newest version's number; 0 before the first."""
    return int(conn.query("SELECT COALESCE(MAX(number), 0) AS n FROM catalogue_versions")[0]["n"])


def for_centre(db: Database, centre: str, after: int) -> tuple[int, dict[str, Any]] | None:
    """The newest version as ``centre`` runs it, if newer than ``after``."""
    rows = db.conn().query("SELECT number, body FROM catalogue_versions WHERE number > ? "
                           "ORDER BY number DESC LIMIT 1", (after,))
    if not rows:
        return None
    return int(rows[0]["number"]), centre_view(json.loads(rows[0]["body"]), centre)


def versions(db: Database) -> list[dict[str, Any]]:
    """Every version, newest first, without its body."""
    return db.conn().query("SELECT number, created_at, created_by, note FROM "
                           "catalogue_versions ORDER BY number DESC")


def note_reports(tx: Conn, centre: str, events: list[dict[str, Any]]) -> None:
    """What the centre's box says it runs (its ``catalogue.applied`` and
    ``catalogue.refused`` events, in any order and any number of times)."""
    for e in events:
        payload = e.get("payload") or {}
        version = payload.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            continue
        if e.get("kind") == "catalogue.applied":
            tx.execute("UPDATE centres SET catalogue_version = ?, catalogue_applied_at = ? "
                       "WHERE code = ? AND COALESCE(catalogue_version, 0) < ?",
                       (version, e.get("at"), centre, version))
        elif e.get("kind") == "catalogue.refused":
            tx.execute("UPDATE centres SET catalogue_refused = ?, catalogue_refused_reason = ? "
                       "WHERE code = ? AND COALESCE(catalogue_refused, 0) < ?",
                       (version, str(payload.get("problems", ""))[:2000], centre, version))


def states(db: Database) -> dict[str, str]:
    """Each centre's catalogue as the dashboard says it (``centre_state``)."""
    return {c["code"]: centre_state(c) for c in db.conn().query(
        "SELECT code, catalogue_version, catalogue_refused, catalogue_refused_reason "
        "FROM centres")}


def centre_state(centre: dict[str, Any]) -> str:
    """The centre's catalogue for the dashboard: its version, and a refusal newer than it."""
    running = centre.get("catalogue_version")
    text = f"v{running}" if running else "propio (sin versión central)"
    refused = centre.get("catalogue_refused")
    if refused and refused > (running or 0):
        text += f"; rechazó v{refused}: {centre.get('catalogue_refused_reason')}"
    return text
