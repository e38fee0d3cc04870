"""A throwaway PostgreSQL cluster for the central receiver's tests and benchmarks.

``initdb`` in a temporary folder, ``pg_ctl start`` on a free port of 127.0.0.1 (and a unix
socket in the same folder), a fresh database per test, ``pg_ctl stop`` at the end. As root
the server runs as the ``postgres`` user (PostgreSQL refuses to run as root) through
``runuser``, with the folder handed to that user.
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

    def _run(self, *args: str) -> None:
        cmd = list(args)
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> PgCluster:
        if self.as_root:
            info = pwd.getpwnam("postgres")
            os.chown(self.dir, info.pw_uid, info.pw_gid)
        data = self.dir / "data"
        self._run(str(self.bin / "initdb"), "-D", str(data), "-A", "trust", "-U", self.user,
                  "-E", "UTF8", "--locale=C", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} "
                   f"-c unix_socket_directories={self.dir} -c max_connections=200")
        self._run(str(self.bin / "pg_ctl"), "-D", str(data), "-o", options, "-l",
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

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate",
                      "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)
