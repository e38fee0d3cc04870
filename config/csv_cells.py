"""CSV cells that a spreadsheet shows and never runs (CSV or formula injection).

A text cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab, a line break or a NUL)
would be read by Excel or LibreOffice as a formula: an asesor's full name or an entity code
such as ``=HYPERLINK("http://…","…")`` would become a link or a command when a supervisor
opens the export. Such text gets a leading apostrophe (OWASP's advice), which the
spreadsheet shows as text. Numbers keep their type and their sign: only text is changed.

It lives in ``config`` because that is the one package that both the box's reports
(``turnero``) and the central receiver's export (``sync.central``) may import.
"""

from __future__ import annotations

from typing import TypeVar

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")

V = TypeVar("V")


def safe(value: V) -> V | str:
    """``value`` unchanged unless it is text that begins like a formula: then with ``'``
    in front."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value
