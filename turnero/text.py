"""Free text typed by people (a citizen's name, a message for the TVs, a queue's closing
reason) is cleaned where it enters the engine, before it is stored or any screen shows it.

Such a text is one line. What a person means by it survives; what could take over a screen
or a terminal does not: control characters (C0, DEL, C1, and so the escape sequences that
colour or move a terminal's cursor), bidirectional overrides and isolates that make a name
read backwards on a TV, and the other invisible format characters (zero-width spaces and
joiners, the byte order mark, soft hyphens). The text is normalised to NFC (an accented
letter is one character however it was typed) and every run of whitespace, line breaks and
tabs included, becomes one ordinary space.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from turnero.errors import InvalidInput

# An ANSI/ECMA-48 control sequence (CSI: ESC [ or the one-character U+009B, then parameters
# and one final character) goes whole, not only its ESC: "\x1b[31m" leaves nothing behind.
_CONTROL_SEQUENCE = re.compile(r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]")
# Cc: C0, DEL and C1 controls; Cf: format characters, every bidirectional control among them
# (U+061C, U+200E, U+200F, U+202A to U+202E, U+2066 to U+2069); Cs: a lone surrogate, which
# JSON can carry ("\ud800") but no UTF-8 text can hold.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs"})


def clean_line(text: str) -> str:
    """``text`` as one clean line: NFC, no control or format characters, whitespace runs
    collapsed to one space, no space at either end."""
    text = _CONTROL_SEQUENCE.sub("", unicodedata.normalize("NFC", text))
    kept = []
    for char in text:
        if char.isspace():
            kept.append(" ")  # a tab or line break separates words like a space does
        elif unicodedata.category(char) not in _DROPPED_CATEGORIES:
            kept.append(char)
    # Removing a character can bring a decomposed accent next to its letter again.
    return unicodedata.normalize("NFC", " ".join("".join(kept).split()))


def line(value: Any, field: str, limit: int, code: str | None = None) -> str | None:
    """A person's one-line text for ``field``, cleaned (:func:`clean_line`); None when it is
    missing or nothing is left of it. Refused (400) when it is not a text or when, cleaned,
    it is longer than ``limit`` characters."""
    if value is None:
        return None
    if isinstance(value, str):
        cleaned = clean_line(value)
        if len(cleaned) <= limit:
            return cleaned or None
    raise InvalidInput(f"{field} debe ser un texto de hasta {limit} caracteres.",
                       code or f"invalid_{field}", limit=limit)
