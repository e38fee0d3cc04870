"""The ``mac-turnos`` command line: check a config, initialise, serve, run the demo centre,
manage staff users and enrolled devices."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask

from appliance import (
    __version__,
    advertising,
    demo_citas,
    desk_devices,
    front,
    memory,
    parts,
    printing,
    startup,
)
from appliance.app import create_app
from appliance.docs import reference
from appliance.runtime import DB_NAME, STATE_ENV, open_store, state_dir
from appliance.server import serve as run_server
from config import ConfigError, Settings, load_settings
from config.demo import demo_data
from kiosk import public_address
from sync import catalogue as central_catalogue
from sync import service as uplink_service
from sync.central.cli import central as central_commands
from turnero import accounts, backup, day, events, hours
from turnero.clock import BUILD_DATE, Clock, ScaledClock, is_plausible
from turnero.errors import TurneroError
from turnero.store import Store

SERVE_STATE = Path("/var/lib/mac-turnos")
DEMO_STATE = Path("~/.local/state/mac-turnos/demo")
CONFIG_ENV = "MAC_TURNOS_CONFIG"
CHECKS = (printing.problems, uplink_service.problems, hours.problems, desk_devices.problems)


def _settings(path: str | None, all_day: bool = False) -> Settings:
    """The centre's settings, or exit 2 with every problem named by key and line."""
    try:
        if path is None:
            return load_settings(data=demo_data(all_day), checks=CHECKS)
        return load_settings(path, checks=CHECKS)
    except ConfigError as exc:
        click.echo(f"Configuration error ({len(exc.problems)}):", err=True)
        click.echo(exc.render(), err=True)
        sys.exit(2)


def _open(ctx: click.Context, clock: Clock | None = None) -> tuple[Settings, Store]:
    """Settings and store, or exit 1 with a plain message if the state cannot be used."""
    config = ctx.obj["config"]
    settings = _settings(config, ctx.obj.get("demo_all_day", False))
    try:
        directory = state_dir(ctx.obj["state_dir"], SERVE_STATE if config else DEMO_STATE)
        store = open_store(settings, directory, clock)
        return central_catalogue.load(store, settings), store
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
    startup.configure_logging()
    ctx.obj = {"config": config, "state_dir": state_dir}


@main.command("check-config")
@click.argument("file", type=click.Path(dir_okay=False))
def check_config(file: str) -> None:
    """Validate FILE; exit 2 naming the key and line of each problem. Also say which
    address the tickets' QR codes carry, or warn when phones could not open it."""
    s = _settings(file)
    click.echo(f"{file}: OK — {s.centre.name}: {len(s.entities)} entidades, "
               f"{len(s.queues)} colas, {len(s.services)} servicios, "
               f"{len(s.counters)} módulos.")
    address = public_address.resolve(s.server.public_url, *s.server.lan_endpoint())
    if address.problem:
        click.echo(f"Aviso: {address.problem}", err=True)
    else:
        source = "configurada" if address.source == "config" else "detectada en este equipo"
        click.echo(f"Dirección del código QR de los tickets ({source}): {address.url}")


@main.command("config-docs")
def config_docs() -> None:
    """Print the configuration reference (Markdown)."""
    click.echo(reference())


@main.command("events-docs")
def events_docs() -> None:
    """Print the events reference (Markdown): the content of docs/events.md."""
    click.echo(events.reference(), nl=False)


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
    fn = click.option("--safe-mode", is_flag=True,
                      help="Start without printers, devices, voice, uplink or scheduler.")(fn)
    return fn


def _tv_options(fn: Any) -> Any:
    fn = click.option("--advertise/--no-advertise", default=None,
                      help="Announce the server on the LAN with zeroconf (default on; also "
                           "MAC_TURNOS_ADVERTISE=0).")(fn)
    fn = click.option("--local-speaker", is_flag=True,
                      help="Also play announcements on this box's own audio output.")(fn)
    return fn


def _voice(boot: Any, local_speaker: bool) -> dict[str, Any]:
    """App options of the TVs' voice: espeak-ng unless safe mode says otherwise."""
    return {"SPEECH": "espeak", "LOCAL_PLAYBACK": local_speaker, **boot.app_options()}


def _advertise_when_ready(app: Flask, settings: Settings, host: str, flag: bool | None,
                          then: Any = None) -> Any:
    """An ``on_ready`` for the server: advertise on zeroconf once it listens, withdraw at
    stop, then call ``then``."""
    def ready(server: Any) -> None:
        if advertising.enabled(flag):
            lan_host, lan_port = ((host, int(server.effective_port))
                                  if not settings.server.front_port
                                  else settings.server.lan_endpoint())
            adverts = advertising.Advertising(settings, lan_host, lan_port)
            parts.of(app).on_stop.append(adverts.stop)
            adverts.start()
        if callable(then):
            then(server)
    return ready


@main.command()
@_server_options
@_tv_options
@click.option("--clock-start", metavar="ISO",
              help="Simulations only, never in a centre: the box's clock starts at this "
                   "instant (ISO 8601 with its UTC offset, e.g. 2026-12-01T08:00:00-05:00).")
@click.option("--clock-speed", type=float, metavar="N",
              help="Simulations only, with --clock-start: the clock runs N times faster than "
                   "real time (default 1, at most 3600).")
@click.option("--clock-speed-after", type=float, metavar="N",
              help="Simulations only, with --clock-start and --clock-speed-change: from that "
                   "instant on the clock runs N times faster than real time (at most 3600).")
@click.option("--clock-speed-change", metavar="ISO",
              help="Simulations only: the simulated instant (ISO 8601 with its UTC offset, not "
                   "before --clock-start) when the clock's speed becomes --clock-speed-after.")
@click.option("--front-port", type=click.IntRange(0, 65535), default=None,
              help="Port of the front (nginx) before this server; 0 = none (overrides "
                   "[server] front_port; the installed unit sets it).")
@click.pass_context
def serve(ctx: click.Context, host: str | None, port: int | None,
          local_state: str | None, safe_mode: bool, advertise: bool | None,
          local_speaker: bool, clock_start: str | None, clock_speed: float | None,
          clock_speed_after: float | None, clock_speed_change: str | None,
          front_port: int | None) -> None:
    """Run the centre's server."""
    memory.limit_arenas()  # before any thread exists (see appliance.memory)
    ctx.obj["state_dir"] = local_state or ctx.obj["state_dir"]
    if ctx.obj["config"] is None:
        click.echo("serve needs --config FILE (or MAC_TURNOS_CONFIG); try `mac-turnos demo`.",
                   err=True)
        sys.exit(2)
    _settings(ctx.obj["config"])  # a broken config exits 2 before anything is written
    clock = _simulated_clock(clock_start, clock_speed, clock_speed_change, clock_speed_after)
    boot = _boot(ctx, SERVE_STATE, safe_mode)
    settings, store = _open(ctx, clock)
    settings = _listening(settings, host, port, front_port)
    front.warn_at_start(settings.server)
    app = create_app(boot.app_settings(settings), store, **_voice(boot, local_speaker))
    boot.attach(app)
    host = settings.server.host
    run_server(app, store, host, settings.server.port, settings.server.threads,
               on_ready=_advertise_when_ready(app, settings, host, advertise),
               front_port=settings.server.front_port)


def _listening(settings: Settings, host: str | None, port: int | None,
               front_port: int | None = None) -> Settings:
    """The settings with the address the server really listens on: the app derives the QR's
    public address from it (a server on loopback only must not print a LAN address)."""
    server = dataclasses.replace(
        settings.server, host=host or settings.server.host,
        port=settings.server.port if port is None else port,
        front_port=settings.server.front_port if front_port is None else front_port)
    return dataclasses.replace(settings, server=server)


def _simulated_clock(start: str | None, speed: float | None, change: str | None = None,
                     speed_after: float | None = None) -> ScaledClock | None:
    """The accelerated clock of a simulated day (``bench.day_sim``, ``bench.busiest_day``),
    or None for the real one; exit 2 naming what is wrong with the options."""
    if start is None:
        for given, name in ((speed, "--clock-speed"), (speed_after, "--clock-speed-after"),
                            (change, "--clock-speed-change")):
            if given is not None:
                click.echo(f"{name} needs --clock-start.", err=True)
                sys.exit(2)
        return None
    if (change is None) != (speed_after is None):
        click.echo("--clock-speed-after and --clock-speed-change go together.", err=True)
        sys.exit(2)
    try:
        clock = ScaledClock.parse(start, 1.0 if speed is None else speed, change, speed_after)
    except ValueError as exc:
        names = "--clock-start/--clock-speed" + (
            "" if change is None else "/--clock-speed-change/--clock-speed-after")
        click.echo(f"{names}: {exc}.", err=True)
        sys.exit(2)
    if not is_plausible(clock.start):
        click.echo(f"--clock-start: {start} is before {BUILD_DATE}; no day could be opened.",
                   err=True)
        sys.exit(2)
    then = ("" if clock.change_at is None else
            f", then {clock.speed_after:g}x from {clock.change_at.isoformat()}")
    click.echo(f"SIMULATED CLOCK from {clock.start.isoformat()} at {clock.speed:g}x real "
               f"time{then}: not for a centre.", err=True)
    return clock


def _boot(ctx: click.Context, default: Path, safe_mode: bool) -> startup.Boot:
    """Hold the database for this server and decide on safe mode, or exit 1."""
    try:
        return startup.begin(state_dir(ctx.obj["state_dir"], default), DB_NAME,
                             force_safe=safe_mode)
    except (startup.AlreadyRunning, OSError) as exc:
        click.echo(f"No se puede arrancar: {exc}", err=True)
        sys.exit(1)


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
        pin = accounts.new_pin()
        accounts.create_user(store, name, role, pin, security=settings.security, entity=entity)
        creds["users"][name] = {"role": role, "entity": entity, "pin": pin}
    for name, role in (("kiosk-demo", "kiosk"), ("tv-demo", "display")):
        creds["devices"][name] = {"role": role, "token": accounts.enrol_device(store, name, role)}
    path.write_text(json.dumps(creds, indent=2), encoding="utf-8")
    os.chmod(path, 0o600)
    return creds


ROLE_WORDS = {"admin": "administrador", "supervisor": "supervisor",
              "receptionist": "orientador", "agent": "asesor"}


@main.command()
@_server_options
@_tv_options
@click.option("--centre-hours", is_flag=True,
              help="Keep a real centre's hours (08:30-18:30, Saturdays 09:00-13:30, closed on "
                   "Sundays) instead of being open at every hour, to try the last hour or "
                   "the closing.")
@click.pass_context
def demo(ctx: click.Context, host: str | None, port: int | None,
         local_state: str | None, safe_mode: bool, advertise: bool | None,
         local_speaker: bool, centre_hours: bool) -> None:
    """Run the demo centre (MAC Lima Norte, real catalogue) and print how to use it."""
    memory.limit_arenas()
    ctx.obj["config"] = None
    ctx.obj["demo_all_day"] = not centre_hours
    ctx.obj["state_dir"] = local_state or ctx.obj["state_dir"]
    boot = _boot(ctx, DEMO_STATE, safe_mode)
    settings, store = _open(ctx)
    directory = store.path.parent
    creds = _demo_credentials(settings, store, directory)
    try:
        day.open_day(store, actor="demo")
    except TurneroError as exc:
        if exc.code != "day_already_open":
            click.echo(exc.message, err=True)
    seeded = demo_citas.seed(store)
    settings = _listening(settings, host or "127.0.0.1", port if port is not None else 8080)
    app = create_app(boot.app_settings(settings), store, **_voice(boot, local_speaker))
    boot.attach(app, catch_up=False)  # the demo's day is open already
    host = settings.server.host

    def announce(server: Any) -> None:
        base = f"http://{host}:{server.effective_port}"
        click.echo(f"\nmac-turnos {__version__} — {settings.centre.name}")
        click.echo("Jornada abierta; la demostración atiende a toda hora" if not centre_hours
                   else "Jornada con el horario de un centro: 08:30-18:30, sábados "
                        "09:00-13:30, domingos cerrado")
        click.echo(f"Estado en {directory}")
        for title, path in (("Salud", "/api/v1/health"), ("API (OpenAPI)",
                                                          "/api/v1/openapi.json"),
                            ("Eventos en vivo", "/api/v1/stream"),
                            *parts.of(app).pages.items()):
            if path == "/kiosk":  # the link enrols this browser as the demo kiosk
                path += f"#device={creds['devices']['kiosk-demo']['token']}"
            if path.startswith("/display/"):  # and this one as the demo TV
                path += f"#device={creds['devices']['tv-demo']['token']}"
            click.echo(f"  {title:<18} {base}{path}")
        click.echo("Usuarios de demostración (usuario / PIN):")
        for name, info in creds["users"].items():
            click.echo(f"  {name:<20} {info['pin']}  ({ROLE_WORDS.get(info['role'], info['role'])}"
                       f"{', ' + info['entity'] if info['entity'] else ''})")
        click.echo("Citas de hoy para probar «Tengo cita» en el quiosco:")
        for text in demo_citas.lines(seeded):
            click.echo(text)
        click.echo("Dispositivos enrolados (Authorization: Bearer TOKEN):")
        for name, info in creds["devices"].items():
            click.echo(f"  {name:<20} {info['token']}  ({info['role']})")
        address = public_address.resolve(settings.server.public_url, host,
                                         server.effective_port)
        click.echo(f"Código QR de los tickets: {address.url}" if address.url else
                   f"Aviso: {address.problem} (para probar con un teléfono: --host 0.0.0.0)")
        click.echo("")

    run_server(app, store, host, settings.server.port, settings.server.threads,
               on_ready=_advertise_when_ready(app, settings, host, advertise, announce))


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
    secret = pin or accounts.new_pin()
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
    secret = pin or accounts.new_pin()
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


@main.group()
def uplink() -> None:
    """The uplink to the central office."""


@uplink.command("send")
@click.pass_context
def uplink_send(ctx: click.Context) -> None:
    """Send the pending events now, until none is left (exit 0) or the central fails
    (exit 1, with the error)."""
    settings, store = _open(ctx)
    link = uplink_service.Uplink(store, settings)
    try:
        if not link.enabled:
            click.echo("El envío a la sede central no está habilitado ([uplink] enabled).",
                       err=True)
            sys.exit(2)
        outcome = link.run_round(drain=True)
        s = link.status()
        click.echo(f"local {s['local_seq']}, confirmado {s['acked_seq']}, pendientes "
                   f"{s['backlog']}, rechazados {s['rejected']}")
        if outcome == "idle":
            click.echo("Todo enviado: la sede central confirmó cada evento.")
        else:
            click.echo(f"Envío detenido por un error: {s['last_error'] or outcome}", err=True)
    finally:
        link.stop()
        store.close()
    sys.exit(0 if outcome == "idle" else 1)


main.add_command(central_commands)


def _database(ctx: click.Context) -> tuple[Settings, Path]:
    """The settings and the database file, without opening it (a server may hold it)."""
    config = ctx.obj["config"]
    settings = _settings(config)
    directory = state_dir(ctx.obj["state_dir"], SERVE_STATE if config else DEMO_STATE)
    return settings, directory / DB_NAME


@main.command("backup")
@click.option("--dir", "folder", type=click.Path(file_okay=False),
              help="Folder for the copy (default: [schedule] backup_dir).")
@click.pass_context
def backup_command(ctx: click.Context, folder: str | None) -> None:
    """Copy the database now (safe while the server runs) and check the copy."""
    settings, db = _database(ctx)
    if not db.exists():
        click.echo(f"No hay base de datos en {db}.", err=True)
        sys.exit(1)
    target = Path(folder or settings.schedule.backup_dir or db.parent / "backups")
    now = datetime.now().replace(microsecond=0)
    try:
        path = backup.take(db, target, now, settings.centre.code,
                           uplink_service.secret_files(settings.uplink, db.parent))
    except (backup.BackupError, sqlite3.Error, OSError) as exc:
        click.echo(f"No se pudo copiar: {exc}", err=True)
        sys.exit(1)
    removed = backup.prune(target, settings.schedule.backup_keep_days, now)
    click.echo(f"Copia verificada: {path}" + (f" ({len(removed)} antiguas borradas)"
                                               if removed else ""))


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def restore_command(ctx: click.Context, file: str) -> None:
    """Replace the database by the backup FILE (the server must be stopped)."""
    settings, db = _database(ctx)
    try:
        aside = backup.restore(db, Path(file), datetime.now(),
                               uplink_service.secret_files(settings.uplink, db.parent))
    except (backup.BackupError, sqlite3.Error, OSError) as exc:
        click.echo(f"No se restauró: {exc}", err=True)
        sys.exit(1)
    click.echo(f"Base restaurada desde {file}. La base reemplazada quedó en {aside}.")


@main.command("display-client")
@click.option("--name", required=True, help="Name of this TV, e.g. sala-1 (its page).")
@click.option("--token", envvar="MAC_TURNOS_DEVICE_TOKEN",
              help="The TV's device token (enrols the browser on first start).")
@click.option("--browser", default="/usr/bin/chromium", show_default=True,
              help="Chromium to open in kiosk mode.")
@click.option("--profile", type=click.Path(file_okay=False),
              default="~/.local/state/mac-turnos/tv-browser", show_default=True,
              help="Browser profile folder (keeps the device cookie).")
@click.option("--interface", "interfaces", multiple=True,
              help="Local address to browse on (repeatable; default all).")
@click.option("--server-name", help="Only the server advertised with this instance name.")
@click.option("--timeout", type=float, default=10.0, show_default=True,
              help="Seconds to browse each time.")
@click.option("--interval", type=float, default=30.0, show_default=True,
              help="Seconds between checks that the server is where the page is.")
@click.option("--dry-run", is_flag=True, help="Print the page's address and exit.")
def display_client(name: str, token: str | None, browser: str, profile: str,
                   interfaces: tuple[str, ...], server_name: str | None, timeout: float,
                   interval: float, dry_run: bool) -> None:
    """Find the server on the LAN and keep its display page open in Chromium (kiosk mode)."""
    from display import client as tv_client  # imports zeroconf: slow, and only needed here

    find = tv_client.finder(interfaces or None, server_name)
    if dry_run:
        sys.exit(tv_client.dry_run(name, find=find, timeout=timeout, echo=click.echo))
    sys.exit(tv_client.run(name, find=find, browser=browser, token=token, timeout=timeout,
                        interval=interval, profile=Path(profile).expanduser()))
