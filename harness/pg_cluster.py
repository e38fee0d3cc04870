"""A throwaway PostgreSQL cluster for the central receiver's tests and benchmarks.

``initdb`` in a temporary folder, ``pg_ctl start`` on a free port of 127.0.0.1 (and a unix
socket in the same folder), a fresh database per test, ``pg_ctl stop`` at the end. As root
the server runs as the ``postgres`` user (PostgreSQL refuses to run as root) through
``runuser``, with the folder handed to that user.

``replica()`` makes a streaming replica (hot standby) of the cluster: ``pg_basebackup -R``
into a data folder of its own, started on another port. initdb's defaults are what it needs
on the primary (``wal_level = replica``, ``max_wal_senders = 10``, and with ``-A trust`` the
``replication`` lines of pg_hba.conf for local and 127.0.0.1 connections).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

from harness.live_server import free_port


def bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    return Path(found[-1]).parent if found else None


class PgCluster:
    def __init__(self) -> None:
        found = bin_dir()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed (scripts/setup --test installs it)")
        self.bin = found
        self.dir = Path(tempfile.mkdtemp(prefix="mac-turnos-pg-"))
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.user = "postgres"
        self.replicas: list[PgReplica] = []

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def _options(self, port: int) -> str:
        return (f"-c listen_addresses=127.0.0.1 -p {port} "
                f"-c unix_socket_directories={self.dir} -c max_connections=200")

    def start(self) -> PgCluster:
        if self.as_root:
            info = pwd.getpwnam("postgres")
            os.chown(self.dir, info.pw_uid, info.pw_gid)
        data = self.dir / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", self.user,
                  "-E", "UTF8", "--locale=C", "--no-sync")
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", self._options(self.port),
                  "-l",
                  str(self.dir / "server.log"), "-w", "-t", "60", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def copy_database(self, url: str) -> str:
        """A copy of the database at ``url`` as it is now (PostgreSQL's template copy: no one
        may be connected to it meanwhile), as a backup would keep it; returns its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:12]
        source = url.rsplit("/", 1)[1]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
        return self.url(name)

    def current_lsn(self) -> str:
        """Where the primary's write-ahead log is now (``pg_current_wal_lsn()``)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_lsn()::text").fetchone()
            assert row is not None
            return str(row[0])

    def replica(self) -> PgReplica:
        """A hot standby of this cluster, streaming from it: ``pg_basebackup -R`` (which
        writes ``primary_conninfo`` and ``standby.signal``) into a new data folder, started
        on a free port. Stopped by :meth:`PgReplica.stop`, or with the cluster."""
        found = PgReplica(self, self.dir / f"replica-{len(self.replicas) + 1}", free_port())
        self._run(str(self.bin / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(self.port),
                  "-U", self.user, "-D", str(found.data), "-R", "-X", "stream",
                  "-c", "fast", "--no-sync")
        self.replicas.append(found)
        self._run(str(self.bin / "pg_ctl"), "-D", str(found.data), "-o",
                  self._options(found.port) + " -c hot_standby=on", "-l",
                  str(found.data.parent / f"{found.data.name}.log"), "-w", "-t", "60", "start")
        return found

    def stop(self) -> None:
        for replica in list(self.replicas):
            replica.stop()
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate",
                      "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


class PgReplica:
    """A streaming replica of a :class:`PgCluster`: the same databases, read-only, replaying
    the primary's log."""

    def __init__(self, primary: PgCluster, data: Path, port: int) -> None:
        self.primary, self.data, self.port = primary, data, port

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.primary.user}@127.0.0.1:{self.port}/{database}"

    def url_of(self, primary_url: str) -> str:
        """The URL of the same database on this replica."""
        return self.url(primary_url.rsplit("/", 1)[1])

    def replayed(self, lsn: str) -> bool:
        """Whether this replica has replayed the primary's log up to ``lsn``."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                               (lsn,)).fetchone()
            return bool(row and row[0])

    def pause(self, paused: bool = True) -> None:
        """Stop replaying the primary's log (a replica falling behind), or go on."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute("SELECT pg_wal_replay_pause()" if paused
                         else "SELECT pg_wal_replay_resume()")

    def paused(self) -> bool:
        """Whether replaying is paused (not only asked to pause)."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            row = conn.execute("SELECT pg_get_wal_replay_pause_state()").fetchone()
            return bool(row and row[0] == "paused")

    def stop(self) -> None:
        if self not in self.primary.replicas:
            return
        self.primary.replicas.remove(self)
        try:
            self.primary._run(str(self.primary.bin / "pg_ctl"), "-D", str(self.data), "-m",
                              "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.data, ignore_errors=True)
