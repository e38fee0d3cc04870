"""Fixes for the catalogue texts as extracted from the PCM report's PDF (Anexos 2 and 3).

The CSV files keep what the extraction produced, so they can be compared with a new
extraction; the fixes below are applied when the texts are read. Each fix says why, and a
test checks that every fix still finds its text (a fix that matches nothing is stale).
"""

from __future__ import annotations

import re

# (wrong text, right text, why): exact, case-sensitive replacements in names.
FIXES: tuple[tuple[str, str, str], ...] = (
    ("DNle", "DNIe", "the PDF's font renders the capital I of DNIe (DNI electrónico) as l"),
    ("Mayores.(excepto", "Mayores (excepto", "a stray full stop glued to the parenthesis"),
    ("N°004-2019- AL/MDC", "N° 004-2019-AL/MDC",
     "a line break inside the ordinance number left a space after the hyphen"),
)


def clean(text: str) -> str:
    """The text with the known extraction typos fixed and runs of spaces collapsed."""
    for wrong, right, _why in FIXES:
        text = text.replace(wrong, right)
    return re.sub(r"\s+", " ", text).strip()
