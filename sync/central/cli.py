"""``mac-turnos central ...``: run the receiver and register centres."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from types import FrameType

import click
from waitress.server import create_server

from sync.central.app import create_central_app
from sync.central.db import Database
from sync.central.ingest import add_centre

DB_ENV = "MAC_TURNOS_CENTRAL_DB"
DEFAULT_DB = "sqlite:///" + str(Path("~/.local/state/mac-turnos/central/central.sqlite")
                                .expanduser())
log = logging.getLogger("sync.central")


def _db(url: str) -> Database:
    try:
        db = Database(url)
        db.migrate()
        return db
    except Exception as exc:  # a wrong URL or an unreachable server: say so plainly
        click.echo(f"No se puede usar la base de datos {url.split('@')[-1]}: {exc}", err=True)
        sys.exit(1)


def _db_option(fn: object) -> object:
    return click.option("--db", "url", envvar=DB_ENV, default=DEFAULT_DB, show_default=True,
                        help="sqlite:///ruta o postgresql://usuario@host/base "
                             "(env MAC_TURNOS_CENTRAL_DB).")(fn)


@click.group()
def central() -> None:
    """The central office's receiver and national dashboard."""


@central.command()
@_db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8090, show_default=True)
@click.option("--threads", type=int, default=16, show_default=True)
def serve(url: str, host: str, port: int, threads: int) -> None:
    """Run the receiver (put it behind an HTTPS reverse proxy in production)."""
    db = _db(url)
    server = create_server(create_central_app(db), host=host, port=port, threads=threads,
                           ident="mac-turnos-central", clear_untrusted_proxy_headers=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    click.echo(f"central listening on http://{host}:{server.effective_port} "  # type: ignore[union-attr]
               f"({db.kind})")
    try:
        server.run()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.close()
        db.close()


@central.group()
def centre() -> None:
    """Centres allowed to send."""


@centre.command("add")
@click.argument("code")
@click.option("--name", default="", help="Name shown on the dashboard.")
@_db_option
def centre_add(code: str, name: str, url: str) -> None:
    """Register CODE (or give it a new token) and print its token once."""
    db = _db(url)
    try:
        token = add_centre(db, code, name)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    finally:
        db.close()
    click.echo(token)
