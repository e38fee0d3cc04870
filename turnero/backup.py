"""Backups of the database with SQLite's online backup API, and restoring one.

A backup is one step of ``Connection.backup`` (a consistent snapshot even while tickets are
being issued: every transaction committed before it started is in it), written under a
temporary name, checked with ``PRAGMA integrity_check`` and only then given its final name,
so a file with the final name is always a good copy.

Only one process may own a database: the server holds an exclusive ``flock`` on a lock file
beside it for as long as it runs (the kernel drops it if the process dies), and a restore
takes the same lock, so it refuses while a server is running.

Backups, like the database, are for the server's account only: files 0600 in a folder 0700
(an existing folder open to others is tightened, with a line in the log), whatever the
umask of the process that takes them.

A backup also carries the secrets the data depends on (``secrets``: the uplink's
pseudonymization key), in a table of the copy only: a box restored on a new SD card must
pseudonymize as before, or the central could no longer compare its asesores across the
restore. Restoring puts each secret back where the box now keeps it (a different one there
is kept aside with the replaced database) and drops the table from the live database.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO

from config import private_files

PREFIX = "mac-turnos-"
SUFFIX = ".sqlite"
log = logging.getLogger(__name__)


class BackupError(Exception):
    """A backup or restore could not be done; the message says why, for a person."""


class ServerLock:
    """The exclusive lock of a database's owner (see the module's docstring)."""

    def __init__(self, db_path: Path) -> None:
        self.path = db_path.with_name(db_path.name + ".lock")
        self._file: IO[str] | None = None

    def acquire(self) -> bool:
        """Take the lock without waiting; False if another process holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, private_files.FILE_MODE)
        handle = os.fdopen(fd, "r+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle
        return True

    def release(self) -> None:
        if self._file is not None:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def integrity(path: Path) -> str:
    """``ok``, or what SQLite found wrong (also for a file that is not a database)."""
    try:
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            conn.execute("SELECT COUNT(*) FROM events").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    return "; ".join(str(r[0]) for r in rows)


SECRETS_TABLE = "backup_secrets"


def take(db_path: Path, folder: Path, when: datetime, centre: str,
         secrets: dict[str, Path] | None = None) -> Path:
    """Copy the live database into ``folder``, with the ``secrets`` files that exist (name →
    file); returns the checked copy's path."""
    private_files.create_folder(folder)
    private_files.tighten_all([folder], log, "Backup folder")
    final = folder / f"{PREFIX}{centre}-{when:%Y%m%d-%H%M%S}{SUFFIX}"
    partial = final.with_name(final.name + ".partial")
    partial.unlink(missing_ok=True)
    private_files.create_file(partial)  # 0600 before SQLite writes the copy into it
    source = sqlite3.connect(db_path, timeout=30)
    target = sqlite3.connect(partial)
    try:
        source.backup(target)  # pages=-1: one step, one consistent snapshot
        _keep_secrets(target, secrets or {})
        target.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file
    finally:
        target.close()
        source.close()
    found = integrity(partial)
    if found != "ok":
        partial.unlink(missing_ok=True)
        raise BackupError(f"La copia no pasó la verificación de integridad: {found}")
    private_files.fsync_path(partial)
    partial.replace(final)
    private_files.fsync_path(folder)
    return final


def listing(folder: Path) -> list[Path]:
    """Finished backups in ``folder``, oldest first."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"{PREFIX}*{SUFFIX}") if p.is_file())


def taken_at(path: Path) -> datetime | None:
    """The moment in a backup's name (local time of the box when it was taken)."""
    try:
        return datetime.strptime(path.name[-len("20260101-000000" + SUFFIX):-len(SUFFIX)],
                                 "%Y%m%d-%H%M%S")
    except ValueError:
        return None


def prune(folder: Path, keep_days: int, now: datetime) -> list[Path]:
    """Delete backups taken more than ``keep_days`` before ``now`` (naive local time, as in
    the names), always keeping the newest."""
    found = [p for p in listing(folder) if taken_at(p) is not None]
    found.sort(key=lambda p: taken_at(p) or now)
    removed = []
    for path in found[:-1]:
        moment = taken_at(path)
        if moment is not None and moment < now - timedelta(days=keep_days):
            path.unlink()
            removed.append(path)
    return removed


def _keep_secrets(target: sqlite3.Connection, secrets: dict[str, Path]) -> None:
    rows = [(name, path.read_text(encoding="utf-8")) for name, path in secrets.items()
            if path.is_file()]
    with target:
        target.execute(f"CREATE TABLE {SECRETS_TABLE}(name TEXT PRIMARY KEY, "
                       "content TEXT NOT NULL)")
        target.executemany(f"INSERT INTO {SECRETS_TABLE}(name, content) VALUES (?, ?)", rows)


def _put_back_secrets(db_path: Path, aside: Path, secrets: dict[str, Path]) -> list[str]:
    """The restored database's secrets written where the box keeps them (0600); returns
    their names. The table leaves the live database."""
    conn = sqlite3.connect(db_path)
    try:
        table = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                             (SECRETS_TABLE,)).fetchone()
        kept = dict(conn.execute(f"SELECT name, content FROM {SECRETS_TABLE}").fetchall()
                    ) if table else {}
        with conn:
            conn.execute(f"DROP TABLE IF EXISTS {SECRETS_TABLE}")
    finally:
        conn.close()
    restored = []
    for name, path in secrets.items():
        if name not in kept:
            continue
        if path.is_file() and path.read_text(encoding="utf-8") != kept[name]:
            shutil.move(path, aside / path.name)
        if not path.is_file():
            private_files.create_file(path)
            path.write_text(kept[name], encoding="utf-8")
            private_files.fsync_path(path)
        restored.append(name)
    return restored


def restore(db_path: Path, backup: Path, when: datetime,
            secrets: dict[str, Path] | None = None) -> Path:
    """Put ``backup`` in place of the database, and the secrets it carries where
    ``secrets`` (name → file) says; returns the folder where the replaced files (database,
    WAL and shared memory, together so the old data can still be opened, and any secret
    that differed) were kept. Refuses while a server holds the database or if the copy is
    not sound."""
    if not backup.is_file():
        raise BackupError(f"No existe el archivo {backup}.")
    found = integrity(backup)
    if found != "ok":
        raise BackupError(f"{backup} no es una copia sana de la base de datos: {found}")
    lock = ServerLock(db_path)
    if not lock.acquire():
        raise BackupError("El servidor está usando la base de datos. Deténgalo primero "
                          "(systemctl stop mac-turnos) y vuelva a intentarlo.")
    try:
        aside = db_path.parent / f"reemplazada-{when:%Y%m%d-%H%M%S}"
        aside.mkdir(mode=private_files.FOLDER_MODE, exist_ok=False)
        for suffix in ("", "-wal", "-shm"):
            current = db_path.with_name(db_path.name + suffix)
            if current.exists():
                shutil.move(current, aside / current.name)
        private_files.create_file(db_path)  # 0600, and so its WAL
        source = sqlite3.connect(backup)
        target = sqlite3.connect(db_path)
        try:
            source.backup(target)
            target.execute("PRAGMA journal_mode=WAL")
        finally:
            target.close()
            source.close()
        private_files.fsync_path(db_path)
        if integrity(db_path) != "ok":  # pragma: no cover - the copy was checked above
            raise BackupError("La base restaurada no pasó la verificación de integridad.")
        _put_back_secrets(db_path, aside, secrets or {})
        return aside
    finally:
        lock.release()
