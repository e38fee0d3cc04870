"""``mac-turnos central ...``: run the receiver, register centres and dashboard viewers,
publish the catalogue, import citas and erase their personal data."""

from __future__ import annotations

import json
import logging
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click
from waitress.server import create_server

from config.annex import national_document
from sync.central import catalogue, citas, citas_csv
from sync.central.app import create_central_app
from sync.central.db import Database
from sync.central.ingest import add_centre
from sync.central.viewers import ROLES, add_viewer, disable_viewer, list_viewers

DB_ENV = "MAC_TURNOS_CENTRAL_DB"
READ_DB_ENV = "MAC_TURNOS_CENTRAL_READ_DB"
TRUSTED_FRONT = "127.0.0.1"
"""The only peer whose ``X-Forwarded-For`` the central believes (``--behind-front``): nginx
on the same machine (systemd/nginx-central.conf)."""
RETENTION_ENV = "MAC_TURNOS_CITAS_RETENTION_DAYS"
DEFAULT_DB = "sqlite:///" + str(Path("~/.local/state/mac-turnos/central/central.sqlite")
                                .expanduser())
log = logging.getLogger("sync.central")
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


def _db(url: str) -> Database:
    try:
        db = Database(url)
        db.migrate()  # a central that held events before the aggregates is filled by it
        return db
    except Exception as exc:  # a wrong URL or an unreachable server: say so plainly
        click.echo(f"No se puede usar la base de datos {url.split('@')[-1]}: {exc}", err=True)
        sys.exit(1)


def _read_db(url: str) -> Database:
    """The replica the read-only pages read: opened as it is (a hot standby refuses every
    write, so it is never migrated; its primary's migrations reach it by replication)."""
    try:
        db = Database(url)
        db.conn().query("SELECT 1 AS ok")
        return db
    except Exception as exc:
        click.echo(f"No se puede usar la base de datos de lectura {url.split('@')[-1]}: {exc}",
                   err=True)
        sys.exit(1)


def _on_db(url: str, action: Callable[[Database], T]) -> T:
    """``action`` on the database at ``url``, closed afterwards; a refusal (ValueError) is
    printed and ends the command with status 2."""
    db = _db(url)
    try:
        return action(db)
    except ValueError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)
    finally:
        db.close()


def _db_option(fn: F) -> F:
    return click.option("--db", "url", envvar=DB_ENV, default=DEFAULT_DB, show_default=True,
                        help="sqlite:///ruta o postgresql://usuario@host/base "
                             "(env MAC_TURNOS_CENTRAL_DB).")(fn)


def _retention_option(*names: str) -> Callable[[F], F]:
    """Days the citizens' data of a cita is kept after its day (the setting is one for
    ``serve``, ``citas import`` and ``citas forget``: its environment variable)."""
    def apply(fn: F) -> F:
        return click.option(*names, "retention_days", envvar=RETENTION_ENV,
                            type=click.IntRange(0, 3650),
                            default=citas.DEFAULT_RETENTION_DAYS, show_default=True,
                            help="Días que se guardan el documento y el nombre de una cita "
                                 f"después de su día (env {RETENTION_ENV}).")(fn)
    return apply


@click.group()
def central() -> None:
    """The central office's receiver and national dashboard."""


@central.command()
@_db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8090, show_default=True)
@click.option("--threads", type=int, default=16, show_default=True)
@_retention_option("--citas-retention-days")
@click.option("--read-db", "read_url", envvar=READ_DB_ENV, default=None,
              help="postgresql://… de una réplica (streaming) de --db: el tablero, los CSV, "
                   "el informe por entidad y las páginas de citas y catálogo leen de ella; "
                   f"los envíos, los ingresos y toda escritura, de --db (env {READ_DB_ENV}).")
@click.option("--behind-front", is_flag=True,
              help="El central está detrás de nginx en este equipo (systemd/install.sh "
                   f"--central): cree la dirección del cliente que nginx pasa en "
                   f"X-Forwarded-For, solo si la solicitud viene de {TRUSTED_FRONT}.")
def serve(url: str, host: str, port: int, threads: int, retention_days: int,
          read_url: str | None, behind_front: bool) -> None:
    """Run the receiver (put it behind an HTTPS reverse proxy in production)."""
    db = _db(url)
    read_db = _read_db(read_url) if read_url else None
    app = create_central_app(db, citas_retention_days=retention_days, read_db=read_db)
    # Behind the front the client's address (login throttling counts failures by it) is the
    # one nginx passes on, believed from nginx's own address only; without the flag no
    # forwarding header is believed.
    proxy: dict[str, Any] = ({"trusted_proxy": TRUSTED_FRONT, "trusted_proxy_count": 1,
                              "trusted_proxy_headers": {"x-forwarded-for"}}
                             if behind_front else {})
    server = create_server(app, host=host, port=port, threads=threads,
                           ident="mac-turnos-central", clear_untrusted_proxy_headers=True,
                           **proxy)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    reading = f", reads from {read_db.kind} {read_url.split('@')[-1]}" if (
        read_db is not None and read_url) else ""
    click.echo(f"central listening on http://{host}:{server.effective_port} "  # type: ignore[union-attr]
               f"({db.kind}{reading})")
    try:
        server.run()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        server.close()
        db.close()
        if read_db is not None:
            read_db.close()


@central.group()
def centre() -> None:
    """Centres allowed to send."""


@centre.command("add")
@click.argument("code")
@click.option("--name", default="", help="Name shown on the dashboard.")
@_db_option
def centre_add(code: str, name: str, url: str) -> None:
    """Register CODE (or give it a new token) and print its token once."""
    click.echo(_on_db(url, lambda db: add_centre(db, code, name)))


@central.group()
def viewer() -> None:
    """People allowed to see the dashboard and its CSV."""


@viewer.command("add")
@click.argument("name")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input instead of generating one.")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True,
              help="editor: may also publish versions of the national catalogue.")
@_db_option
def viewer_add(name: str, password_stdin: bool, role: str, url: str) -> None:
    """Create NAME (or give it a new password and role, ending its sessions); prints the
    password once when it is generated."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    made = _on_db(url, lambda db: add_viewer(db, name, password, role))
    click.echo(f"Usuario {name} listo." if password_stdin else made)


@viewer.command("disable")
@click.argument("name")
@_db_option
def viewer_disable(name: str, url: str) -> None:
    """Refuse NAME from now on and end its open sessions."""
    _on_db(url, lambda db: disable_viewer(db, name))
    click.echo(f"Usuario {name} desactivado.")


@viewer.command("list")
@_db_option
def viewer_list(url: str) -> None:
    """The viewers, with when each was created and whether it is disabled or locked."""
    for row in _on_db(url, list_viewers):
        state = "desactivado" if row["disabled_at"] else (
            "bloqueado hasta " + row["locked_until"][:19] if row["locked_until"] else "activo")
        click.echo(f"{row['name']}\t{row['role']}\t{row['created_at'][:19]}\t{state}")


@central.group("catalogue")
def catalogue_group() -> None:
    """The national catalogue that the centres' boxes run (numbered versions)."""


@catalogue_group.command("publish")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", required=True, help="Who publishes it (kept with the version).")
@click.option("--note", default="", help="What changed, for the list of versions.")
@_db_option
def catalogue_publish(source: Path, by: str, note: str, url: str) -> None:
    """Publish SOURCE as the newest version: a JSON catalogue, or a centre's TOML file
    whose entities, queues, services, priorities and ANS targets become the version."""
    try:
        document = catalogue.read_source(source)
    except ValueError as exc:
        click.echo(f"No se puede leer {source}: {exc}", err=True)
        sys.exit(2)
    try:
        number = _on_db(url, lambda db: catalogue.publish(db, document, by, note))
    except catalogue.Invalid as exc:
        click.echo("El catálogo no se publicó:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)
    click.echo(f"Versión {number} publicada; los centros la tomarán en su próximo envío.")


@catalogue_group.command("list")
@_db_option
def catalogue_list(url: str) -> None:
    """The versions, newest first."""
    for row in _on_db(url, catalogue.versions):
        click.echo(f"v{row['number']}\t{row['created_at'][:19]}\t{row['created_by']}\t"
                   f"{row['note']}")


@catalogue_group.command("annex")
def catalogue_annex() -> None:
    """Print, as JSON, a first national catalogue built from the PCM's public lists (every
    entity and service of Anexo 3), to edit and then publish."""
    click.echo(json.dumps(national_document(), ensure_ascii=False, indent=1))


@central.group("citas")
def citas_group() -> None:
    """Citas booked at the central, sent down to each centre's box (docs/citas.md)."""


@citas_group.command("import")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--by", required=True, help="Who imports it (kept with each cita changed).")
@_retention_option("--citas-retention-days")
@_db_option
def citas_import(source: Path, by: str, retention_days: int, url: str) -> None:
    """Import SOURCE, a booking system's CSV (centro, servicio, fecha, hora,
    tipo_documento, numero_documento, nombre, codigo_reserva[, estado]): all rows or none."""
    def run(db: Database) -> dict[str, int] | citas.Refused:
        try:
            return citas_csv.import_text(db, citas_csv.decode(source.read_bytes()), by,
                                         retention_days)
        except citas.Refused as exc:  # every bad row, not only the first ones
            return exc

    counts = _on_db(url, run)
    if isinstance(counts, citas.Refused):
        click.echo("No se importó ninguna cita:", err=True)
        for problem in counts.problems or [counts.message]:
            click.echo(f"  {problem}", err=True)
        sys.exit(2)
    click.echo(f"{counts['rows']} citas leídas: {counts['new']} nuevas, "
               f"{counts['changed']} cambiadas, {counts['cancelled']} canceladas, "
               f"{counts['unchanged']} sin cambios.")


@citas_group.command("forget")
@_retention_option("--days")
@_db_option
def citas_forget(retention_days: int, url: str) -> None:
    """Erase the document and name of the citas whose day is older than the days given."""
    count = _on_db(url, lambda db: citas.forget(db, retention_days, citas.today()))
    click.echo(f"Datos personales borrados de {count} citas.")
