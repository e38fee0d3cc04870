"""The systemd units pass ``systemd-analyze verify`` without a warning, carry the settings a
centre depends on, and the installer is shellcheck-clean, idempotent in a throwaway root
and changes nothing with --dry-run.

``systemd-analyze verify`` here: it exits 0 on unknown keys (only a warning on stderr), and
1 when an Exec path does not exist. So the units are copied to a temporary folder with
/opt/mac-turnos/... pointed at executable stand-ins, and stderr must stay empty."""

from __future__ import annotations

import configparser
import hashlib
import os
import stat
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from appliance.cli import main
from tests.programs import require_program

ROOT = Path(__file__).parent.parent
UNITS = ROOT / "systemd"
INSTALL = UNITS / "install.sh"
SERVER, KIOSK, TV = "mac-turnos.service", "mac-turnos-kiosk@.service", "mac-turnos-tv@.service"
TV_CLIENT = "mac-turnos-display-client@.service"
BROWSER = UNITS / "mac-turnos-browser"



@pytest.fixture
def systemd_tools() -> None:
    """systemd-analyze checks the units; their ExecStartPre lines name curl, which
    `systemd-analyze verify` wants to find; shellcheck reads the shell scripts."""
    for program in ("systemd-analyze", "shellcheck", "curl"):
        require_program(program)


needs = pytest.mark.usefixtures("systemd_tools")


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None,
                                       empty_lines_in_values=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(UNITS / name, encoding="utf-8")
    return parser


@pytest.fixture
def verify_dir(tmp_path: Path) -> Path:
    """The units with their /opt/mac-turnos programs pointed at stand-ins in tmp_path."""
    bin_dir = tmp_path / "opt"
    for program in ("venv/bin/mac-turnos", "bin/mac-turnos-browser"):
        path = bin_dir / program
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n", encoding="utf-8")
        path.chmod(0o755)
    out = tmp_path / "units"
    out.mkdir()
    for source in UNITS.glob("*.service"):
        text = source.read_text(encoding="utf-8").replace("/opt/mac-turnos/", f"{bin_dir}/")
        (out / source.name).write_text(text, encoding="utf-8")
    return out


@needs
@pytest.mark.parametrize("name", [SERVER, KIOSK, TV, TV_CLIENT, "mac-turnos-kiosk@pi.service",
                                  "mac-turnos-tv@pantalla.service",
                                  "mac-turnos-display-client@pi.service"])
def test_every_unit_passes_systemd_analyze_verify_without_a_warning(verify_dir, name):
    out = subprocess.run(["systemd-analyze", "verify", f"./{name}"], cwd=verify_dir,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == ""


@needs
def test_verify_really_catches_a_missing_program(verify_dir):
    text = (verify_dir / SERVER).read_text(encoding="utf-8")
    (verify_dir / SERVER).write_text(text.replace("venv/bin/mac-turnos", "nope"), "utf-8")
    out = subprocess.run(["systemd-analyze", "verify", f"./{SERVER}"], cwd=verify_dir,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0


def test_the_server_unit_is_notify_with_a_watchdog_restart_state_hardening_and_devices():
    service = unit(SERVER)["Service"]
    assert service["Type"] == "notify" and int(service["WatchdogSec"]) > 0
    assert service["Restart"] == "on-failure" and service["StateDirectory"] == "mac-turnos"
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert service[key] == "yes", key
    assert service["ProtectSystem"] == "strict"
    assert set(service["SupplementaryGroups"].split()) == {"lp", "dialout", "audio"}
    assert service["ExecStart"] == ("/opt/mac-turnos/venv/bin/mac-turnos serve --host 127.0.0.1 "
                                    "--port 8081 --front-port 8080")
    assert unit(SERVER)["Unit"]["StartLimitIntervalSec"] == "0"


@pytest.mark.parametrize("name", [KIOSK, TV])
def test_browsers_start_in_kiosk_mode_after_the_server_answers(name):
    parsed = unit(name)
    service = parsed["Service"]
    assert "curl" in service["ExecStartPre"] and "/api/v1/health" in service["ExecStartPre"]
    assert "--retry" in service["ExecStartPre"]
    assert "--kiosk" in service["ExecStart"] and service["User"] == "%i"
    assert "mac-turnos.service" in parsed["Unit"]["After"]
    autoplay = "--autoplay-policy=no-user-gesture-required" in service["ExecStart"]
    assert autoplay == (name == TV)


def test_the_tv_client_unit_finds_the_server_itself_and_takes_its_name_from_its_env_file():
    parsed = unit(TV_CLIENT)
    service = parsed["Service"]
    assert service["User"] == "%i" and service["Restart"] == "always"
    assert service["EnvironmentFile"] == "-/etc/mac-turnos/display-client.env"
    assert service["ExecStart"] == ("/opt/mac-turnos/bin/mac-turnos-browser tv-client "
                                    "--name ${MAC_TURNOS_TV_NAME}")
    assert "mac-turnos.service" not in parsed["Unit"]["After"]  # the server is elsewhere
    env = (UNITS / "display-client.env.example").read_text(encoding="utf-8")
    assert "MAC_TURNOS_TV_NAME=" in env and "MAC_TURNOS_DEVICE_TOKEN=" in env


def test_the_browser_wrapper_runs_the_display_client_in_the_session_with_its_chromium(
        tmp_path: Path):
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir()
    (stand_ins / "chromium").write_text("#!/bin/sh\n", encoding="utf-8")
    client = tmp_path / "mac-turnos"
    client.write_text('#!/bin/sh\nprintf "%s\\n" "$DISPLAY" "$@"\n', encoding="utf-8")
    for program in (stand_ins / "chromium", client):
        program.chmod(0o755)
    env = {"PATH": f"{stand_ins}:/usr/bin:/bin", "HOME": str(tmp_path),
           "MAC_TURNOS_BIN": str(client)}
    out = subprocess.run(["sh", str(BROWSER), "tv-client", "--name", "sala-2"], env=env,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        ":0", "display-client", "--browser", str(stand_ins / "chromium"),
        "--profile", f"{tmp_path}/.config/mac-turnos-tv-client", "--name", "sala-2"]
    refused = subprocess.run(["sh", str(BROWSER), "printer"], env=env, capture_output=True,
                             text=True, timeout=30)
    assert refused.returncode == 2 and "tv-client" in refused.stderr


@needs
def test_the_shell_scripts_are_shellcheck_clean():
    out = subprocess.run(["shellcheck", str(INSTALL), str(UNITS / "mac-turnos-browser"),
                          str(ROOT / "scripts" / "check-arm64-deps"),
                          str(ROOT / "scripts" / "arm64-demo")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout


def test_the_config_template_passes_check_config():
    out = CliRunner().invoke(main, ["check-config", str(UNITS / "centre.toml.example")])
    assert out.exit_code == 0, out.output


# --- the installer in a throwaway root ---------------------------------------------------------

def tree(root: Path) -> dict[str, tuple]:
    """Every path under root with its kind, mode and content (or link target)."""
    found: dict[str, tuple] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            key = str(path.relative_to(root))
            if stat.S_ISLNK(info.st_mode):
                found[key] = ("link", os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                found[key] = ("dir", stat.S_IMODE(info.st_mode))
            else:
                found[key] = ("file", stat.S_IMODE(info.st_mode),
                              hashlib.sha256(path.read_bytes()).hexdigest())
    return found


def install(root: Path, *extra: str) -> subprocess.CompletedProcess:
    out = subprocess.run(["bash", str(INSTALL), "--root", str(root), "--no-venv",
                          "--kiosk-user", "pi", "--tv-user", "pi", *extra],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    return out


@needs
def test_the_installer_run_twice_gives_the_same_tree_and_keeps_an_edited_config(tmp_path):
    root = tmp_path / "root"
    install(root)
    first = tree(root)
    assert first["etc/systemd/system/multi-user.target.wants/mac-turnos.service"][0] == "link"
    assert "etc/systemd/system/graphical.target.wants/mac-turnos-kiosk@pi.service" in first
    assert "etc/systemd/system/graphical.target.wants/mac-turnos-tv@pi.service" in first
    assert first["etc/mac-turnos/centre.toml"][1] == 0o640
    assert first["opt/mac-turnos/bin/mac-turnos-browser"][1] == 0o755
    passwd = (root / "etc/passwd").read_text(encoding="utf-8")
    assert passwd.startswith("mac-turnos:") and "/usr/sbin/nologin" in passwd
    group = (root / "etc/group").read_text(encoding="utf-8")
    assert all(f"{g}:" in group and "mac-turnos" in group.split(f"{g}:")[1].split("\n")[0]
               for g in ("lp", "dialout", "audio"))
    second = install(root)
    assert tree(root) == first
    assert "+ install" not in second.stdout  # nothing copied the second time

    config = root / "etc/mac-turnos/centre.toml"
    config.write_text(config.read_text(encoding="utf-8") + "\n# editado\n", encoding="utf-8")
    install(root)
    assert config.read_text(encoding="utf-8").endswith("# editado\n")


@needs
def test_the_installers_dry_run_changes_nothing(tmp_path):
    empty = tmp_path / "empty"
    out = install(empty, "--dry-run")
    assert not empty.exists()
    assert "+ systemctl --root" in out.stdout and "+ install" in out.stdout

    root = tmp_path / "root"
    install(root)
    before = tree(root)
    install(root, "--dry-run")
    assert tree(root) == before


@needs
def test_a_tv_on_its_own_computer_gets_the_client_unit_and_no_server(tmp_path):
    root = tmp_path / "root"
    out = subprocess.run(["bash", str(INSTALL), "--root", str(root), "--no-venv", "--no-server",
                          "--tv-client-user", "pi"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    first = tree(root)
    wants = "etc/systemd/system/graphical.target.wants/"
    assert first[wants + "mac-turnos-display-client@pi.service"][0] == "link"
    assert not any(path.endswith("/mac-turnos.service") and "wants" in path for path in first)
    assert first["etc/mac-turnos/display-client.env"][1] == 0o600  # holds the device token
    again = subprocess.run(["bash", str(INSTALL), "--root", str(root), "--no-venv",
                            "--no-server", "--tv-client-user", "pi"], capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0 and tree(root) == first
