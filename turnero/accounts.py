"""Staff accounts, their sessions, and enrolled devices (kiosks and TVs).

Secrets are never stored: PINs and passwords as salted hashes, session and device tokens as
SHA-256 digests. A new session id is issued at every login (no fixation) and removed at
logout; repeated failures lock the account for a while.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from config.model import Security
from turnero.clock import from_iso, to_iso
from turnero.errors import Conflict, InvalidInput, NotFound
from turnero.store import Store, Tx

ROLES = ("admin", "supervisor", "receptionist", "agent")
DEVICE_ROLES = ("kiosk", "display")
# Names travel in URLs (/users/<name>/pin, /display/<name>): letters, digits, . _ -
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
# werkzeug's scrypt with its default cost, written out so that it stays
# put. The test suite swaps in cheap parameters through one fixture; nothing else changes it.
PIN_HASH_METHOD = "scrypt:32768:8:1"
_DUMMY_HASH = generate_password_hash("not-a-real-secret", method=PIN_HASH_METHOD)


def hash_secret(secret: str) -> str:
    """The salted hash stored for a PIN or password (its method is part of the text)."""
    return generate_password_hash(secret, method=PIN_HASH_METHOD)


@dataclass(frozen=True)
class Principal:
    """Who is making a request: a staff user (with a session) or an enrolled device."""

    kind: str  # "user" or "device"
    name: str
    role: str
    entity: str | None = None
    csrf: str | None = None

    @property
    def actor(self) -> str:
        return self.name if self.kind == "user" else f"device:{self.name}"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_name(name: Any, what: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidInput(f"El nombre de {what} lleva de 1 a 40 letras, dígitos, puntos, "
                           "guiones o guiones bajos.", "invalid_name")


def _check_role(role: Any, entity: Any) -> None:
    if role not in ROLES:
        raise InvalidInput("role debe ser uno de: " + ", ".join(ROLES) + ".", "invalid_role")
    if role == "agent" and not entity:
        raise InvalidInput("Un asesor pertenece a una entidad.", "entity_required")
    if entity is not None and not isinstance(entity, str):
        raise InvalidInput("entity debe ser el código de una entidad.", "unknown_entity")


def _check_entity(tx: Tx, entity: str | None) -> None:
    if entity and not tx.one("SELECT 1 FROM entities WHERE code = ?", (entity,)):
        raise InvalidInput(f"No existe la entidad {entity}.", "unknown_entity")


def create_user(store: Store, username: str, role: str, secret: str, *, security: Security,
                entity: str | None = None, full_name: str = "",
                actor: str | None = None) -> dict[str, Any]:
    """A new staff account; only asesores belong to an entity (it limits their módulos)."""
    _check_name(username, "usuario")
    _check_role(role, entity)
    _check_secret(secret, security)
    entity = entity if role == "agent" else None
    hashed = hash_secret(secret)

    def op(tx: Tx) -> dict[str, Any]:
        _check_entity(tx, entity)
        if tx.one("SELECT 1 FROM users WHERE username = ?", (username,)):
            raise Conflict(f"Ya existe el usuario {username}.", "user_exists")
        tx.execute("INSERT INTO users(username, full_name, role, entity, secret_hash, "
                   "created_at) VALUES (?,?,?,?,?,?)",
                   (username, full_name, role, entity, hashed, tx.at))
        tx.emit("user.created", actor=actor, username=username, role=role, entity=entity)
        return {"username": username, "role": role, "entity": entity}
    return store.write(op)


def set_role(store: Store, username: str, role: Any, *, entity: Any = None,
             actor: str | None = None) -> dict[str, Any]:
    """Change what a user may do; the change applies to their open sessions at once (the
    role is read on every request)."""
    _check_role(role, entity)
    entity = entity if role == "agent" else None

    def op(tx: Tx) -> dict[str, Any]:
        _check_entity(tx, entity)
        if tx.execute("UPDATE users SET role = ?, entity = ? WHERE username = ?",
                      (role, entity, username)).rowcount != 1:
            raise NotFound(f"No existe el usuario {username}.", "user_not_found")
        tx.emit("user.role_changed", actor=actor, username=username, role=role, entity=entity)
        return {"username": username, "role": role, "entity": entity}
    return store.write(op)


def get_user(store: Store, username: str) -> dict[str, Any]:
    row = store.reader().execute(
        "SELECT username, full_name, role, entity, disabled, locked_until FROM users "
        "WHERE username = ?", (username,)).fetchone()
    if row is None:
        raise NotFound(f"No existe el usuario {username}.", "user_not_found")
    return dict(row)


def _check_secret(secret: str, security: Security) -> None:
    if len(secret) < security.min_pin_length:
        raise InvalidInput(f"El PIN o contraseña debe tener al menos "
                           f"{security.min_pin_length} caracteres.", "secret_too_short")


def set_secret(store: Store, username: str, secret: str, *, security: Security,
               actor: str | None = None) -> None:
    """A new PIN; it also lifts a lockout and ends the user's sessions."""
    _check_secret(secret, security)
    hashed = hash_secret(secret)

    def op(tx: Tx) -> None:
        if tx.execute("UPDATE users SET secret_hash = ?, failed_logins = 0, locked_until = NULL "
                      "WHERE username = ?", (hashed, username)).rowcount != 1:
            raise NotFound(f"No existe el usuario {username}.", "user_not_found")
        tx.execute("DELETE FROM sessions WHERE user = (SELECT id FROM users WHERE username = ?)",
                   (username,))
        tx.emit("user.secret_reset", actor=actor, username=username)
    store.write(op)


def set_disabled(store: Store, username: str, disabled: bool, *,
                 actor: str | None = None) -> None:
    def op(tx: Tx) -> None:
        if tx.execute("UPDATE users SET disabled = ? WHERE username = ?",
                      (int(disabled), username)).rowcount != 1:
            raise NotFound(f"No existe el usuario {username}.", "user_not_found")
        if disabled:
            tx.execute("DELETE FROM sessions WHERE user = "
                       "(SELECT id FROM users WHERE username = ?)", (username,))
        tx.emit("user.disabled" if disabled else "user.enabled", actor=actor,
                username=username)
    store.write(op)


def list_users(store: Store) -> list[dict[str, Any]]:
    return [dict(r) for r in store.reader().execute(
        "SELECT username, full_name, role, entity, disabled, locked_until FROM users "
        "ORDER BY username")]


class Unauthorized(InvalidInput):
    status = 401
    code = "unauthorized"


def login(store: Store, username: Any, secret: Any, *,
          security: Security) -> tuple[str, Principal]:
    """Check the credentials; on success a fresh session token (returned once)."""
    if not isinstance(username, str) or not isinstance(secret, str):
        raise InvalidInput("username y password son textos.", "invalid_credentials")
    row = store.reader().execute("SELECT * FROM users WHERE username = ?",
                                 (username,)).fetchone()
    ok = check_password_hash(row["secret_hash"] if row else _DUMMY_HASH, secret)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)

    def op(tx: Tx) -> Principal | str:
        if row is None:
            return "bad"
        fresh = tx.one("SELECT disabled, failed_logins, locked_until FROM users WHERE id = ?",
                       (row["id"],))
        if fresh is None:  # gone since the read above: as unknown as a wrong username
            return "bad"
        if fresh["disabled"]:
            return "disabled"
        if fresh["locked_until"] and from_iso(fresh["locked_until"]) > tx.now:
            return "locked"
        if not ok:
            failures = fresh["failed_logins"] + 1
            if failures >= security.max_failed_logins:
                until = to_iso(tx.now + timedelta(minutes=security.lockout_minutes))
                tx.execute("UPDATE users SET failed_logins = 0, locked_until = ? WHERE id = ?",
                           (until, row["id"]))
                return "locked"
            tx.execute("UPDATE users SET failed_logins = ? WHERE id = ?", (failures, row["id"]))
            return "bad"
        tx.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?",
                   (row["id"],))
        expires = to_iso(tx.now + timedelta(hours=security.session_hours))
        tx.execute("INSERT INTO sessions(token_hash, user, csrf, created_at, expires_at) "
                   "VALUES (?,?,?,?,?)", (digest(token), row["id"], csrf, tx.at, expires))
        tx.execute("DELETE FROM sessions WHERE expires_at < ?", (tx.at,))
        return Principal("user", row["username"], row["role"], row["entity"], csrf)

    result = store.write(op)
    if result == "locked":
        raise Conflict("Cuenta bloqueada por intentos fallidos; espere o pida a un "
                       "supervisor que restablezca su PIN.", "account_locked")
    if isinstance(result, str):
        raise Unauthorized("Usuario o PIN incorrecto.", "bad_credentials")
    return token, result


def session_principal(conn: sqlite3.Connection, token: str, now_iso: str) -> Principal | None:
    row = conn.execute(
        "SELECT u.username, u.role, u.entity, s.csrf FROM sessions s JOIN users u "
        "ON u.id = s.user WHERE s.token_hash = ? AND s.expires_at > ? AND NOT u.disabled",
        (digest(token), now_iso)).fetchone()
    if row is None:
        return None
    return Principal("user", row["username"], row["role"], row["entity"], row["csrf"])


def logout(store: Store, token: str) -> None:
    store.write(lambda tx: tx.execute("DELETE FROM sessions WHERE token_hash = ?",
                                      (digest(token),)))


def enrol_device(store: Store, name: str, role: str, *, actor: str | None = None) -> str:
    """Enrol a kiosk or TV; the token is returned once and stored only as a digest."""
    _check_name(name, "dispositivo")
    if role not in DEVICE_ROLES:
        raise InvalidInput("role debe ser kiosk o display.", "invalid_role")
    token = secrets.token_urlsafe(32)

    def op(tx: Tx) -> None:
        if tx.one("SELECT 1 FROM devices WHERE name = ?", (name,)):
            raise Conflict(f"Ya existe el dispositivo {name}.", "device_exists")
        tx.execute("INSERT INTO devices(name, role, token_hash, created_at) VALUES (?,?,?,?)",
                   (name, role, digest(token), tx.at))
        tx.emit("device.enrolled", actor=actor, device=name, role=role)
    store.write(op)
    return token


def revoke_device(store: Store, name: str, *, actor: str | None = None) -> None:
    def op(tx: Tx) -> None:
        if tx.execute("UPDATE devices SET revoked_at = ? WHERE name = ? AND revoked_at IS NULL",
                      (tx.at, name)).rowcount != 1:
            raise NotFound(f"No existe el dispositivo activo {name}.", "device_not_found")
        tx.emit("device.revoked", actor=actor, device=name)
    store.write(op)


def list_devices(store: Store) -> list[dict[str, Any]]:
    return [dict(r) for r in store.reader().execute(
        "SELECT name, role, created_at, revoked_at FROM devices ORDER BY name")]


def device_principal(conn: sqlite3.Connection, token: str) -> Principal | None:
    row = conn.execute("SELECT name, role FROM devices WHERE token_hash = ? "
                       "AND revoked_at IS NULL", (digest(token),)).fetchone()
    return Principal("device", row["name"], row["role"]) if row else None
