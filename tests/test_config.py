"""Configuration: validation names key and line, environment overrides, the CLI's exit codes,
the demo centre, and a configuration reference (docs/configuration.md) that cannot drift from
the schema."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from appliance.docs import BEGIN, END, reference
from config import ConfigError, load_settings
from config.demo import demo_settings

GOOD = textwrap.dedent("""\
    [centre]
    code = "huanuco"
    name = "MAC Huánuco"

    [server]
    port = 8080

    [[entities]]
    code = "RENIEC"
    name = "Registro Nacional de Identificación y Estado Civil - RENIEC"

    [[queues]]
    code = "RN"
    entity = "RENIEC"
    prefix = "RN"

    [[services]]
    id = 76
    queue = "RN"
    name = "Duplicado de DNI"

    [[counters]]
    number = 1
    entity = "RENIEC"
    queues = ["RN"]
    """)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "centre.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str, env: dict | None = None) -> list[tuple[str, int]]:
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, text), environ=env or {})
    return [(p.key, p.line) for p in err.value.problems]


def test_a_good_file_loads_with_defaults_filled_in(tmp_path):
    s = load_settings(write(tmp_path, GOOD), environ={})
    assert s.centre.timezone == "America/Lima" and s.hours.saturday == "09:00-13:30"
    assert {p.code for p in s.priorities} >= {"normal", "gestante", "nino", "adulto_mayor",
                                             "discapacidad", "cita"}


def test_a_wrong_type_names_the_key_and_its_line(tmp_path):
    assert problems(tmp_path, GOOD.replace("port = 8080", 'port = "ocho"')) == \
        [("server.port", 6)]


def test_an_unknown_key_in_an_array_of_tables_is_an_error_with_its_line(tmp_path):
    text = GOOD.replace('prefix = "RN"', 'prefx = "RN"')
    assert ("queues[0].prefx", 15) in problems(tmp_path, text)
    assert ("queues[0].prefix", 12) in problems(tmp_path, text)  # now missing: table's line


def test_a_reference_to_a_missing_entity_names_the_referring_key(tmp_path):
    text = GOOD.replace('entity = "RENIEC"\nqueues', 'entity = "SUNAT"\nqueues')
    assert problems(tmp_path, text) == [("counters[0].entity", 24)]


def test_out_of_range_and_bad_form_values_are_reported_together(tmp_path):
    text = GOOD.replace("port = 8080", "port = 70000").replace('prefix = "RN"',
                                                                 'prefix = "rn1"')
    assert sorted(problems(tmp_path, text)) == [("queues[0].prefix", 15), ("server.port", 6)]


def test_a_modulo_s_zone_loads_and_a_zone_with_spaces_is_refused_at_its_line(tmp_path):
    text = GOOD.replace('queues = ["RN"]', 'queues = ["RN"]\nzone = "piso-2"')
    assert load_settings(write(tmp_path, text), environ={}).counters[0].zone == "piso-2"
    bad = GOOD.replace('queues = ["RN"]', 'queues = ["RN"]\nzone = "piso 2"')
    assert problems(tmp_path, bad) == [("counters[0].zone", 26)]


def test_opening_hours_must_open_before_they_close(tmp_path):
    text = GOOD.replace("[server]", '[hours]\nmonday = "18:30-08:30"\n\n[server]')
    assert problems(tmp_path, text) == [("hours.monday", 6)]


def test_a_syntax_error_gives_the_line(tmp_path):
    assert problems(tmp_path, GOOD.replace('name = "MAC Huánuco"', 'name = "MAC')) == \
        [("(file)", 3)]


def test_environment_overrides_a_scalar_key(tmp_path):
    s = load_settings(write(tmp_path, GOOD), environ={"MAC_TURNOS__SERVER__PORT": "9001"})
    assert s.server.port == 9001


def test_a_bad_environment_override_is_reported_by_name(tmp_path):
    found = problems(tmp_path, GOOD, {"MAC_TURNOS__SERVER__PORT": "x"})
    assert found == [("server.port", 6)]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "appliance", *args], capture_output=True,
                          text=True, env=env, timeout=60)


def test_check_config_exits_2_and_prints_file_line_and_key(tmp_path):
    path = write(tmp_path, GOOD.replace("port = 8080", 'port = "ocho"'))
    out = cli("check-config", str(path))
    assert out.returncode == 2
    assert f"{path}:6: server.port: must be a whole number" in out.stderr


def test_check_config_accepts_a_good_file(tmp_path):
    out = cli("check-config", str(write(tmp_path, GOOD)))
    assert out.returncode == 0 and "OK" in out.stdout


def test_serve_refuses_a_broken_config_with_status_2_and_starts_nothing(tmp_path):
    path = write(tmp_path, GOOD.replace('queues = ["RN"]', 'queues = ["XX"]'))
    state = tmp_path / "state"
    out = cli("--config", str(path), "serve", "--state-dir", str(state), "--port", "0")
    assert out.returncode == 2
    assert "counters[0].queues: no queue 'XX'" in out.stderr
    assert not state.exists() or not any(state.iterdir())


def test_demo_centre_has_the_real_entities_modulos_and_legal_categories():
    s = demo_settings()
    codes = {e.code for e in s.entities}
    assert {"RENIEC", "BN", "SUNAT", "MIGRACIONES", "SUNARP", "ESSALUD", "SIS", "MTC",
            "SATLIMA", "COMAS"} <= codes and len(codes) >= 12
    assert len(s.counters) >= 30
    assert any("DNI" in svc.name for svc in s.services if svc.queue == "RN")
    prefs = {p.code for p in s.priorities if p.preferential}
    assert prefs == {"gestante", "nino", "adulto_mayor", "discapacidad"}
    assert any(p.appointment for p in s.priorities)


def test_every_setting_is_documented_in_the_configuration_reference():
    path = Path(__file__).parent.parent / "docs" / "configuration.md"
    text = path.read_text(encoding="utf-8")
    start, end = text.index(BEGIN), text.index(END) + len(END)
    assert text[start:end] == reference(), (
        "docs/configuration.md is out of date: replace its config-reference part with the "
        "output of `mac-turnos config-docs`")


def test_serve_with_a_damaged_database_exits_1_with_a_plain_message(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    (state / "mac-turnos.sqlite").write_bytes(b"this is not a database" * 100)
    out = cli("--config", str(write(tmp_path, GOOD)), "serve", "--state-dir", str(state))
    assert out.returncode == 1
    assert "No se puede usar el directorio de estado" in out.stderr
    assert "Traceback" not in out.stderr


def test_a_printer_that_cannot_print_spanish_makes_check_config_exit_2_at_its_line(tmp_path):
    text = GOOD + textwrap.dedent("""
        [[printers]]
        name = "kiosko-1"
        transport = "serial"
        target = "/dev/ttyUSB0"
        codepage = "CP437"
        """)
    path = write(tmp_path, text)
    line = text.splitlines().index("[[printers]]") + 1
    out = cli("check-config", str(path))
    assert out.returncode == 2
    assert f"{path}:{line}: printers[0]: code page 'CP437' cannot print" in out.stderr


def test_a_non_virtual_printer_without_a_target_is_refused(tmp_path):
    path = write(tmp_path, GOOD + '\n[[printers]]\nname = "p"\ntransport = "network"\n')
    out = cli("check-config", str(path))
    assert out.returncode == 2
    assert "printers[0].target: a network printer needs a target" in out.stderr
