"""Identity documents a citizen may give at reception or the kiosk (personal data: only when
needed). A number is checked before it is stored, so a typo is caught at the counter and not
found later in a complaint file."""

from __future__ import annotations

import re

from stdnum.exceptions import ValidationError
from stdnum.pe import cui, ruc

from turnero.errors import InvalidInput

TYPES = ("dni", "ce", "passport", "ruc")
NAMES = {"dni": "DNI", "ce": "Carné de extranjería", "passport": "Pasaporte", "ruc": "RUC"}
_ALNUM = {"ce": re.compile(r"^[A-Z0-9]{8,12}$"), "passport": re.compile(r"^[A-Z0-9]{6,12}$")}


def normalise(kind: str | None, number: str | None) -> tuple[str | None, str | None]:
    """(type, number as stored) of a document, or (None, None) when none was given.

    A DNI is stored as its 8 digits; when the 9th character printed on the card (the check
    digit) is typed too, it must be the right one."""
    if number is None or not number.strip():
        return None, None
    if kind is None or kind == "":
        kind = "dni"
    elif isinstance(kind, str):
        kind = kind.strip().lower()  # "DNI" as typed by a person or another system
    if kind not in TYPES:
        raise InvalidInput("document_type debe ser dni, ce, passport o ruc.",
                           "invalid_document_type")
    text = re.sub(r"[\s.-]", "", number).upper()
    try:
        if kind == "dni":
            return kind, cui.validate(text)[:8]
        if kind == "ruc":
            return kind, ruc.validate(text)
    except ValidationError:
        raise InvalidInput(f"El número de {NAMES[kind]} no es válido.",
                           "invalid_document") from None
    if not _ALNUM[kind].match(text):
        raise InvalidInput(f"El número de {NAMES[kind]} no es válido.", "invalid_document")
    return kind, text
