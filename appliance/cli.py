"""The ``mac-turnos`` command line: check a config, initialise, serve, run the demo centre,
manage staff users and enrolled devices."""

from __future__ import annotations

import json
import logging
import os
import secrets
import sqlite3
import sys
from pathlib import Path
from typing import Any

import click

from appliance import __version__, printing
from appliance.app import create_app
from appliance.docs import reference
from appliance.runtime import STATE_ENV, open_store, state_dir
from appliance.server import serve as run_server
from config import ConfigError, Settings, load_settings
from config.demo import demo_data
from turnero import accounts, day
from turnero.errors import TurneroError
from turnero.store import Store

SERVE_STATE = Path("/var/lib/mac-turnos")
DEMO_STATE = Path("~/.local/state/mac-turnos/demo")
CONFIG_ENV = "MAC_TURNOS_CONFIG"
CHECKS = (printing.problems,)


def _settings(path: str | None) -> Settings:
    """The centre's settings, or exit 2 with every problem named by key and line."""
    try:
        if path is None:
            return load_settings(data=demo_data(), checks=CHECKS)
        return load_settings(path, checks=CHECKS)
    except ConfigError as exc:
        click.echo(f"Configuration error ({len(exc.problems)}):", err=True)
        click.echo(exc.render(), err=True)
        sys.exit(2)


def _open(ctx: click.Context) -> tuple[Settings, Store]:
    """Settings and store, or exit 1 with a plain message if the state cannot be used."""
    config = ctx.obj["config"]
    settings = _settings(config)
    try:
        directory = state_dir(ctx.obj["state_dir"], SERVE_STATE if config else DEMO_STATE)
        return settings, open_store(settings, directory)
    except (OSError, sqlite3.DatabaseError) as exc:
        click.echo(f"No se puede usar el directorio de estado: {exc}. Revise permisos y "
                   f"espacio, o restaure la última copia de la base de datos.", err=True)
        sys.exit(1)


@click.group()
@click.version_option(__version__, prog_name="mac-turnos")
@click.option("--config", "config", envvar=CONFIG_ENV, type=click.Path(dir_okay=False),
              help="Centre TOML file (default: the built-in demo centre).")
@click.option("--state-dir", envvar=STATE_ENV, type=click.Path(file_okay=False),
              help="Where the database lives (env MAC_TURNOS_STATE_DIR).")
@click.pass_context
def main(ctx: click.Context, config: str | None, state_dir: str | None) -> None:
    """Turn appliance for a Centro MAC."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                                                   "%(message)s")
    ctx.obj = {"config": config, "state_dir": state_dir}


@main.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False))
def check_config(file: str) -> None:
    """Validate FILE; exit 2 naming the key and line of each problem."""
    s = _settings(file)
    click.echo(f"{file}: OK — {s.centre.name}: {len(s.entities)} entidades, "
               f"{len(s.queues)} colas, {len(s.services)} servicios, "
               f"{len(s.counters)} módulos.")


@main.command("config-docs")
def config_docs() -> None:
    """Print the configuration reference (Markdown)."""
    click.echo(reference())


@main.command()
@click.option("--admin", default="admin", show_default=True, help="Name of the first admin.")
@click.pass_context
def init(ctx: click.Context, admin: str) -> None:
    """Create the database, load the catalogue and the first admin account."""
    settings, store = _open(ctx)
    secret = secrets.token_urlsafe(9)
    try:
        accounts.create_user(store, admin, "admin", secret, security=settings.security)
        click.echo(f"Usuario {admin} creado. Contraseña (anótela ahora): {secret}")
    except TurneroError as exc:
        click.echo(f"{exc.message}", err=True)
    finally:
        store.close()


def _server_options(fn: Any) -> Any:
    fn = click.option("--state-dir", "local_state", type=click.Path(file_okay=False),
                      help="Where the database lives (also MAC_TURNOS_STATE_DIR).")(fn)
    fn = click.option("--port", type=int, default=None, help="TCP port.")(fn)
    fn = click.option("--host", default=None, help="Listen address.")(fn)
    return fn


@main.command()
@_server_options
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None,
          local_state: str | None) -> None:
    """Run the centre's server."""
    ctx.obj["state_dir"] = local_state or ctx.obj["state_dir"]
    if ctx.obj["config"] is None:
        click.echo("serve needs --config FILE (or MAC_TURNOS_CONFIG); try `mac-turnos demo`.",
                   err=True)
        sys.exit(2)
    settings, store = _open(ctx)
    app = create_app(settings, store)
    run_server(app, store, host or settings.server.host, port or settings.server.port,
               settings.server.threads)


DEMO_USERS = (("admin", "admin", None), ("supervisor", "supervisor", None),
              ("orientador", "receptionist", None), ("asesor.reniec", "agent", "RENIEC"),
              ("asesor.bn", "agent", "BN"), ("asesor.sunat", "agent", "SUNAT"),
              ("asesor.migraciones", "agent", "MIGRACIONES"))


def _demo_credentials(settings: Settings, store: Store, directory: Path) -> dict[str, Any]:
    """Create the demo users and devices once; their secrets live in the demo state dir."""
    path = directory / "demo-credentials.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    creds: dict[str, Any] = {"users": {}, "devices": {}}
    for name, role, entity in DEMO_USERS:
        pin = f"{secrets.randbelow(10**6):06d}"
        accounts.create_user(store, name, role, pin, security=settings.security, entity=entity)
        creds["users"][name] = {"role": role, "entity": entity, "pin": pin}
    for name, role in (("kiosk-demo", "kiosk"), ("tv-demo", "display")):
        creds["devices"][name] = {"role": role, "token": accounts.enrol_device(store, name, role)}
    path.write_text(json.dumps(creds, indent=2), encoding="utf-8")
    os.chmod(path, 0o600)
    return creds


@main.command()
@_server_options
@click.pass_context
def demo(ctx: click.Context, host: str | None, port: int | None,
         local_state: str | None) -> None:
    """Run the demo centre (MAC Lima Norte, real catalogue) and print how to use it."""
    ctx.obj["config"] = None
    ctx.obj["state_dir"] = local_state or ctx.obj["state_dir"]
    settings, store = _open(ctx)
    directory = store.path.parent
    creds = _demo_credentials(settings, store, directory)
    try:
        day.open_day(store, actor="demo")
    except TurneroError as exc:
        if exc.code != "day_already_open":
            click.echo(exc.message, err=True)
    app = create_app(settings, store)
    host = host or "127.0.0.1"

    def announce(server: Any) -> None:
        base = f"http://{host}:{server.effective_port}"
        click.echo(f"\nmac-turnos {__version__} — {settings.centre.name}")
        click.echo(f"Estado en {directory}")
        for title, path in (("Salud", "/api/v1/health"), ("API (OpenAPI)",
                                                          "/api/v1/openapi.json"),
                            ("Eventos en vivo", "/api/v1/stream"),
                            *app.extensions["mac_turnos.pages"].items()):
            if path == "/kiosk":  # the link enrols this browser as the demo kiosk
                path += f"#device={creds['devices']['kiosk-demo']['token']}"
            click.echo(f"  {title:<18} {base}{path}")
        click.echo("Usuarios de demostración (usuario / PIN):")
        for name, info in creds["users"].items():
            click.echo(f"  {name:<20} {info['pin']}  ({info['role']}"
                       f"{', ' + info['entity'] if info['entity'] else ''})")
        click.echo("Dispositivos enrolados (Authorization: Bearer TOKEN):")
        for name, info in creds["devices"].items():
            click.echo(f"  {name:<20} {info['token']}  ({info['role']})")
        click.echo("")

    run_server(app, store, host, port if port is not None else 8080,
               settings.server.threads, on_ready=announce)


@main.group()
def user() -> None:
    """Staff accounts."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True)
@click.option("--entity", help="Entity code (asesores).")
@click.option("--name", "full_name", default="")
@click.option("--pin", help="PIN or password (default: generated and printed).")
@click.pass_context
def user_add(ctx: click.Context, username: str, role: str, entity: str | None,
             full_name: str, pin: str | None) -> None:
    settings, store = _open(ctx)
    secret = pin or f"{secrets.randbelow(10**6):06d}"
    _run(lambda: accounts.create_user(store, username, role, secret,
                                      security=settings.security, entity=entity,
                                      full_name=full_name), store)
    click.echo(f"{username} ({role}) creado. PIN: {secret}")


@user.command("pin")
@click.argument("username")
@click.option("--pin", help="New PIN (default: generated and printed).")
@click.pass_context
def user_pin(ctx: click.Context, username: str, pin: str | None) -> None:
    """Reset a PIN (also unlocks the account and ends its sessions)."""
    settings, store = _open(ctx)
    secret = pin or f"{secrets.randbelow(10**6):06d}"
    _run(lambda: accounts.set_secret(store, username, secret, security=settings.security),
         store)
    click.echo(f"Nuevo PIN de {username}: {secret}")


@user.command("disable")
@click.argument("username")
@click.pass_context
def user_disable(ctx: click.Context, username: str) -> None:
    _, store = _open(ctx)
    _run(lambda: accounts.set_disabled(store, username, True), store)
    click.echo(f"{username} deshabilitado.")


@user.command("list")
@click.pass_context
def user_list(ctx: click.Context) -> None:
    _, store = _open(ctx)
    for u in _run(lambda: accounts.list_users(store), store):
        state = "deshabilitado" if u["disabled"] else "activo"
        click.echo(f"{u['username']:<24} {u['role']:<13} {u['entity'] or '-':<12} {state}")


@main.group()
def device() -> None:
    """Enrolled kiosks and TVs."""


@device.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(accounts.DEVICE_ROLES), required=True)
@click.pass_context
def device_add(ctx: click.Context, name: str, role: str) -> None:
    _, store = _open(ctx)
    token = _run(lambda: accounts.enrol_device(store, name, role), store)
    click.echo(f"{name} ({role}) enrolado. Token (se muestra una sola vez): {token}")


@device.command("revoke")
@click.argument("name")
@click.pass_context
def device_revoke(ctx: click.Context, name: str) -> None:
    _, store = _open(ctx)
    _run(lambda: accounts.revoke_device(store, name), store)
    click.echo(f"{name} revocado.")


@device.command("list")
@click.pass_context
def device_list(ctx: click.Context) -> None:
    _, store = _open(ctx)
    for d in _run(lambda: accounts.list_devices(store), store):
        state = f"revocado {d['revoked_at']}" if d["revoked_at"] else "activo"
        click.echo(f"{d['name']:<24} {d['role']:<8} {state}")


def _run(fn: Any, store: Store) -> Any:
    """Run an engine call for the CLI: a clear message and exit 1 on a refused change."""
    try:
        return fn()
    except TurneroError as exc:
        click.echo(exc.message, err=True)
        sys.exit(1)
    finally:
        store.close()
