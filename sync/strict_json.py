"""Reading a JSON body sent from outside: what the standard parser lets through but the rest of
the system cannot hold is refused with a reason, before anything is stored.

``json.loads`` accepts texts that break later, far from the request: a lone surrogate
(``"\\ud800"``, which no UTF-8 text holds, so SQLite and PostgreSQL refuse it), nesting as
deep as the interpreter's recursion allows, ``NaN``, ``Infinity`` and ``1e400`` (an infinite
float), and integers of any size (SQLite's INTEGER and PostgreSQL's BIGINT hold 64 bits).
:func:`loads` refuses all of them with :class:`Refused`. The nesting is measured on the text
before it is parsed, in one pass without recursion, so the parser never goes deeper than
``max_depth``.

Used by the box's API (``appliance.http.body``) and by the central's ingest.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, NoReturn

MAX_DEPTH = 32
INT_MIN, INT_MAX = -(2 ** 63), 2 ** 63 - 1

# A string token, from its opening quote to its closing one (or to the end of an unterminated
# text): possessive, so a text full of quotes and backslashes is scanned once, never again
# from each quote. Between strings, whatever is not a bracket.
_STRING_OR_FILLER = re.compile(r'"(?:[^"\\]++|\\.)*+(?:"|\\?\Z)|[^"\[\]{}]++', re.DOTALL)
# Where a string could decode to a lone surrogate or a NUL: only through a \u escape, since
# the text itself was decoded strictly.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_NUL_ESCAPE = re.compile(r"\\u0000")


class Refused(ValueError):
    """A body that is not JSON, or JSON the system cannot hold; the message is for people."""


def loads(data: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH,
          allow_nul: bool = True) -> Any:
    """The value of ``data``, or :class:`Refused`. Bytes are read as ``json.loads`` reads
    them (UTF-8, or UTF-16/32 by their first bytes), but strictly: an invalid sequence is
    refused, not replaced. ``allow_nul=False`` also refuses strings holding U+0000, which
    PostgreSQL cannot store in a text column."""
    if isinstance(data, str):
        text = data
        try:
            text.encode("utf-8")  # a surrogate in the text itself, not written as an escape
        except UnicodeEncodeError:
            raise Refused("El cuerpo no es texto Unicode válido.") from None
    else:
        try:
            text = data.decode(json.detect_encoding(data))
        except (UnicodeDecodeError, LookupError):
            raise Refused("El cuerpo no es texto UTF-8 válido.") from None
    if _nests_deeper(text, max_depth):
        raise Refused(f"El JSON tiene más de {max_depth} niveles de anidación.")
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_float,
                           parse_constant=_constant)
    except Refused:
        raise
    except (ValueError, RecursionError):
        raise Refused("El cuerpo no es JSON válido.") from None
    surrogates = _SURROGATE_ESCAPE.search(text) is not None
    nul = not allow_nul and _NUL_ESCAPE.search(text) is not None
    if surrogates or nul:
        _check_strings(value, nul)
    return value


def _nests_deeper(text: str, limit: int) -> bool:
    """Whether the brackets outside the strings of ``text`` nest more than ``limit`` deep
    (malformed brackets are left to the parser)."""
    depth = 0
    for bracket in _STRING_OR_FILLER.sub("", text):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > 19:  # also keeps int() from ever reading thousands of digits
        raise Refused("El JSON tiene un entero fuera del rango de 64 bits.")
    value = int(digits)
    if not INT_MIN <= value <= INT_MAX:
        raise Refused("El JSON tiene un entero fuera del rango de 64 bits.")
    return value


def _float(digits: str) -> float:
    value = float(digits)
    if not math.isfinite(value):
        raise Refused("El JSON tiene un número fuera de rango.")
    return value


def _constant(name: str) -> NoReturn:
    raise Refused(f"El JSON no admite {name}; use un número finito.")


def _check_strings(value: Any, nul: bool) -> None:
    """Every string of ``value``, keys included, must be valid Unicode (and without U+0000
    when ``nul``); walked with a list, not recursion."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise Refused("El JSON tiene un texto con un carácter sustituto suelto "
                              "(\\ud800 a \\udfff), que no es Unicode válido.") from None
            if nul and "\x00" in item:
                raise Refused("El JSON tiene un texto con el carácter nulo (\\u0000).")
