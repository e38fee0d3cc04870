"""Reading ESC/POS bytes back: split them into text, line feeds, commands, 2D codes and
raster images, for tests and for the virtual printer's preview.

Only the commands below are understood, with their lengths from the ESC/POS command
reference; anything else raises ``EscposParseError`` rather than being guessed past, so a
test notices when the renderer starts emitting something new.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from hardware.printer import codepage

ESC, GS, DLE, LF, HT, CR = 0x1B, 0x1D, 0x10, 0x0A, 0x09, 0x0D

# Commands with a fixed number of parameter bytes after the command byte.
_ESC_FIXED = {
    b"@": 0,  # initialize printer
    b"2": 0,  # default line spacing
    b"!": 1,  # select print mode (font, bold, double height/width, underline)
    b"E": 1,  # emphasized on/off
    b"G": 1,  # double-strike on/off
    b"-": 1,  # underline
    b"M": 1,  # character font
    b"a": 1,  # justification
    b"t": 1,  # character code table
    b"R": 1,  # international character set
    b"d": 1,  # print and feed n lines
    b"J": 1,  # print and feed n dots
    b"3": 1,  # line spacing
    b" ": 1,  # right-side character spacing
    b"{": 1,  # upside-down
    b"V": 1,  # 90 degree rotation
    b"r": 1,  # print colour
    b"=": 1,  # select peripheral device
    b"$": 2,  # absolute print position
    b"\\": 2,  # relative print position
    b"c": 2,  # ESC c 3/4/5 n: paper sensors, panel buttons
    b"p": 3,  # generate pulse
}
_GS_FIXED = {
    b"!": 1,  # character size
    b"B": 1,  # white/black reverse
    b"b": 1,  # smoothing
    b"H": 1,  # HRI position
    b"f": 1,  # HRI font
    b"h": 1,  # bar code height
    b"w": 1,  # bar code width
    b"a": 1,  # automatic status back
    b"I": 1,  # transmit printer ID
    b"r": 1,  # transmit status
    b"L": 2,  # left margin
    b"W": 2,  # print area width
}
_DLE_FIXED = {b"\x04": 1, b"\x05": 1}  # DLE EOT n, DLE ENQ n
_CUT_NO_FEED = {0, 1, 48, 49}  # GS V m (function A)
_CUT_WITH_N = {65, 66, 97, 98, 103, 104}  # GS V m n (functions B, C, D)


class EscposParseError(ValueError):
    """Bytes that are not (understood) ESC/POS."""


@dataclass(frozen=True)
class Text:
    """A run of printable bytes, decoded with the code page."""

    text: str


@dataclass(frozen=True)
class Newline:
    """LF: print the line buffer and feed one line."""


@dataclass(frozen=True)
class Command:
    """A command: its prefix and name byte (e.g. b"\\x1ba") and its parameter bytes."""

    code: bytes
    args: bytes


@dataclass(frozen=True)
class Code2D:
    """GS ( k: a 2D code function. ``cn`` 49 is QR; ``fn`` 80 stores ``data``, 81 prints."""

    cn: int
    fn: int
    data: bytes


@dataclass(frozen=True)
class Raster:
    """GS v 0: a raster bit image, ``width_bytes`` x ``height``, 1 bits are black."""

    width_bytes: int
    height: int
    data: bytes


Token = Text | Newline | Command | Code2D | Raster


def _need(data: bytes, end: int, at: int) -> None:
    if end > len(data):
        raise EscposParseError(f"command at offset {at} runs past the end of the data")


def tokens(data: bytes, page: str) -> Iterator[Token]:
    """The tokens of ``data``, printable runs decoded with the code page ``page``."""
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b >= 0x20:
            j = i
            while j < n and data[j] >= 0x20:
                j += 1
            yield Text(codepage.decode(data[i:j], page))
            i = j
        elif b == LF:
            yield Newline()
            i += 1
        elif b == HT:
            yield Text("\t")
            i += 1
        elif b == CR:
            i += 1  # ignored in standard mode without auto line feed
        elif b in (ESC, GS, DLE):
            token, i = _command(data, i)
            yield token
        else:
            raise EscposParseError(f"unexpected control byte 0x{b:02x} at offset {i}")


def _command(data: bytes, at: int) -> tuple[Token, int]:
    """The command starting at ``at`` and the offset after it."""
    _need(data, at + 2, at)
    prefix, name = data[at], data[at + 1:at + 2]
    table = {ESC: _ESC_FIXED, GS: _GS_FIXED, DLE: _DLE_FIXED}[prefix]
    start = at + 2
    if name in table:
        end = start + table[name]
        _need(data, end, at)
        return Command(data[at:start], data[start:end]), end
    if prefix == ESC and name == b"D":  # horizontal tab positions, NUL-terminated
        end = data.find(b"\x00", start)
        if end < 0:
            raise EscposParseError(f"ESC D at offset {at} has no NUL")
        return Command(data[at:start], data[start:end]), end + 1
    if prefix == GS and name == b"V":
        _need(data, start + 1, at)
        m = data[start]
        extra = 0 if m in _CUT_NO_FEED else 1 if m in _CUT_WITH_N else -1
        if extra < 0:
            raise EscposParseError(f"GS V with unknown m={m} at offset {at}")
        _need(data, start + 1 + extra, at)
        return Command(data[at:start], data[start:start + 1 + extra]), start + 1 + extra
    if prefix == GS and name == b"(":  # GS ( fn pL pH [p bytes]
        _need(data, start + 3, at)
        fn, size = data[start], data[start + 1] + 256 * data[start + 2]
        end = start + 3 + size
        _need(data, end, at)
        body = data[start + 3:end]
        if fn == ord("k") and size >= 2:
            cn, function = body[0], body[1]
            # Functions 80-83 (store, print, size, read) carry m before their data.
            skip = 3 if function in (80, 81, 82, 83) else 2
            return Code2D(cn, function, body[skip:]), end
        return Command(data[at:start + 1], body), end
    if prefix == GS and name == b"v":  # GS v 0 m xL xH yL yH d1...dk
        _need(data, start + 6, at)
        if data[start] != ord("0"):
            raise EscposParseError(f"GS v not followed by 0 at offset {at}")
        xb = data[start + 2] + 256 * data[start + 3]
        y = data[start + 4] + 256 * data[start + 5]
        end = start + 6 + xb * y
        _need(data, end, at)
        return Raster(xb, y, data[start + 6:end]), end
    raise EscposParseError(f"unknown command {data[at:start]!r} at offset {at}")


def decode_text(data: bytes, codepage: str) -> str:
    """The text ``data`` prints, one "\\n" per LF, with every command stripped."""
    return "".join("\n" if isinstance(t, Newline) else t.text
                   for t in tokens(data, codepage) if isinstance(t, Text | Newline))


def qr_payloads(data: bytes) -> list[str]:
    """The contents stored for native QR codes (GS ( k cn=49 fn=80), in order."""
    return [t.data.decode("utf-8") for t in tokens(data, "CP437")
            if isinstance(t, Code2D) and t.cn == 49 and t.fn == 80]
