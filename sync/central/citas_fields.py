"""What a cita's fields may hold, checked the same way for the API, the CSV import and the
command line (docs/citas.md): a field that is wrong is named with why, in Spanish, so the
person who booked or exported it can fix it, and nothing about it is stored.

The citizen's document is kept as the boxes keep it (``turnero.documents.normalise``: a DNI
as its 8 digits, the check digit checked when typed): the box finds a cita by the document a
citizen types at the kiosk, so both must write it alike. The central may not import
``turnero`` (tests/test_layout.py), so the rule is repeated here and a test holds the two
equal.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from stdnum.exceptions import ValidationError
from stdnum.pe import cui, ruc

from config.catalogue_document import centre_view
from sync.central import catalogue
from sync.central.db import Conn

CODE = re.compile(r"^[A-Z0-9-]{4,32}\Z")
CENTRE = re.compile(r"^[A-Za-z0-9_-]{1,40}\Z")
SLOT = re.compile(r"^([0-9]{1,2}):([0-9]{2})(:00)?\Z")
ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
PERU_DAY = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})\Z")
MAX_NAME = 120
DOCUMENT_TYPES = {"dni": "dni", "ce": "ce", "passport": "passport", "ruc": "ruc",
                  "pasaporte": "passport", "carne de extranjeria": "ce",
                  "carné de extranjería": "ce", "carnet de extranjeria": "ce"}
DOCUMENT_NAMES = {"dni": "DNI", "ce": "carné de extranjería", "passport": "pasaporte",
                  "ruc": "RUC"}
_ALNUM = {"ce": re.compile(r"^[A-Z0-9]{8,12}\Z"), "passport": re.compile(r"^[A-Z0-9]{6,12}\Z")}


class Bad(ValueError):
    """One field's value cannot be a cita's; the message says why, for people."""


@dataclass
class Known:
    """What a cita is checked against: the registered centres and, once a catalogue version
    is published, the services each centre offers in the newest one (read once per request
    or file, not once per row)."""

    centres: set[str]
    document: dict[str, Any] | None
    offered: dict[str, set[int]] = field(default_factory=dict)

    def services(self, centre: str) -> set[int] | None:
        """The service ids ``centre`` offers (None: no catalogue, any id goes)."""
        if self.document is None:
            return None
        if centre not in self.offered:
            view = centre_view(self.document, centre)
            self.offered[centre] = {s["id"] for s in view["services"]
                                    if isinstance(s, dict) and isinstance(s.get("id"), int)}
        return self.offered[centre]


def known(conn: Conn) -> Known:
    centres = {str(r["code"]) for r in conn.query("SELECT code FROM centres")}
    number = catalogue.newest(conn)
    document = None
    if number:
        rows = conn.query("SELECT body FROM catalogue_versions WHERE number = ?", (number,))
        document = json.loads(rows[0]["body"])
    return Known(centres, document)


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character (C0, DEL or C1)."""
    return any(c < " " or "\x7f" <= c <= "\x9f" for c in text)


def text(value: Any, what: str, longest: int) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # a spreadsheet's number, for a code or a document
    if not isinstance(value, str) or not value.strip():
        raise Bad(f"falta {what}")
    value = value.strip()
    if len(value) > longest:
        raise Bad(f"{what} pasa de {longest} caracteres")
    if has_control(value):
        raise Bad(f"{what} lleva caracteres de control")
    return value


def code(value: Any) -> str:
    found = text(value, "el código de reserva", 64).upper()
    if not CODE.match(found):
        raise Bad("el código de reserva debe tener de 4 a 32 letras (A-Z), dígitos o guiones")
    return found


def centre(value: Any, sure: Known) -> str:
    found = text(value, "el centro", 40)
    if not CENTRE.match(found) or found not in sure.centres:
        raise Bad(f"el centro {found!r} no está registrado en el central")
    return found


def service(value: Any, centre_code: str | None, sure: Known) -> int:
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,9}\s*", value):
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value < 10**9:
        raise Bad("el servicio debe ser el número (id) de un servicio del catálogo")
    offered = sure.services(centre_code) if centre_code else None
    if offered is not None and value not in offered:
        raise Bad(f"el servicio {value} no está en el catálogo nacional vigente para "
                  f"el centro {centre_code}")
    return value


def day(value: Any) -> str:
    found = text(value, "la fecha", 10)
    peru = PERU_DAY.match(found)
    if peru:
        found = f"{peru.group(3)}-{int(peru.group(2)):02d}-{int(peru.group(1)):02d}"
    try:
        if not ISO_DAY.match(found):
            raise ValueError
        return date.fromisoformat(found).isoformat()
    except ValueError:
        raise Bad(f"la fecha {found!r} no es AAAA-MM-DD ni DD/MM/AAAA") from None


def slot(value: Any) -> str:
    found = SLOT.match(text(value, "la hora", 8))
    if not found or int(found.group(1)) > 23 or int(found.group(2)) > 59:
        raise Bad("la hora debe ser HH:MM (00:00 a 23:59)")
    return f"{int(found.group(1)):02d}:{found.group(2)}"


def name(value: Any) -> str:
    return text(value, "el nombre", MAX_NAME)


def document(kind: Any, number: Any) -> tuple[str, str]:
    """(type, number as the boxes store it); the same rules as ``turnero.documents``."""
    number = text(number, "el número de documento", 40)
    if kind is None or (isinstance(kind, str) and not kind.strip()):
        kind = "dni"
    if not isinstance(kind, str) or kind.strip().lower() not in DOCUMENT_TYPES:
        raise Bad("el tipo de documento debe ser DNI, CE, pasaporte o RUC")
    kind = DOCUMENT_TYPES[kind.strip().lower()]
    compact = re.sub(r"[\s.-]", "", number).upper()
    wrong = Bad(f"el número de {DOCUMENT_NAMES[kind]} no es válido")
    try:
        if kind == "dni":
            return kind, str(cui.validate(compact))[:8]
        if kind == "ruc":
            return kind, str(ruc.validate(compact))
    except ValidationError:
        raise wrong from None
    if not _ALNUM[kind].match(compact):
        raise wrong
    return kind, compact


def booking(data: dict[str, Any], sure: Known) -> tuple[dict[str, Any], list[str]]:
    """A new cita from ``data`` (the API's keys) and every problem with it."""
    problems: list[str] = []
    found: dict[str, Any] = {}

    def take(key: str, check: Any, *args: Any) -> None:
        try:
            found[key] = check(*args)
        except Bad as exc:
            problems.append(str(exc))

    take("code", code, data.get("code"))
    take("centre", centre, data.get("centre"), sure)
    take("service", service, data.get("service"), found.get("centre"), sure)
    take("day", day, data.get("date"))
    take("slot", slot, data.get("time"))
    take("identity", document, data.get("document_type"), data.get("document"))
    take("name", name, data.get("name"))
    if "identity" in found:
        found["document_type"], found["document"] = found.pop("identity")
    return found, problems
