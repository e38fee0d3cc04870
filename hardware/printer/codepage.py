"""Text and the printer's code page: which characters a code page holds, how to bring any
text into it, and how to read its bytes back.

The character tables are python-escpos's own (escpos-printer-db), so what this module calls
encodable is exactly what python-escpos encodes instead of writing "?".
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

REQUIRED = "áéíóúüñÁÉÍÓÚÜÑ¿¡"  # what Spanish and Quechua tickets need
UNKNOWN_CHAR = "?"

# Typographic characters people paste into names, and their plain equivalents; Quechua
# is often written with the modifier-letter apostrophe (p'unchaw).
_SUBSTITUTES = {
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
    "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u02bc": "'", "\u00b4": "'",
    "\u201a": ",", "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2026": "...",
    "\u00a0": " ", "\u2007": " ", "\u202f": " ", "\u2022": "*", "\u20ac": "EUR",
}
# Control characters in a text would reach the printer as commands (ESC @ resets it, GS V
# cuts the paper): line breaks and tabs become spaces, the others are dropped.
_CONTROLS: dict[int, str | None] = {code: None for code in (*range(0x20), *range(0x7F, 0xA0))}
_CONTROLS.update({ord(c): " " for c in "\t\n\v\f\r\x85"})


@lru_cache(maxsize=64)
def table(codepage: str) -> tuple[str | None, ...]:
    """Characters of bytes 0x80-0xFF in ``codepage`` (None where a byte holds nothing).

    Raises KeyError for a code page python-escpos does not know."""
    from hardware.printer._escpos import CodePages  # on first use: see _escpos

    data = CodePages.get_encoding(codepage.upper())
    if "data" in data:
        chars = list("".join(data["data"]))
        return tuple(c if c not in (" ", "\ufffd") else None for c in chars)
    if "python_encode" in data:
        found: list[str | None] = []
        for byte in range(0x80, 0x100):
            try:
                found.append(bytes([byte]).decode(data["python_encode"]))
            except UnicodeDecodeError:
                found.append(None)
        return tuple(found)
    raise KeyError(codepage)


@lru_cache(maxsize=64)
def _encodable(codepage: str) -> frozenset[str]:
    return frozenset(c for c in table(codepage) if c is not None)


def known(codepage: str) -> bool:
    """Whether python-escpos has a character table for ``codepage``."""
    try:
        table(codepage)
    except KeyError:
        return False
    return True


def can_encode(text: str, codepage: str) -> bool:
    """Whether every character of ``text`` prints as itself in ``codepage``."""
    chars = _encodable(codepage)
    return all(ord(c) < 0x80 or c in chars for c in text)


def missing(text: str, codepage: str) -> str:
    """The characters of ``text`` that ``codepage`` cannot print, in order, once each."""
    chars = _encodable(codepage)
    return "".join(dict.fromkeys(c for c in text if ord(c) >= 0x80 and c not in chars))


def fit_text(text: str, codepage: str) -> str:
    """``text`` with every character the code page lacks replaced by its plain equivalent
    (typographic dashes and quotes, accents stripped as a last resort) or "?", and without
    control characters."""
    text = unicodedata.normalize("NFC", text).translate(_CONTROLS)
    chars = _encodable(codepage)
    if all(ord(c) < 0x80 or c in chars for c in text):
        return text
    out = []
    for c in text:
        if ord(c) < 0x80 or c in chars:
            out.append(c)
        elif c in _SUBSTITUTES and can_encode(_SUBSTITUTES[c], codepage):
            out.append(_SUBSTITUTES[c])
        else:
            base = "".join(b for b in unicodedata.normalize("NFKD", c)
                           if not unicodedata.combining(b))
            out.append(base if base and can_encode(base, codepage) else UNKNOWN_CHAR)
    return "".join(out)


def decode(data: bytes, codepage: str) -> str:
    """Printable bytes back to text; a byte the code page does not define becomes U+FFFD."""
    high = table(codepage)
    return "".join(chr(b) if b < 0x80 else (high[b - 0x80] or "\ufffd") for b in data)
