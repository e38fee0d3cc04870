"""Ticket rendering: the ESC/POS bytes read back to exactly the lines a citizen gets, in the
configured code page, with a QR code that scans to the status URL; settings that would
print wrong are refused. Transports are in test_printer_transports.py, the worker in
test_printer_worker.py."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from hardware.printer import (
    PrintableTicket,
    PrinterSettings,
    decode_text,
    qr_payloads,
    render,
)
from hardware.printer.codepage import REQUIRED, can_encode, fit_text
from hardware.printer.preview import preview_png
from hardware.printer.status import PaperStatus, parse_paper_status
from hardware.printer.stream import Code2D, Command, EscposParseError, Raster, tokens

LIMA = timezone(timedelta(hours=-5))
URL = "http://192.0.2.1:8080/t/Qm9sZXRvLTAyMw"
SERVICE = "Atención al ciudadano – Señal ¿Dónde? ¡Sí! ñandú Ü"


def make_ticket(**changes: object) -> PrintableTicket:
    """A preferential RENIEC ticket in Spanish; ``changes`` override any field."""
    ticket = PrintableTicket(
        centre="Centro MAC Lima Norte", entity="RENIEC", label="RN-023", service=SERVICE,
        category="Adulto mayor", issued_at=datetime(2026, 11, 27, 9, 5, tzinfo=LIMA),
        people_ahead=12, wait_minutes=25, status_url=URL,
        footer="Gracias por su visita. Conserve este ticket.")
    return replace(ticket, **changes)


def make_settings(**changes: object) -> PrinterSettings:
    return replace(PrinterSettings(name="kiosko-1", transport="virtual", target=""), **changes)


# What the Spanish ticket prints on 48 columns: the service wraps, the category is a bar.
EXPECTED_ES = [
    "Centro MAC Lima Norte",
    "RENIEC",
    "",
    "RN-023",
    "",
    "Atención al ciudadano - Señal ¿Dónde? ¡Sí! ñandú",
    "Ü",
    " Atención preferente: Adulto mayor ",
    "",
    "Fecha:                          27/11/2026 09:05",
    "Personas antes que usted:                     12",
    "Espera estimada:                        ~ 25 min",
    "",
    "",
    "Escanee para seguir su turno",
    "",
    "Gracias por su visita. Conserve este ticket.",
    "",
]


@pytest.mark.parametrize("page", ["CP858", "CP850", "ISO_8859-15"])
def test_ticket_bytes_decode_to_exactly_the_expected_lines_in_the_code_page(page):
    data = render(make_ticket(), make_settings(codepage=page))
    assert decode_text(data, page).split("\n") == EXPECTED_ES


def test_a_code_page_that_has_the_en_dash_prints_it_as_such():
    data = render(make_ticket(), make_settings(codepage="CP1252"))
    expected = [line.replace("ciudadano - ", "ciudadano – ") for line in EXPECTED_ES]
    assert decode_text(data, "CP1252").split("\n") == expected


@pytest.mark.parametrize("page", ["CP858", "CP850"])
def test_the_code_page_is_forced_once_right_after_initialising_the_printer(page):
    settings = make_settings(profile="TM-T20II", codepage=page)
    commands = [t for t in tokens(render(make_ticket(), settings), page)
                if isinstance(t, Command)]
    slot = {"CP858": 19, "CP850": 2}[page]  # Epson's ESC t numbers
    assert commands[:2] == [Command(b"\x1b@", b""), Command(b"\x1bt", bytes([slot]))]
    assert sum(c.code == b"\x1bt" for c in commands) == 1


def test_accented_letters_are_sent_as_single_code_page_bytes_not_utf8():
    data = render(make_ticket(), make_settings(codepage="CP858"))
    assert "Señal ¿Dónde? ¡Sí!".encode("cp858") in data
    assert "ñ".encode() not in data


def test_the_same_ticket_decoded_with_a_different_code_page_differs():
    """Decoding really depends on the code page (the check above is not vacuous)."""
    data = render(make_ticket(), make_settings(codepage="CP858"))
    assert decode_text(data, "CP1252").split("\n") != EXPECTED_ES


def test_a_code_page_without_spanish_capitals_is_rejected_by_validate():
    problems = make_settings(codepage="CP437").validate()
    assert len(problems) == 1
    assert "CP437" in problems[0] and "ÁÍÓÚ" in problems[0]


@pytest.mark.parametrize("page", ["ISO_8859-7", "CP866"])
def test_code_pages_of_other_alphabets_are_rejected_by_validate(page):
    assert any(page in p for p in make_settings(codepage=page).validate())


def test_a_code_page_the_profile_does_not_offer_is_rejected_by_validate():
    problems = make_settings(profile="simple", codepage="CP858").validate()
    assert problems == ["code page 'CP858' is not one the simple profile offers "
                        "(CP858 or CP850 suit Spanish)"]


def test_spanish_code_pages_hold_every_character_tickets_need():
    for page in ("CP858", "CP850", "CP1252", "ISO_8859-15"):
        assert can_encode(REQUIRED + "Ññ'", page), page


def test_good_settings_have_no_problems():
    assert make_settings().validate() == []
    assert make_settings(transport="serial", target="/dev/ttyUSB0", profile="TM-T20II",
                         codepage="cp850").validate() == []
    assert make_settings(transport="network", target="192.0.2.10:9100").validate() == []
    assert make_settings(transport="network", target="[2001:db8::5]:9100").validate() == []
    assert make_settings(transport="file", target="/dev/usb/lp0").validate() == []


@pytest.mark.parametrize(("changes", "words"), [
    ({"transport": "bluetooth"}, "unknown transport 'bluetooth'"),
    ({"profile": "TM-X999"}, "unknown printer profile 'TM-X999'"),
    ({"transport": "network", "target": "printer-1"}, "is not host:port"),
    ({"transport": "network", "target": "192.0.2.10:99999"}, "is not host:port"),
    ({"transport": "usb", "target": "04b8-0202"}, "is not vendor:product"),
    ({"transport": "serial", "target": ""}, "a serial printer needs a target"),
    ({"transport": "serial", "target": "ttyUSB0"}, "is not a device path"),
    ({"transport": "file", "target": " "}, "a file printer needs a target"),
    ({"width": 100}, "is not between 24 and 80"),
    ({"profile": "TM-T88V", "width": 48}, "it prints 42 characters per line"),
    ({"timeout": 0}, "timeout must be positive"),
])
def test_validate_names_each_problem_in_words(changes, words):
    problems = make_settings(**changes).validate()
    assert any(words in p for p in problems), problems


def test_typographic_characters_are_printed_as_their_plain_equivalents():
    assert fit_text("Atención – “Señal” … p’unchaw", "CP858") == \
        'Atención - "Señal" ... p\'unchaw'
    assert fit_text("Dvořák", "CP858") == "Dvorák"  # accents dropped as a last resort
    assert fit_text("漢", "CP858") == "?"


def test_a_quechua_ticket_prints_its_captions_and_eñes():
    settings = make_settings()
    data = render(make_ticket(language="qu", category="Machu runa"), settings)
    lines = decode_text(data, "CP858").split("\n")
    assert " Ñawpaqta yanapana: Machu runa " in lines
    assert "P'unchaw:                       27/11/2026 09:05" in lines
    assert "Ñawpaqniykipi runakuna:" + " " * 23 + "12" in lines
    assert "QR-ta qhawachiy, turnoykita qatipanaykipaq" in lines


def test_an_english_ticket_prints_english_captions():
    lines = decode_text(render(make_ticket(language="en"), make_settings()), "CP858")
    assert "People ahead of you:" + " " * 26 + "12" in lines.split("\n")
    assert "Scan to follow your turn" in lines


def test_a_ticket_without_estimate_says_so_and_a_normal_one_has_no_category_bar():
    data = render(make_ticket(wait_minutes=None, category=None), make_settings())
    lines = decode_text(data, "CP858").split("\n")
    assert "Espera estimada:                  sin estimación" in lines
    assert not any("preferente" in line for line in lines)
    assert not [t for t in tokens(data, "CP858") if isinstance(t, Command)
                and t.code == b"\x1dB" and t.args == b"\x01"]


def test_the_label_is_printed_four_times_bigger_and_the_category_inverted():
    data = render(make_ticket(), make_settings())
    assert b"\x1d!\x33RN-023\n\x1d!\x00" in data  # GS ! 4x4, then back to normal
    assert b"\x1dB\x01" in data and b"\x1dB\x00" in data  # GS B reverse on and off


def test_a_long_label_is_made_smaller_to_fit_the_line():
    data = render(make_ticket(label="RENIEC-PREF-1234"), make_settings(width=32))
    assert b"\x1d!\x11RENIEC-PREF-1234\n" in data  # 16 characters x 2 = 32 columns


def test_the_ticket_ends_with_a_feed_and_a_full_cut():
    assert render(make_ticket(), make_settings()).endswith(b"\x1bd\x06\x1dV\x00")


def test_a_naive_issue_time_is_refused():
    with pytest.raises(ValueError, match="aware"):
        render(make_ticket(issued_at=datetime(2026, 11, 27, 9, 5)), make_settings())


def read_qr(image: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(image)]


def test_native_qr_stores_the_status_url_and_the_preview_scans_to_it():
    settings = make_settings(profile="TM-T20II")
    data = render(make_ticket(), settings)
    assert qr_payloads(data) == [URL]
    codes = [t for t in tokens(data, "CP858") if isinstance(t, Code2D)]
    assert [(c.cn, c.fn) for c in codes] == [(49, 65), (49, 67), (49, 69), (49, 80), (49, 81)]
    png = preview_png(data, "CP858", settings.paper_dots)
    image = Image.open(io.BytesIO(png))
    assert image.width == 576 + 32  # 80 mm of dots plus margins
    assert read_qr(image) == [URL]


def test_a_profile_without_native_qr_gets_a_raster_image_that_scans_to_the_url():
    settings = make_settings(profile="POS-5890", width=32)  # 58 mm, no GS ( k
    data = render(make_ticket(), settings)
    assert qr_payloads(data) == []
    (raster,) = [t for t in tokens(data, "CP858") if isinstance(t, Raster)]
    assert raster.width_bytes * 8 == settings.paper_dots  # centred on the paper
    bits = Image.frombytes("1", (raster.width_bytes * 8, raster.height),
                           bytes(255 - b for b in raster.data))  # ESC/POS: 1 is black
    assert read_qr(bits.convert("L")) == [URL]
    assert read_qr(Image.open(io.BytesIO(preview_png(data, "CP858", 384)))) == [URL]


def test_rendering_a_profile_without_paper_width_prints_nothing_on_stdout(capsys):
    render(make_ticket(), make_settings(profile="simple", codepage="CP437"))
    assert capsys.readouterr().out == ""


def test_decode_text_refuses_commands_it_does_not_know_or_that_are_cut_short():
    with pytest.raises(EscposParseError, match="unknown command"):
        decode_text(b"\x1b@hola\x1b\x99\x00", "CP858")
    with pytest.raises(EscposParseError, match="past the end"):
        decode_text(b"\x1b@\x1d(k\x10\x001P0http", "CP858")
    with pytest.raises(EscposParseError, match="control byte 0x07"):
        decode_text(b"ding\x07", "CP858")


def test_decode_text_skips_each_command_with_its_exact_length():
    data = (b"\x1b@\x1bt\x13\x1b!\x30A\x1bE\x01B\x1d!\x11C\x1ba\x01D\x1dv0\x00\x01\x00\x02\x00"
            b"\x0a\x0bE\x1d(k\x04\x001A2\x00F\x1dV\x42\x03G\x1dV\x00\xa4\n")
    assert decode_text(data, "CP858") == "ABCDEFGñ\n"


@pytest.mark.parametrize(("reply", "status"), [
    (b"\x12", PaperStatus.OK), (b"\x1e", PaperStatus.NEAR_END),
    (b"\x72", PaperStatus.OUT), (b"\x7e", PaperStatus.OUT),
    (b"\x11", PaperStatus.UNKNOWN), (b"", PaperStatus.UNKNOWN),
    (b"\x13\x12", PaperStatus.OK),  # XOFF before the reply
])
def test_the_dle_eot_4_reply_byte_is_read_per_the_escpos_bits(reply, status):
    assert parse_paper_status(reply) is status


def test_importing_the_printer_package_leaves_the_root_logger_alone():
    """python-escpos calls logging.basicConfig() on import; the package undoes it."""
    code = ("import logging, hardware.printer; "
            "assert logging.getLogger().handlers == [], logging.getLogger().handlers")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_first_ticket_rendered_imports_python_escpos_and_leaves_the_root_logger_alone() -> None:
    code = ("import logging, sys, datetime as d, hardware.printer as hp; "
            "assert 'escpos' not in sys.modules; "
            "t = hp.PrintableTicket(centre='C', entity='E', label='RN-1', service='S', "
            "category=None, issued_at=d.datetime.now(d.timezone.utc), people_ahead=0, "
            "wait_minutes=None, status_url='http://192.0.2.1/t/x', footer=''); "
            "hp.render(t, hp.PrinterSettings(name='k', transport='virtual', target='')); "
            "assert 'escpos' in sys.modules; "
            "assert logging.getLogger().handlers == [], logging.getLogger().handlers")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_a_box_without_a_printer_loads_no_printer_library() -> None:
    """python-escpos, pyserial, pyusb, Pillow and qrcode cost memory in a server that has
    nothing to print: the printer package and the app's printing import none of them."""
    code = ("import sys, hardware.printer, appliance.printing; "
            "from appliance.printing import Printing; "
            "loaded = sorted({m.split('.')[0] for m in sys.modules} & "
            "{'escpos', 'serial', 'usb', 'PIL', 'qrcode', 'yaml'}); "
            "assert not loaded, loaded")
    done = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).parent.parent,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_printer_package_imports_nothing_of_ours_and_only_the_allowed_libraries():
    import ast

    root = Path(__file__).parent.parent
    allowed = {"hardware", "escpos", "serial", "qrcode", "PIL", "__future__"}
    stdlib = set(sys.stdlib_module_names)
    found: dict[str, set[str]] = {}
    for path in sorted((root / "hardware" / "printer").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                     and node.module else [])
            extra = {n.split(".")[0] for n in names} - allowed - stdlib
            if extra:
                found.setdefault(str(path.relative_to(root)), set()).update(extra)
    assert found == {}
