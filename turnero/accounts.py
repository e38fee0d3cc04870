"""Staff accounts, their sessions, and enrolled devices (kiosks and TVs).

Secrets are never stored: PINs and passwords as salted hashes, session and device tokens as
SHA-256 digests. A new session id is issued at every login (no fixation) and removed at
logout.

Failed logins are counted per source address as well as per account, in memory (see
``LoginGuard``). A locked account, a wrong PIN and an unknown user all get the same answer,
so usernames cannot be told apart. Decision: a lockout applies only to the pair (source
address, account) that caused it. Anyone on the network could otherwise lock the admin and
every supervisor out for the lockout time with a handful of anonymous requests; with the
lockout tied to the source, the account's owner logging in from another address is not
stopped, and the attacker's own address is slowed down instead. Failures from one source
across any accounts earn that source growing refusals (429 with Retry-After), the same for
real and unknown users, and supervision sees an alert when an account is being attacked.

PIN hashing is bounded: at most ``HASH_SLOTS`` checks or hashes run at once in the process
(each production hash takes 16 MiB), and requests beyond wait their turn.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
import sqlite3
import threading
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from werkzeug.security import check_password_hash, generate_password_hash

from config.model import Security
from turnero.clock import to_iso
from turnero.errors import Conflict, InvalidInput, NotFound, TurneroError
from turnero.store import Store, Tx

ROLES = ("admin", "supervisor", "receptionist", "agent")
DEVICE_ROLES = ("kiosk", "display")
# Names travel in URLs (/users/<name>/pin, /display/<name>): letters, digits, . _ -
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
# scrypt with n=16384, r=8, p=1: each hash or check takes 128 * r * n bytes = 16 MiB of
# memory (werkzeug's default, n=32768, takes 32 MiB). Hashes made with an older method still
# verify and are re-hashed with this one at the next successful login. The test suite swaps
# in cheap parameters through one fixture; nothing else changes it.
PRODUCTION_PIN_HASH_METHOD = "scrypt:16384:8:1"
PIN_HASH_METHOD = PRODUCTION_PIN_HASH_METHOD
# At most this many PIN hashes or checks run at once in the process (2 x 16 MiB).
HASH_SLOTS = 2


class HashSlots:
    """A counting semaphore that also tells how many callers wait for a slot."""

    def __init__(self, slots: int) -> None:
        self._cond = threading.Condition()
        self.free = slots
        self.waiting = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        with self._cond:
            self.waiting += 1
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.free > 0)
            self.waiting -= 1
            self.free -= 1
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self.free += 1
                self._cond.notify_all()

    def wait_for(self, predicate: Callable[[HashSlots], bool], timeout: float) -> bool:
        """Block until ``predicate(self)`` holds (or the timeout passes); for observers."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self), timeout)


hash_slots = HashSlots(HASH_SLOTS)
_dummy_hashes: dict[str, str] = {}


def hash_secret(secret: str) -> str:
    """The salted hash stored for a PIN or password (its method is part of the text)."""
    with hash_slots.held():
        return generate_password_hash(secret, method=PIN_HASH_METHOD)


def verify_secret(stored: str, secret: str) -> bool:
    with hash_slots.held():
        return check_password_hash(stored, secret)


def hash_method(stored: str) -> str:
    return stored.split("$", 1)[0]


def _dummy_hash() -> str:
    """A hash to check unknown usernames against, so they cost as much as real ones."""
    method = PIN_HASH_METHOD
    if method not in _dummy_hashes:
        _dummy_hashes[method] = hash_secret("not-a-real-secret")
    return _dummy_hashes[method]


# Supervisors and admins: PINs of at least this length, and not trivial.
STRONG_PIN_ROLES = ("admin", "supervisor")
STRONG_PIN_LENGTH = 6
COMMON_PINS = frozenset({
    "123123", "321321", "112233", "332211", "121212", "212121", "111222", "123321",
    "654456", "101010", "010101", "102030", "147258", "258369", "159753", "147852",
    "789456", "456789", "696969", "777888", "000111", "999000", "100200", "202020",
    "1234567890", "0987654321", "password", "contraseña", "admin123", "qwerty",
})


def trivial_pin(secret: str) -> bool:
    """All the same character, an ascending or descending run of digits, or a common one."""
    low = secret.lower()
    if len(set(low)) <= 1 or low in COMMON_PINS:
        return True
    if secret.isdigit() and secret.isascii():
        steps = {(int(b) - int(a)) % 10 for a, b in zip(secret, secret[1:], strict=False)}
        return steps in ({1}, {9})
    return False


def new_pin(length: int = STRONG_PIN_LENGTH) -> str:
    """A random PIN good for any role."""
    while True:
        pin = "".join(secrets.choice("0123456789") for _ in range(length))
        if not trivial_pin(pin):
            return pin


# Per source address: after SOURCE_FREE_FAILURES failures, each further failure refuses the
# source for 2^k seconds (k = failures beyond the free ones), capped. The count starts again
# only once the source has stayed quiet for SOURCE_WINDOW after its last refusal ended.
SOURCE_WINDOW = timedelta(minutes=15)
SOURCE_FREE_FAILURES = 5
SOURCE_MAX_DELAY_SECONDS = 15 * 60
# Sources (and source/account pairs) remembered at most; the least recently seen go first.
MAX_SOURCES = 10_000
# An existing account with this many failures from one source within SOURCE_WINDOW shows
# an alert on the supervision page.
ALERT_FAILURES = 3
MAX_ALERTS = 200


@dataclass
class _Source:
    failures: int = 0
    quiet_from: datetime | None = None  # the last failure, or the end of its refusal
    blocked_until: datetime | None = None


@dataclass
class _Pair:
    failures: int = 0
    locked_until: datetime | None = None
    recent: deque[datetime] = field(default_factory=lambda: deque(maxlen=64))


class LoginGuard:
    """Failed logins per source address and per (source, account), kept in memory.

    Memory rather than the database: an attack must not turn into a write on the journal
    that the whole floor depends on for every anonymous request, the figures only matter
    for minutes (a restart forgetting them is harmless), and the dicts are bounded
    (MAX_SOURCES entries, oldest dropped), so a flood of addresses cannot grow them."""

    def __init__(self, max_sources: int = MAX_SOURCES) -> None:
        self._lock = threading.Lock()
        self._max = max_sources
        self._sources: OrderedDict[str, _Source] = OrderedDict()
        self._pairs: OrderedDict[tuple[str, str], _Pair] = OrderedDict()
        self._alerts: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    @staticmethod
    def _touch(table: OrderedDict[Any, Any], key: Any, make: Callable[[], Any],
               limit: int) -> Any:
        if key in table:
            table.move_to_end(key)
            return table[key]
        table[key] = value = make()
        while len(table) > limit:
            table.popitem(last=False)
        return value

    def retry_after(self, source: str, now: datetime) -> int:
        """Seconds the source must still wait before trying again (0: it may try now)."""
        with self._lock:
            entry = self._sources.get(source)
            if entry is None or entry.blocked_until is None or entry.blocked_until <= now:
                return 0
            return max(1, math.ceil((entry.blocked_until - now).total_seconds()))

    def locked(self, source: str, username: str, now: datetime) -> bool:
        with self._lock:
            pair = self._pairs.get((source, username.lower()))
            return bool(pair and pair.locked_until and pair.locked_until > now)

    def failed(self, source: str, username: str, now: datetime, *, security: Security,
               account_exists: bool) -> None:
        key = username.lower()
        with self._lock:
            entry: _Source = self._touch(self._sources, source, _Source, self._max)
            if entry.quiet_from is not None and now - entry.quiet_from > SOURCE_WINDOW:
                entry.failures = 0
            entry.failures += 1
            entry.quiet_from = now
            beyond = entry.failures - SOURCE_FREE_FAILURES
            if beyond >= 0:
                delay = SOURCE_MAX_DELAY_SECONDS if beyond >= 10 \
                    else min(2 ** beyond, SOURCE_MAX_DELAY_SECONDS)
                entry.blocked_until = entry.quiet_from = now + timedelta(seconds=delay)
            pair: _Pair = self._touch(self._pairs, (source, key), _Pair, self._max)
            pair.failures += 1
            if pair.failures >= security.max_failed_logins:
                pair.failures = 0
                pair.locked_until = now + timedelta(minutes=security.lockout_minutes)
            pair.recent.append(now)
            while pair.recent and pair.recent[0] <= now - SOURCE_WINDOW:
                pair.recent.popleft()
            if account_exists and len(pair.recent) >= ALERT_FAILURES:
                alert = self._touch(self._alerts, (key, source), dict, MAX_ALERTS)
                alert.update(username=username, source=source, count=len(pair.recent),
                             last=now)

    def succeeded(self, source: str, username: str) -> None:
        with self._lock:
            self._pairs.pop((source, username.lower()), None)

    def locked_until(self, username: str, now: datetime) -> datetime | None:
        """The latest end of the account's lockouts still running, from any source."""
        key = username.lower()
        with self._lock:
            ends = [p.locked_until for (_, name), p in self._pairs.items()
                    if name == key and p.locked_until and p.locked_until > now]
        return max(ends) if ends else None

    def forget_account(self, username: str) -> None:
        """A new PIN lifts the account's lockouts, from every source."""
        key = username.lower()
        with self._lock:
            for pair in [p for p in self._pairs if p[1] == key]:
                del self._pairs[pair]

    def alerts(self, now: datetime) -> list[dict[str, Any]]:
        with self._lock:
            live = [a for a in self._alerts.values() if a["last"] > now - SOURCE_WINDOW]
        return [{"kind": "login_failures", "severity": "warning",
                 "username": a["username"], "source": a["source"],
                 "message": f"Intentos fallidos de ingreso a la cuenta {a['username']} "
                            f"desde la dirección {a['source']}: {a['count']} en los "
                            f"últimos {int(SOURCE_WINDOW.total_seconds() // 60)} min."}
                for a in live]


_guards: weakref.WeakKeyDictionary[Store, LoginGuard] = weakref.WeakKeyDictionary()
_guards_lock = threading.Lock()


def login_guard(store: Store) -> LoginGuard:
    """The failed-login figures of the process for this store."""
    with _guards_lock:
        guard = _guards.get(store)
        if guard is None:
            guard = _guards[store] = LoginGuard()
        return guard


def login_alerts(store: Store) -> list[dict[str, Any]]:
    """Supervision alerts: accounts being attacked, with the source address."""
    return login_guard(store).alerts(store.now())


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
    _check_secret(secret, security, role)
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


def _with_lockout(store: Store, row: sqlite3.Row) -> dict[str, Any]:
    """A user's row; locked_until tells whether some source has the account locked."""
    user = dict(row)
    until = login_guard(store).locked_until(user["username"], store.now())
    user["locked_until"] = to_iso(until) if until else None
    return user


def get_user(store: Store, username: str) -> dict[str, Any]:
    row = store.reader().execute(
        "SELECT username, full_name, role, entity, disabled FROM users "
        "WHERE username = ?", (username,)).fetchone()
    if row is None:
        raise NotFound(f"No existe el usuario {username}.", "user_not_found")
    return _with_lockout(store, row)


def _check_secret(secret: str, security: Security, role: str) -> None:
    strong = role in STRONG_PIN_ROLES
    shortest = max(security.min_pin_length, STRONG_PIN_LENGTH) if strong \
        else security.min_pin_length
    if len(secret) < shortest:
        raise InvalidInput(f"El PIN o contraseña debe tener al menos {shortest} caracteres.",
                           "secret_too_short")
    if strong and trivial_pin(secret):
        raise InvalidInput("El PIN de un supervisor o administrador no puede ser trivial "
                           "(todos iguales, una serie como 123456 o 654321, o uno muy "
                           "común).", "secret_too_weak")


def set_secret(store: Store, username: str, secret: str, *, security: Security,
               actor: str | None = None) -> None:
    """A new PIN; it also lifts a lockout and ends the user's sessions."""
    row = store.reader().execute("SELECT role FROM users WHERE username = ?",
                                 (username,)).fetchone()
    if row is None:
        raise NotFound(f"No existe el usuario {username}.", "user_not_found")
    _check_secret(secret, security, row["role"])
    hashed = hash_secret(secret)

    def op(tx: Tx) -> None:
        if tx.execute("UPDATE users SET secret_hash = ?, failed_logins = 0, locked_until = NULL "
                      "WHERE username = ?", (hashed, username)).rowcount != 1:
            raise NotFound(f"No existe el usuario {username}.", "user_not_found")
        tx.execute("DELETE FROM sessions WHERE user = (SELECT id FROM users WHERE username = ?)",
                   (username,))
        tx.emit("user.secret_reset", actor=actor, username=username)
    store.write(op)
    login_guard(store).forget_account(username)


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
    return [_with_lockout(store, r) for r in store.reader().execute(
        "SELECT username, full_name, role, entity, disabled FROM users ORDER BY username")]


class Unauthorized(InvalidInput):
    status = 401
    code = "unauthorized"


class TooManyAttempts(TurneroError):
    """The source address failed too often; it says nothing about any account."""

    status = 429
    code = "too_many_attempts"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Demasiados intentos fallidos desde este equipo; espere "
                         f"{retry_after} segundo{'' if retry_after == 1 else 's'} antes de "
                         f"volver a intentar.")
        self.retry_after = retry_after


BAD_CREDENTIALS = ("Usuario o PIN incorrecto, o demasiados intentos fallidos. Revise sus "
                   "datos; si no puede ingresar, espere unos minutos o pida a un supervisor "
                   "que restablezca su PIN.")


def login(store: Store, username: Any, secret: Any, *, security: Security,
          source: str = "") -> tuple[str, Principal]:
    """Check the credentials; on success a fresh session token (returned once).

    A locked account, a wrong PIN, a disabled account and an unknown user all raise the same
    ``Unauthorized``; a source that failed too often gets ``TooManyAttempts`` before any
    account is looked at."""
    if not isinstance(username, str) or not isinstance(secret, str):
        raise InvalidInput("username y password son textos.", "invalid_credentials")
    guard = login_guard(store)
    now = store.now()
    wait = guard.retry_after(source, now)
    if wait:
        raise TooManyAttempts(wait)
    row = store.reader().execute("SELECT * FROM users WHERE username = ?",
                                 (username,)).fetchone()
    if guard.locked(source, username, now):  # no hash check, and no further count
        raise Unauthorized(BAD_CREDENTIALS, "bad_credentials")
    ok = verify_secret(row["secret_hash"] if row else _dummy_hash(), secret)
    upgraded = (hash_secret(secret) if ok and row
                and hash_method(row["secret_hash"]) != PIN_HASH_METHOD else None)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)

    def op(tx: Tx) -> Principal | None:
        if row is None or not ok:
            return None
        fresh = tx.one("SELECT disabled FROM users WHERE id = ?", (row["id"],))
        if fresh is None or fresh["disabled"]:  # gone since the read above, or disabled
            return None
        tx.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?",
                   (row["id"],))
        if upgraded:  # an older hash method: store the current one
            tx.execute("UPDATE users SET secret_hash = ? WHERE id = ? AND secret_hash = ?",
                       (upgraded, row["id"], row["secret_hash"]))
        expires = to_iso(tx.now + timedelta(hours=security.session_hours))
        tx.execute("INSERT INTO sessions(token_hash, user, csrf, created_at, expires_at) "
                   "VALUES (?,?,?,?,?)", (digest(token), row["id"], csrf, tx.at, expires))
        tx.execute("DELETE FROM sessions WHERE expires_at < ?", (tx.at,))
        return Principal("user", row["username"], row["role"], row["entity"], csrf)

    result = store.write(op)
    if result is None:
        guard.failed(source, username, now, security=security, account_exists=row is not None)
        raise Unauthorized(BAD_CREDENTIALS, "bad_credentials")
    guard.succeeded(source, username)
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
