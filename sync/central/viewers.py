"""Who may look at the national dashboard: viewer accounts and their sessions.

The receiver faces the internet (centres send to it from anywhere), and its dashboard and CSV
tell how every centre and entity works day by day: only named viewers see them. Passwords are
stored as salted hashes, session tokens as SHA-256 digests (a copy of the database opens no
session); a run of wrong passwords locks the account for a while, and a viewer disabled from
the command line loses every open session at once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from sync.central.db import Database, iso, now_iso
from sync.central.ingest import digest

SESSION_HOURS = 12
MAX_FAILED_LOGINS = 5
LOCKOUT_MINUTES = 15
PASSWORD_BYTES = 12  # a generated password: 16 characters, 96 bits
MIN_PASSWORD = 12
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
PASSWORD_HASH_METHOD = "scrypt:32768:8:1"  # the suite swaps in cheap ones (one fixture)
_DUMMY_HASH = generate_password_hash("not-a-real-password", method=PASSWORD_HASH_METHOD)


@dataclass(frozen=True)
class LoginResult:
    """``token`` on success; otherwise why not (``bad``, ``locked``)."""

    outcome: str
    token: str | None = None


def add_viewer(db: Database, name: str, password: str | None = None) -> str:
    """Create ``name`` (or give it a new password and end its sessions); returns the
    password, generated unless given."""
    if not NAME.match(name):
        raise ValueError("El nombre va en minúsculas, cifras, punto, guion o guion bajo "
                         "(2 a 40 caracteres).")
    if password is None:
        password = secrets.token_urlsafe(PASSWORD_BYTES)
    elif len(password) < MIN_PASSWORD:
        raise ValueError(f"La contraseña necesita al menos {MIN_PASSWORD} caracteres.")
    hashed = generate_password_hash(password, method=PASSWORD_HASH_METHOD)
    with db.transaction() as tx:
        tx.execute("INSERT INTO viewers(name, password_hash, created_at) VALUES (?,?,?) "
                   "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, "
                   "disabled_at = NULL, failed_logins = 0, locked_until = NULL",
                   (name, hashed, now_iso()))
        tx.execute("DELETE FROM viewer_sessions WHERE viewer = ?", (name,))
    return password


def disable_viewer(db: Database, name: str) -> None:
    """Refuse ``name`` from now on and end its open sessions."""
    with db.transaction() as tx:
        if not tx.query("SELECT name FROM viewers WHERE name = ?", (name,)):
            raise ValueError(f"No existe el usuario {name}.")
        tx.execute("UPDATE viewers SET disabled_at = ? WHERE name = ?", (now_iso(), name))
        tx.execute("DELETE FROM viewer_sessions WHERE viewer = ?", (name,))


def list_viewers(db: Database) -> list[dict[str, Any]]:
    return db.conn().query("SELECT name, created_at, disabled_at, locked_until FROM viewers "
                           "ORDER BY name")


def login(db: Database, name: str, password: str, now: datetime | None = None) -> LoginResult:
    """Check a viewer's password; on success a new session token, returned once."""
    now = now or datetime.now(UTC)
    rows = db.conn().query("SELECT * FROM viewers WHERE name = ?", (name,))
    row = rows[0] if rows else None
    ok = check_password_hash(row["password_hash"] if row else _DUMMY_HASH, password)
    if row is None or row["disabled_at"]:
        return LoginResult("bad")
    with db.transaction() as tx:
        fresh = tx.query("SELECT failed_logins, locked_until FROM viewers WHERE name = ?",
                         (name,))[0]
        if fresh["locked_until"] and fresh["locked_until"] > iso(now):
            return LoginResult("locked")
        if not ok:
            failures = fresh["failed_logins"] + 1
            if failures >= MAX_FAILED_LOGINS:
                tx.execute("UPDATE viewers SET failed_logins = 0, locked_until = ? "
                           "WHERE name = ?",
                           (iso(now + timedelta(minutes=LOCKOUT_MINUTES)), name))
                return LoginResult("locked")
            tx.execute("UPDATE viewers SET failed_logins = ? WHERE name = ?", (failures, name))
            return LoginResult("bad")
        token = secrets.token_urlsafe(32)
        tx.execute("UPDATE viewers SET failed_logins = 0, locked_until = NULL WHERE name = ?",
                   (name,))
        tx.execute("DELETE FROM viewer_sessions WHERE expires_at < ?", (iso(now),))
        tx.execute("INSERT INTO viewer_sessions(token_hash, viewer, created_at, expires_at) "
                   "VALUES (?,?,?,?)", (digest(token), name, iso(now),
                                        iso(now + timedelta(hours=SESSION_HOURS))))
    return LoginResult("ok", token)


def session_viewer(db: Database, token: str, now: datetime | None = None) -> str | None:
    """The viewer whose live session ``token`` is, or None."""
    if not token:
        return None
    rows = db.conn().query(
        "SELECT v.name FROM viewer_sessions s JOIN viewers v ON v.name = s.viewer "
        "WHERE s.token_hash = ? AND s.expires_at > ? AND v.disabled_at IS NULL",
        (digest(token), iso(now or datetime.now(UTC))))
    return rows[0]["name"] if rows else None


def logout(db: Database, token: str) -> None:
    with db.transaction() as tx:
        tx.execute("DELETE FROM viewer_sessions WHERE token_hash = ?", (digest(token),))
