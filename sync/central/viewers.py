"""Who may look at the national dashboard: viewer accounts and their sessions.

The receiver faces the internet (centres send to it from anywhere), and its dashboard and CSV
tell how every centre and entity works day by day: only named viewers see them. Passwords are
stored as salted hashes, session tokens as SHA-256 digests (a copy of the database opens no
session), and a viewer disabled from the command line loses every open session at once.

Failed logins are counted in memory by ``LoginGuard``, per source address and per (source,
account), the same rules as the box's staff login (``turnero.accounts``, which ``central``
may not import). A lockout applies only to the pair that caused it: anyone on the internet
could otherwise lock every viewer out with a few anonymous requests, so the owner logging in
from another address is never stopped, and the failing source is slowed down instead (429
with Retry-After, growing delays). A locked pair, a wrong password, a disabled viewer and an
unknown name all get the same answer, so names cannot be told apart.
"""

from __future__ import annotations

import ipaddress
import math
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from werkzeug.security import check_password_hash, generate_password_hash

from sync.central.db import Database, now_iso
from sync.central.ingest import digest
from sync.central.times import iso

SESSION_HOURS = 12
# Per (source, account): this many failures within SOURCE_WINDOW_SECONDS lock that pair (and
# that pair only) for LOCKOUT_MINUTES.
MAX_FAILED_LOGINS = 5
LOCKOUT_MINUTES = 15
# Per source: after SOURCE_FREE_FAILURES failures, each further one refuses the source for
# 2^k seconds (k = failures beyond the free ones), at most SOURCE_MAX_DELAY_SECONDS. The
# count starts again once the source has stayed quiet for SOURCE_WINDOW_SECONDS after its
# last failure or the end of its last refusal.
SOURCE_FREE_FAILURES = 5
SOURCE_MAX_DELAY_SECONDS = 15 * 60
SOURCE_WINDOW_SECONDS = 15 * 60
# Sources, and (source, account) pairs, remembered at most each; the least recently failing
# go first. Keys are short (an address or an IPv6 /64; a name of at most 40 characters), so
# both tables full take about 5 MB (measured: 10,000 of each, longest keys, 4.8 MB).
MAX_SOURCES = 10_000
PASSWORD_BYTES = 12  # a generated password: 16 characters, 96 bits
MIN_PASSWORD = 12
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
# viewer: reads the dashboards; editor: also publishes the national catalogue's versions
ROLES = ("viewer", "editor")
PASSWORD_HASH_METHOD = "scrypt:32768:8:1"  # the suite swaps in cheap ones (one fixture)
_dummy_hashes: dict[str, str] = {}
_K = TypeVar("_K")
_V = TypeVar("_V")


def _dummy_hash() -> str:
    """A hash to check unknown names against, made with the current method, so an unknown
    name costs as much as a real one."""
    method = PASSWORD_HASH_METHOD
    if method not in _dummy_hashes:
        _dummy_hashes[method] = generate_password_hash("not-a-real-password", method=method)
    return _dummy_hashes[method]


@dataclass(frozen=True)
class LoginResult:
    """``token`` on success; otherwise why not: ``bad`` (a wrong password, an unknown,
    disabled or locked name: one answer) or ``throttled`` (the source failed too often; it
    may try again in ``retry_after`` seconds)."""

    outcome: str
    token: str | None = None
    retry_after: int = 0


def source_key(address: str | None) -> str:
    """Whom failures are counted against: an IPv4 address, or an IPv6 address's /64 (one
    subscriber usually holds a whole /64, so counting single IPv6 addresses would give an
    attacker endless fresh sources)."""
    text = (address or "").split("%", 1)[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return text[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class _Source:
    failures: int = 0
    quiet_from: float = 0.0  # the last failure, or the end of the refusal it earned
    blocked_until: float = 0.0


@dataclass
class _Pair:
    failures: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class LoginGuard:
    """Failed logins per source and per (source, account), in memory.

    Memory rather than the database: an anonymous flood must not become a write for every
    request, the figures only matter for minutes (a restart forgetting them is harmless),
    and both tables are bounded (``max_sources`` entries each, the least recently failing
    dropped first), so a flood of addresses cannot grow them. ``clock`` gives seconds
    (monotonic); tests pass their own."""

    def __init__(self, max_sources: int = MAX_SOURCES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_sources = max_sources
        self.clock = clock
        self._lock = threading.Lock()
        self._sources: OrderedDict[str, _Source] = OrderedDict()
        self._pairs: OrderedDict[tuple[str, str], _Pair] = OrderedDict()

    def _touch(self, table: OrderedDict[_K, _V], key: _K, make: Callable[[], _V]) -> _V:
        if key in table:
            table.move_to_end(key)
            return table[key]
        table[key] = value = make()
        while len(table) > self.max_sources:
            table.popitem(last=False)
        return value

    def sizes(self) -> tuple[int, int]:
        """How many sources and (source, account) pairs are remembered."""
        with self._lock:
            return len(self._sources), len(self._pairs)

    def retry_after(self, source: str) -> int:
        """Seconds the source must still wait before trying again (0: it may try now)."""
        now = self.clock()
        with self._lock:
            entry = self._sources.get(source)
            if entry is None or entry.blocked_until <= now:
                return 0
            return max(1, math.ceil(entry.blocked_until - now))

    def locked(self, source: str, name: str) -> bool:
        """Whether this source has locked itself out of this account."""
        now = self.clock()
        with self._lock:
            pair = self._pairs.get((source, _pair_name(name)))
            return pair is not None and pair.locked_until > now

    def failed(self, source: str, name: str) -> None:
        now = self.clock()
        with self._lock:
            entry = self._touch(self._sources, source, _Source)
            if entry.failures and now - entry.quiet_from > SOURCE_WINDOW_SECONDS:
                entry.failures = 0
            entry.failures += 1
            entry.quiet_from = now
            beyond = entry.failures - SOURCE_FREE_FAILURES
            if beyond >= 0:
                delay = min(2 ** min(beyond, 20), SOURCE_MAX_DELAY_SECONDS)
                entry.blocked_until = entry.quiet_from = now + delay
            pair = self._touch(self._pairs, (source, _pair_name(name)), _Pair)
            if pair.failures and now - pair.last > SOURCE_WINDOW_SECONDS:
                pair.failures = 0
            pair.failures += 1
            pair.last = now
            if pair.failures >= MAX_FAILED_LOGINS:
                pair.failures = 0
                pair.locked_until = now + LOCKOUT_MINUTES * 60

    def succeeded(self, source: str, name: str) -> None:
        """The pair starts afresh; the source's count does not (one valid account of its
        own must not let a source reset its count against the others)."""
        with self._lock:
            self._pairs.pop((source, _pair_name(name)), None)


def _pair_name(name: str) -> str:
    """The account part of a pair's key: a name no viewer can have is kept as "" (the
    form's field can be megabytes long; the table must stay small)."""
    return name if NAME.match(name) else ""


def add_viewer(db: Database, name: str, password: str | None = None,
               role: str = "viewer") -> str:
    """Create ``name`` (or give it a new password and role and end its sessions); returns
    the password, generated unless given. ``role``: one of ``ROLES``."""
    if not NAME.match(name):
        raise ValueError("El nombre va en minúsculas, cifras, punto, guion o guion bajo "
                         "(2 a 40 caracteres).")
    if role not in ROLES:
        raise ValueError(f"El rol es uno de: {', '.join(ROLES)}.")
    if password is None:
        password = secrets.token_urlsafe(PASSWORD_BYTES)
    elif len(password) < MIN_PASSWORD:
        raise ValueError(f"La contraseña necesita al menos {MIN_PASSWORD} caracteres.")
    hashed = generate_password_hash(password, method=PASSWORD_HASH_METHOD)
    with db.transaction() as tx:
        tx.execute("INSERT INTO viewers(name, password_hash, created_at, role) "
                   "VALUES (?,?,?,?) "
                   "ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, "
                   "role = excluded.role, disabled_at = NULL, failed_logins = 0, "
                   "locked_until = NULL", (name, hashed, now_iso(), role))
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
    return db.conn().query("SELECT name, role, created_at, disabled_at, locked_until "
                           "FROM viewers ORDER BY name")


def role_of(db: Database, name: str) -> str | None:
    rows = db.conn().query("SELECT role FROM viewers WHERE name = ?", (name,))
    return rows[0]["role"] if rows else None


def login(db: Database, name: str, password: str, now: datetime | None = None, *,
          refuse: bool = False) -> LoginResult:
    """Check a viewer's password; on success a new session token, returned once.

    No lockout here (``guarded_login`` has it). ``refuse``: check the password all the
    same, so a refused name costs what any other does, but open no session."""
    now = now or datetime.now(UTC)
    rows = db.conn().query("SELECT * FROM viewers WHERE name = ?", (name,))
    row = rows[0] if rows else None
    ok = check_password_hash(row["password_hash"] if row else _dummy_hash(), password)
    if row is None or row["disabled_at"] or not ok or refuse:
        return LoginResult("bad")
    with db.transaction() as tx:
        token = secrets.token_urlsafe(32)
        if not tx.query("SELECT name FROM viewers WHERE name = ? AND disabled_at IS NULL",
                        (name,)):
            return LoginResult("bad")  # disabled since the read above
        tx.execute("DELETE FROM viewer_sessions WHERE expires_at < ?", (iso(now),))
        tx.execute("INSERT INTO viewer_sessions(token_hash, viewer, created_at, expires_at) "
                   "VALUES (?,?,?,?)", (digest(token), name, iso(now),
                                        iso(now + timedelta(hours=SESSION_HOURS))))
    return LoginResult("ok", token)


def guarded_login(db: Database, guard: LoginGuard, source: str, name: str,
                  password: str) -> LoginResult:
    """``login`` behind the guard: a throttled source is refused before any name is looked
    at; a pair the source has locked is refused like a wrong password (after the same
    password check); every refusal counts against the source and the pair."""
    wait = guard.retry_after(source)
    if wait:
        return LoginResult("throttled", retry_after=wait)
    result = login(db, name, password, refuse=guard.locked(source, name))
    if result.token is None:
        guard.failed(source, name)
    else:
        guard.succeeded(source, name)
    return result


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
