#!/bin/bash
# Install mac-turnos on Raspberry Pi OS Bookworm or Debian 12 (arm64, amd64).
#
#   sudo systemd/install.sh [--kiosk-user USER] [--tv-user USER] [--dry-run]
#   sudo systemd/install.sh --no-server --tv-client-user USER   (a TV on its own computer)
#   sudo systemd/install.sh --central [--cert FILE --key FILE]   (the central receiver)
#
# Idempotent: running it again changes only what differs (an edited centre.toml is never
# overwritten). --dry-run prints every step and changes nothing. --root DIR installs into a
# directory instead of / (an image being built, or the tests): no packages, no service
# manager, no ownership changes then; unit links are made with systemctl --root.
set -euo pipefail

PREFIX=/opt/mac-turnos
VENV=$PREFIX/venv
CONF_DIR=/etc/mac-turnos
STATE_DIR=/var/lib/mac-turnos
UNIT_DIR=/etc/systemd/system
SYSUSERS=/usr/lib/sysusers.d/mac-turnos.conf
USER_NAME=mac-turnos
PACKAGES=(python3 python3-venv espeak-ng libusb-1.0-0 curl sqlite3)
# The front door (nginx) receives the LAN on FRONT_PORT and passes requests to the server,
# which listens on APP_ADDRESS only (the server unit says the same: keep them together).
FRONT_PORT=8080
APP_ADDRESS=127.0.0.1:8081
NGINX_DIR=/etc/nginx
NGINX_LOGS=/var/log/nginx
# The central (--central): its own system user and state, nginx on HTTPS before the central
# process on loopback (its unit says the same: keep them together), and its databases in an
# environment file the unit reads.
CENTRAL_USER=mac-turnos-central
CENTRAL_STATE=/var/lib/mac-turnos-central
CENTRAL_SYSUSERS=/usr/lib/sysusers.d/mac-turnos-central.conf
CENTRAL_ENV=$CONF_DIR/central.env
CENTRAL_PORT=443
CENTRAL_APP=127.0.0.1:8090
CENTRAL_CERT=$CONF_DIR/tls/fullchain.pem
CENTRAL_KEY=$CONF_DIR/tls/privkey.pem

SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ROOT=""
DRY_RUN=0
KIOSK_USER=""
TV_USER=""
TV_CLIENT_USER=""
WITH_SERVER=1
CENTRAL=0
PIP_ARGS=""
WITH_VENV=1

usage() {
    sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<'EOF'
Options:
  --dry-run            print what would be done, change nothing
  --root DIR           install into DIR instead of /
  --source DIR         the mac-turnos source tree (default: this script's repository)
  --kiosk-user USER    enable the reception kiosk browser in USER's desktop session
  --tv-user USER       enable the waiting-room TV browser in USER's desktop session
  --tv-client-user USER
                       enable a TV that finds the server on the LAN (display-client)
  --no-server          do not enable the server here (a TV or kiosk on its own computer)
  --central            install the central receiver and dashboard instead of a centre's box
  --cert FILE          the central's TLS certificate, with its chain (default
                       /etc/mac-turnos/tls/fullchain.pem)
  --key FILE           its private key (default /etc/mac-turnos/tls/privkey.pem)
  --pip-args "ARGS"    extra arguments for pip (e.g. --no-index --find-links DIR offline)
  --no-venv            leave the virtual environment alone (built by other means)
EOF
}

while [ $# -gt 0 ]; do
    case "$1" in
        --dry-run) DRY_RUN=1 ;;
        --root) ROOT=$(realpath -m "${2:?--root needs a directory}"); shift ;;
        --source) SOURCE=$(realpath "${2:?--source needs a directory}"); shift ;;
        --kiosk-user) KIOSK_USER=${2:?--kiosk-user needs a name}; shift ;;
        --tv-user) TV_USER=${2:?--tv-user needs a name}; shift ;;
        --tv-client-user) TV_CLIENT_USER=${2:?--tv-client-user needs a name}; shift ;;
        --no-server) WITH_SERVER=0 ;;
        --central) CENTRAL=1 ;;
        --cert) CENTRAL_CERT=${2:?--cert needs a file}; shift ;;
        --key) CENTRAL_KEY=${2:?--key needs a file}; shift ;;
        --pip-args) PIP_ARGS=${2:?--pip-args needs a value}; shift ;;
        --no-venv) WITH_VENV=0 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done

say() { printf '== %s\n' "$*"; }

# Run a command, or only show it with --dry-run.
run() {
    printf '+ %s\n' "$*"
    if [ "$DRY_RUN" = 0 ]; then
        "$@"
    fi
}

# Copy SRC to DEST (inside the root) with MODE, only when the content differs.
put() {
    local src=$1 dest=$ROOT$2 mode=$3
    if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
        if [ "$(stat -c %a "$dest")" != "${mode#0}" ]; then
            run chmod "$mode" "$dest"
        fi
        return
    fi
    run install -D -m "$mode" "$src" "$dest"
}

# Copy SRC to DEST only if DEST does not exist (the centre's own files).
put_once() {
    if [ -e "$ROOT$2" ]; then
        say "$2 ya existe: se conserva"
        return
    fi
    put "$1" "$2" "$3"
}

check_platform() {
    local arch codename=""
    arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
    if [ -r "$ROOT/etc/os-release" ]; then
        codename=$(sed -n 's/^VERSION_CODENAME=//p' "$ROOT/etc/os-release" | tr -d '"')
    fi
    case "$arch" in
        arm64|aarch64|amd64|x86_64) ;;
        *) say "AVISO: arquitectura $arch no probada (arm64 o amd64)" ;;
    esac
    if [ -n "$codename" ] && [ "$codename" != bookworm ]; then
        say "AVISO: sistema $codename no probado (Debian 12 / Raspberry Pi OS Bookworm)"
    fi
}

install_packages() {
    local wanted=("${PACKAGES[@]}")
    if [ -n "$KIOSK_USER$TV_USER$TV_CLIENT_USER" ]; then
        wanted+=(chromium)
    fi
    if [ "$WITH_SERVER" = 1 ]; then
        wanted+=(nginx)
    fi
    if [ -n "$ROOT" ]; then
        say "paquetes omitidos con --root: ${wanted[*]}"
        return
    fi
    run apt-get install -y --no-install-recommends "${wanted[@]}"
}

create_user() {
    local conf
    conf=$(mktemp)
    cat >"$conf" <<EOF
# The mac-turnos system user, with access to printers (lp), serial devices (dialout) and sound.
u $USER_NAME - "mac-turnos" $STATE_DIR /usr/sbin/nologin
m $USER_NAME lp
m $USER_NAME dialout
m $USER_NAME audio
EOF
    put "$conf" "$SYSUSERS" 0644
    rm -f "$conf"
    if [ -n "$ROOT" ]; then
        if [ ! -d "$ROOT/etc" ]; then
            run install -d -m 0755 "$ROOT/etc"
        fi
        run systemd-sysusers --root="$ROOT" "$ROOT$SYSUSERS"
    else
        run systemd-sysusers "$SYSUSERS"
    fi
}

# The source tree as installed: what pip builds from, and what the stamp is made of.
source_tar() {
    tar -C "$SOURCE" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
        --exclude=.git --exclude=.venv --exclude=__pycache__ --exclude='*.egg-info' \
        --exclude=./build --exclude=./dist --exclude=./state --exclude=./tests \
        --exclude=./bench --exclude=.pytest_cache --exclude=.ruff_cache \
        --exclude=.hypothesis -cf - .
}

install_venv() {
    local stamp_file=$ROOT$PREFIX/.installed stamp build
    if [ "$WITH_VENV" = 0 ]; then
        say "entorno virtual omitido (--no-venv)"
        return
    fi
    if [ ! -x "$ROOT$VENV/bin/python" ]; then
        run python3 -m venv "$ROOT$VENV"
    fi
    stamp=$(source_tar | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp_file" ] && [ "$(cat "$stamp_file")" = "$stamp" ]; then
        say "mac-turnos ya está instalado en $VENV (mismo código)"
        return
    fi
    if [ "$DRY_RUN" = 1 ]; then
        build="(copia temporal de $SOURCE)"
    else
        build=$(mktemp -d)
        source_tar | tar -C "$build" -xf -
    fi
    # shellcheck disable=SC2086  # PIP_ARGS is a list of words on purpose
    run "$ROOT$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        --no-compile $PIP_ARGS "$build"
    if [ "$DRY_RUN" = 0 ]; then
        rm -rf "$build"
        printf '%s\n' "$stamp" >"$stamp_file"
    fi
}

install_files() {
    put "$SOURCE/systemd/mac-turnos-browser" "$PREFIX/bin/mac-turnos-browser" 0755
    put "$SOURCE/docs/operacion.md" "$PREFIX/docs/operacion.md" 0644
    local unit
    for unit in mac-turnos.service mac-turnos-kiosk@.service mac-turnos-tv@.service \
        mac-turnos-display-client@.service; do
        put "$SOURCE/systemd/$unit" "$UNIT_DIR/$unit" 0644
    done
    put_once "$SOURCE/systemd/centre.toml.example" "$CONF_DIR/centre.toml" 0640
    put_once "$SOURCE/systemd/browser.env.example" "$CONF_DIR/browser.env" 0644
    if [ -n "$TV_CLIENT_USER" ]; then  # holds the TV's device token: root reads it
        put_once "$SOURCE/systemd/display-client.env.example" "$CONF_DIR/display-client.env" 0600
    fi
    if [ ! -d "$ROOT$STATE_DIR" ]; then
        run install -d -m 0700 "$ROOT$STATE_DIR"
    fi
    if [ -z "$ROOT" ]; then
        run chown root:"$USER_NAME" "$CONF_DIR/centre.toml"
        run chown "$USER_NAME:$USER_NAME" "$STATE_DIR"
    fi
}

# The Python of the virtual environment, as its folder under lib/ is named.
venv_python() {
    local found
    found=$(find "$ROOT$VENV/lib" -maxdepth 1 -name 'python3*' -printf '%f\n' 2>/dev/null \
        | sort | tail -n 1)
    if [ -z "$found" ]; then
        found=$(python3 -c 'import sys; print("python%d.%d" % sys.version_info[:2])')
    fi
    printf '%s\n' "$found"
}

# nginx before the server: the site (limits, deadlines, static files, the client's address
# passed on), enabled, and enough connections per worker for a crowd of phones.
install_front() {
    local site
    if [ "$WITH_SERVER" = 0 ]; then
        return
    fi
    site=$(mktemp)
    sed -e "s|@LISTEN@|$FRONT_PORT|g" -e "s|@APP@|$APP_ADDRESS|g" \
        -e "s|@SITE@|$VENV/lib/$(venv_python)/site-packages|g" -e "s|@LOGS@|$NGINX_LOGS|g" \
        "$SOURCE/systemd/nginx-site.conf" >"$site"
    put "$site" "$NGINX_DIR/sites-available/mac-turnos" 0644
    rm -f "$site"
    enable_site mac-turnos
}

# The site NAME enabled, nginx's connections raised for a crowd, nginx checked and reloaded.
enable_site() {
    local name=$1 conf
    if [ "$(readlink "$ROOT$NGINX_DIR/sites-enabled/$name" 2>/dev/null)" != \
        "$NGINX_DIR/sites-available/$name" ]; then
        if [ ! -d "$ROOT$NGINX_DIR/sites-enabled" ]; then
            run install -d -m 0755 "$ROOT$NGINX_DIR/sites-enabled"
        fi
        run ln -sfn "$NGINX_DIR/sites-available/$name" "$ROOT$NGINX_DIR/sites-enabled/$name"
    fi
    conf=$ROOT$NGINX_DIR/nginx.conf
    if [ -f "$conf" ] && grep -q 'worker_connections 768;' "$conf"; then
        run sed -i -e 's/worker_connections 768;/worker_connections 4096;/' \
            -e 's/^worker_processes auto;/worker_processes auto;\nworker_rlimit_nofile 10000;/' \
            "$conf"
    fi
    if [ -z "$ROOT" ]; then
        run nginx -t -q
        run systemctl enable nginx.service
        run systemctl reload-or-restart nginx.service
    fi
}

first_start() {
    if [ "$WITH_SERVER" = 0 ]; then
        say "sin servidor en este equipo (--no-server)"
        return
    fi
    if [ -n "$ROOT" ]; then
        say "con --root no se valida la configuración ni se crea la base de datos"
        return
    fi
    run "$VENV/bin/mac-turnos" check-config "$CONF_DIR/centre.toml"
    if [ ! -e "$STATE_DIR/mac-turnos.sqlite" ]; then
        say "creando la base de datos y el primer administrador (anote la contraseña):"
        run runuser -u "$USER_NAME" -- "$VENV/bin/mac-turnos" --config "$CONF_DIR/centre.toml" \
            --state-dir "$STATE_DIR" init
    fi
}

enable_units() {
    local units=()
    if [ "$WITH_SERVER" = 1 ]; then
        units+=(mac-turnos.service)
    fi
    if [ -n "$KIOSK_USER" ]; then
        units+=("mac-turnos-kiosk@$KIOSK_USER.service")
    fi
    if [ -n "$TV_USER" ]; then
        units+=("mac-turnos-tv@$TV_USER.service")
    fi
    if [ -n "$TV_CLIENT_USER" ]; then
        units+=("mac-turnos-display-client@$TV_CLIENT_USER.service")
    fi
    if [ "${#units[@]}" = 0 ]; then
        say "ninguna unidad que activar"
        return
    fi
    if [ -n "$ROOT" ]; then
        run systemctl --root="$ROOT" --quiet enable "${units[@]}"
        return
    fi
    run systemctl daemon-reload
    run systemctl enable "${units[@]}"
    if [ "$WITH_SERVER" = 1 ]; then
        run systemctl restart mac-turnos.service
    fi
}

# --- the central (--central) ---------------------------------------------------------------

check_central() {
    if [ -n "$KIOSK_USER$TV_USER$TV_CLIENT_USER" ] || [ "$WITH_SERVER" = 0 ]; then
        echo "install.sh: --central no se combina con las opciones de un centro" >&2
        exit 2
    fi
    if [ -n "$ROOT" ]; then
        return
    fi
    local file
    for file in "$CENTRAL_CERT" "$CENTRAL_KEY"; do
        if [ ! -r "$file" ]; then
            if [ "$DRY_RUN" = 1 ]; then
                say "AVISO: no existe $file (el certificado del central o su clave)"
            else
                echo "install.sh: no existe $file. Copie el certificado del central (con su" \
                    "cadena) y su clave privada, o indique dónde están con --cert y --key" \
                    "(docs/operacion.md, «La sede central detrás de nginx»)." >&2
                exit 1
            fi
        fi
    done
}

create_central_user() {
    local conf
    conf=$(mktemp)
    cat >"$conf" <<EOF
# The mac-turnos central's system user (the receiver and the national dashboard).
u $CENTRAL_USER - "mac-turnos central" $CENTRAL_STATE /usr/sbin/nologin
EOF
    put "$conf" "$CENTRAL_SYSUSERS" 0644
    rm -f "$conf"
    if [ -n "$ROOT" ]; then
        if [ ! -d "$ROOT/etc" ]; then
            run install -d -m 0755 "$ROOT/etc"
        fi
        run systemd-sysusers --root="$ROOT" "$ROOT$CENTRAL_SYSUSERS"
    else
        run systemd-sysusers "$CENTRAL_SYSUSERS"
    fi
}

install_central_files() {
    local env
    put "$SOURCE/docs/operacion.md" "$PREFIX/docs/operacion.md" 0644
    put "$SOURCE/systemd/mac-turnos-central.service" "$UNIT_DIR/mac-turnos-central.service" 0644
    env=$(mktemp)
    cat >"$env" <<EOF
# mac-turnos central: its databases (docs/operacion.md, "La sede central detrás de nginx").
# The primary: every write, the boxes' batches, logins and sessions.
MAC_TURNOS_CENTRAL_DB=sqlite:///$CENTRAL_STATE/central.sqlite
# A PostgreSQL streaming replica of it, for the dashboard's pages and CSV (optional):
#MAC_TURNOS_CENTRAL_READ_DB=postgresql://mac_turnos@127.0.0.1:5433/turnos
#MAC_TURNOS_CITAS_RETENTION_DAYS=30
EOF
    put_once "$env" "$CENTRAL_ENV" 0640  # may hold database passwords
    rm -f "$env"
    if [ ! -d "$ROOT$CENTRAL_STATE" ]; then
        run install -d -m 0700 "$ROOT$CENTRAL_STATE"
    fi
    if [ -z "$ROOT" ]; then
        run chown root:"$CENTRAL_USER" "$CENTRAL_ENV"
        run chown "$CENTRAL_USER:$CENTRAL_USER" "$CENTRAL_STATE"
    fi
}

install_central_front() {
    local site
    site=$(mktemp)
    sed -e "s|@LISTEN@|$CENTRAL_PORT|g" -e "s|@APP@|$CENTRAL_APP|g" \
        -e "s|@SITE@|$VENV/lib/$(venv_python)/site-packages|g" -e "s|@LOGS@|$NGINX_LOGS|g" \
        -e "s|@CERT@|$CENTRAL_CERT|g" -e "s|@KEY@|$CENTRAL_KEY|g" \
        "$SOURCE/systemd/nginx-central.conf" >"$site"
    put "$site" "$NGINX_DIR/sites-available/mac-turnos-central" 0644
    rm -f "$site"
    enable_site mac-turnos-central
}

enable_central() {
    if [ -n "$ROOT" ]; then
        run systemctl --root="$ROOT" --quiet enable mac-turnos-central.service
        return
    fi
    run systemctl daemon-reload
    run systemctl enable mac-turnos-central.service
    run systemctl restart mac-turnos-central.service
}

main_central() {
    say "mac-turnos central desde $SOURCE en ${ROOT:-/}$([ "$DRY_RUN" = 1 ] && echo ' (simulación)')"
    check_central
    check_platform
    if [ -n "$ROOT" ]; then
        say "paquetes omitidos con --root: python3 python3-venv curl nginx"
    else
        run apt-get install -y --no-install-recommends python3 python3-venv curl nginx
    fi
    create_central_user
    install_venv
    install_central_files
    install_central_front
    enable_central
    say "listo. Estado: systemctl status mac-turnos-central; registro: journalctl -u" \
        "mac-turnos-central. El primer usuario del tablero: docs/operacion.md"
}

main() {
    if [ -z "$ROOT" ] && [ "$DRY_RUN" = 0 ] && [ "$(id -u)" != 0 ]; then
        echo "install.sh: ejecútelo como root (sudo), o use --dry-run / --root DIR" >&2
        exit 1
    fi
    if [ "$CENTRAL" = 1 ]; then
        main_central
        return
    fi
    say "mac-turnos desde $SOURCE en ${ROOT:-/}$([ "$DRY_RUN" = 1 ] && echo ' (simulación)')"
    check_platform
    install_packages
    create_user
    install_venv
    install_files
    install_front
    first_start
    enable_units
    say "listo. Estado: systemctl status mac-turnos; registro: journalctl -u mac-turnos"
}

main
