"""Citas imported from the CSV a booking system exports (docs/citas.md): all rows or none.

A file with a bad row stores nothing and names each bad row (``fila N``, as a spreadsheet
numbers them: the header is row 1), so whoever exported it fixes the file and sends it
whole again. A row the central holds unchanged changes nothing, so a file imported twice,
or a day's export sent again with one more booking, numbers only what changed: the boxes
fetch only that.

A row may cancel (``estado`` = ``cancelada``) but not bring a cancelled code back, move a
cita to another centre, or change one whose citizen has checked in: those are refused as
the API refuses them, and the file with them.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sync.central import citas
from sync.central import citas_fields as fields
from sync.central.db import Conn, Database

HEADER = ("centro", "servicio", "fecha", "hora", "tipo_documento", "numero_documento",
          "nombre", "codigo_reserva")
STATES = {"reservada": "booked", "cancelada": "cancelled"}
MAX_BYTES = 16 * 1024 * 1024
MAX_ROWS = 200_000
MAX_PROBLEMS = 100


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (with or without the BOM spreadsheets write), else the
    Windows code page a spreadsheet in Spanish saves ``CSV`` in."""
    if len(data) > MAX_BYTES:
        raise _refused(["el archivo pasa de 16 MiB"])
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _refused(["el archivo no está en UTF-8"])


def _refused(problems: list[str]) -> citas.Refused:
    shown = problems[:MAX_PROBLEMS]
    if len(problems) > MAX_PROBLEMS:
        shown.append(f"y {len(problems) - MAX_PROBLEMS} problemas más")
    return citas.Refused(400, "invalid_import", "No se importó ninguna cita: "
                         + "; ".join(shown[:3]) + ("…" if len(shown) > 3 else ""), shown)


def rows(text: str) -> list[tuple[int, dict[str, str]]]:
    """The data rows with their spreadsheet row numbers, keyed by the header's names."""
    if "\x00" in text:
        raise _refused(["el archivo contiene caracteres nulos: no es un CSV de texto"])
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","  # Excel in es-PE
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise _refused(["el archivo está vacío"]) from None
    missing = [h for h in HEADER if h not in header]
    if missing:
        raise _refused([f"fila 1: faltan las columnas {', '.join(missing)} (se espera "
                        f"{','.join(HEADER)} y, opcional, estado)"])
    found: list[tuple[int, dict[str, str]]] = []
    try:
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue  # a blank line, as spreadsheets leave at the end
            if len(found) >= MAX_ROWS:
                raise _refused([f"el archivo pasa de {MAX_ROWS} filas: divídalo"])
            found.append((number, dict(zip(header, values, strict=False))))
    except csv.Error as exc:
        raise _refused([f"el archivo no es un CSV válido: {exc}"]) from None
    return found


def _cita(values: dict[str, str], sure: fields.Known) -> tuple[dict[str, Any], list[str]]:
    cita, problems = fields.booking({
        "code": values.get("codigo_reserva"), "centre": values.get("centro"),
        "service": values.get("servicio"), "date": values.get("fecha"),
        "time": values.get("hora"), "document_type": values.get("tipo_documento"),
        "document": values.get("numero_documento"), "name": values.get("nombre")}, sure)
    state = (values.get("estado") or "reservada").strip().lower()
    if state not in STATES:
        problems.append("el estado debe ser reservada o cancelada")
    cita["status"] = STATES.get(state, "booked")
    return cita, problems


def _same(row: dict[str, Any], cita: dict[str, Any]) -> bool:
    """Whether the file says what the central holds (a forgotten cita's blanked citizen
    is not a difference: the file still has it, the central let it go)."""
    keys = citas.CONTENT if row["document"] is not None else (
        [k for k in citas.CONTENT if k not in citas.PERSONAL])
    return row["status"] == cita["status"] and all(row[k] == cita[k] for k in keys)


def _plan(found: dict[str, dict[str, Any]], cita: dict[str, Any]) -> str:
    """What a valid row does: ``new``, ``same``, ``cancel``, ``change``, or why not."""
    row = found.get(cita["code"])
    if row is None:
        return "new"
    if row["centre"] != cita["centre"]:
        return f"la cita {cita['code']} es del centro {row['centre']}"
    if row["status"] == "cancelled":
        return "same" if cita["status"] == "cancelled" else (
            f"la cita {cita['code']} está cancelada; una nueva reserva lleva otro código")
    if cita["status"] == "cancelled":
        return "cancel"
    if _same(row, cita):
        return "same"
    if row["checked_in_at"]:
        return f"la cita {cita['code']} ya registró la llegada del ciudadano; no se cambia"
    return "change"


def _check(text: str, tx: Conn) -> list[tuple[int, dict[str, Any]]]:
    """The file's valid citas, or Refused naming every bad row."""
    sure, problems = fields.known(tx), list[str]()
    made: list[tuple[int, dict[str, Any]]] = []
    first: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, values in rows(text):
        cita, wrong = _cita(values, sure)
        earlier = first.get(cita.get("code", ""))
        if earlier and not wrong and any(earlier[1].get(k) != cita.get(k)
                                         for k in (*citas.CONTENT, "status")):
            wrong.append(f"el código {cita['code']} ya está en la fila {earlier[0]} "
                         "con otros datos")
        problems.extend(f"fila {number}: {w}" for w in wrong)
        if not wrong and not earlier:
            first[cita["code"]] = (number, cita)
            made.append((number, cita))
    if problems:
        raise _refused(problems)
    if not made:
        raise _refused(["el archivo no tiene filas de citas"])
    return made


def import_text(db: Database, text: str, by: str,
                retention_days: int = citas.DEFAULT_RETENTION_DAYS,
                today: date | None = None) -> dict[str, int]:
    """Import the CSV ``text`` whole, or Refused with every bad row and nothing stored;
    then erase the personal data past ``retention_days`` (at every import). Counts."""
    counts = {"rows": 0, "new": 0, "changed": 0, "cancelled": 0, "unchanged": 0}
    with db.transaction() as tx:
        made = _check(text, tx)
        citas.lock(tx, {c["centre"] for _, c in made})
        found = citas.stored(tx, [c["code"] for _, c in made])
        plans = [(number, cita, _plan(found, cita)) for number, cita in made]
        bad = [f"fila {n}: {p}" for n, _, p in plans if p not in
               ("new", "same", "cancel", "change")]
        if bad:
            raise _refused(bad)
        numbers = {c: citas.next_change(tx, c) - 1 for c in {c["centre"] for _, c in made}}
        new, rewrite = [], []
        for _, cita, plan in plans:
            counts["rows"] += 1
            counts[{"new": "new", "same": "unchanged", "cancel": "cancelled",
                    "change": "changed"}[plan]] += 1
            if plan == "same":
                continue
            numbers[cita["centre"]] += 1
            change = numbers[cita["centre"]]
            if plan == "new":
                new.append({**cita, "change": change})
            else:
                base = found[cita["code"]] if plan == "cancel" else cita
                rewrite.append({**base, "status": cita["status"], "change": change})
        citas.insert(tx, new, by)
        citas.update(tx, rewrite, by)
    citas.forget(db, retention_days, today or citas.today())
    return counts
