"""Files and folders that only their owner may open: the databases (the box's and the
central's), their WAL and shared memory, the backups, the state folder and the secrets made
there once (:func:`create_once`).

A process started by hand (not by systemd, whose unit sets ``UMask``) would otherwise create
them readable by every account of the machine. SQLite creates a database's ``-wal``,
``-shm`` and ``-journal`` with the mode of the database file itself, so creating that file
with 0600 before SQLite opens it keeps them all private. What was created open before is
tightened (the group's and others' permissions taken off) the next time it is opened.

It lives in ``config`` because that is the one package that both the box (``turnero``,
``appliance``) and the central receiver (``sync.central``) may import.
"""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700
OTHERS = 0o077  # the group's and others' permission bits


def create_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 if it does not exist (an existing file is left as
    it is: see :func:`tighten`)."""
    os.close(os.open(path, os.O_RDONLY | os.O_CREAT, FILE_MODE))


def create_once(path: Path, make: Callable[[], bytes]) -> bytes:
    """The content of ``path``, made the first time with ``make()``, 0600: a secret created
    once (the box's key, the pseudonymization key) by whichever process comes first.

    The file appears whole or not at all: ``make()``'s bytes go to a temporary file in the
    same folder, are synced to disk, and that file is linked into place, which fails if
    ``path`` exists. So another process never reads it half written, and two processes
    making it at once both end with the one that was linked first (the other's is
    dropped)."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    content = make()
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".new")
    try:
        with os.fdopen(fd, "wb") as out:  # mkstemp: mode 0600, whatever the umask
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_bytes()
    finally:
        os.unlink(temporary)
    fsync_path(path.parent)  # the new name survives a power cut too
    return content


def fsync_path(path: Path) -> None:
    """Flush ``path`` (a file, or a folder's entries) to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_folder(path: Path) -> None:
    """Create ``path`` (and any missing parent) with mode 0700 if it does not exist."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)


def tighten(path: Path) -> int | None:
    """Take the group's and others' permissions off ``path``; returns the mode it had if
    there were any to take off, None if there were none or it does not exist."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None
    if not mode & OTHERS:
        return None
    os.chmod(path, mode & ~OTHERS)
    return mode


def tighten_all(paths: Iterable[Path], log: logging.Logger, what: str) -> None:
    """Tighten each of ``paths`` and say so in one line of ``log`` (another line for those
    that could not be changed, e.g. owned by another account: their use goes on)."""
    tightened, failed = [], []
    for path in paths:
        try:
            was = tighten(path)
        except OSError as exc:
            failed.append(f"{path} ({exc.strerror})")
            continue
        if was is not None:
            tightened.append(f"{path} (was {was:04o})")
    if tightened:
        log.warning("%s open to other accounts, now for the owner only: %s", what,
                    ", ".join(tightened))
    if failed:
        log.warning("%s open to other accounts, and their mode could not be changed: %s",
                    what, ", ".join(failed))


def prepare_database(path: Path, log: logging.Logger) -> None:
    """Before SQLite opens the database ``path``: create it 0600 if it is new (its ``-wal``
    and ``-shm`` will have that mode too), and tighten it, its WAL and its shared memory if
    an earlier start left them open to others."""
    create_file(path)
    tighten_all([path, *(path.with_name(path.name + end) for end in ("-wal", "-shm"))],
                log, "Database files")
