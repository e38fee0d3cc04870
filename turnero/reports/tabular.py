"""A report as a flat table: the columns of the CSV export, in the words a supervisor reads.

Times are in minutes with one decimal and shares in percent, as in the report page; the
CSV opens right in a Spanish Excel: UTF-8 with a byte-order mark and, with ``;`` as the
separator, a decimal comma. Text that a spreadsheet would run as a formula (an asesor's
full name such as ``=HYPERLINK(…)``) is written with a leading apostrophe
(:mod:`config.csv_cells`); numbers stay numbers, negative ones too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from config.csv_cells import safe
from turnero.floor import PAUSE_REASONS

PAUSE_ES = {"break": "refrigerio", "training": "capacitación", "it_support": "soporte TI",
            "entity_system_down": "caída del sistema", "other": "otro"}
GROUP_ES = {None: "Total", "entity": "Entidad", "queue": "Cola", "service": "Servicio",
            "counter": "Módulo", "agent": "Asesor", "hour": "Hora", "priority": "Categoría",
            "channel": "Canal"}


def _minutes(value: float | None) -> float | None:
    return None if value is None else round(value / 60, 1)


def _percent(value: float | None) -> float | None:
    return None if value is None else round(value * 100, 1)


def _columns() -> list[tuple[str, Callable[[dict], Any]]]:
    cols: list[tuple[str, Callable[[dict], Any]]] = [
        ("Código", lambda r: r["key"]), ("Nombre", lambda r: r["label"]),
        ("Emitidos", lambda r: r["issued"]), ("Ingresos a la cola", lambda r: r["entered"]),
        ("Atendidos", lambda r: r["served"]), ("No se presentaron", lambda r: r["no_show"]),
        ("Anulados", lambda r: r["cancelled"]), ("Vencidos", lambda r: r["expired"]),
        ("Derivados", lambda r: r["transferred"]), ("En curso", lambda r: r["in_progress"])]
    for block, title in (("wait", "Espera"), ("attention", "Atención")):
        cols += [(f"{title} media (min)", _stat(block, "mean")),
                 (f"{title} mediana (min)", _stat(block, "median")),
                 (f"{title} p90 (min)", _stat(block, "p90")),
                 (f"{title} máxima (min)", _stat(block, "max"))]
    cols += [("Espera dentro del ANS (%)", lambda r: _percent(r["within_wait_target"])),
             ("Atención dentro del ANS (%)",
              lambda r: _percent(r["within_attention_target"])),
             ("Espera media preferente (min)", _stat("wait_preferential", "mean")),
             ("Espera media general (min)", _stat("wait_normal", "mean")),
             ("Calificaciones", lambda r: r["satisfaction"]["count"]),
             ("Satisfacción media (1-5)", lambda r: r["satisfaction"]["mean"])]
    cols += [(f"Calificados con {s}", _rating(s)) for s in "12345"]
    cols += [("Asesor atendiendo (min)", _desk("serving")),
             ("Asesor llamando (min)", _desk("calling")),
             ("Asesor disponible sin atender (min)", _desk("idle"))]
    cols += [(f"Pausa {PAUSE_ES[r]} (min)", _pause(r)) for r in PAUSE_REASONS]
    return cols


def _stat(block: str, name: str) -> Callable[[dict], Any]:
    return lambda r: _minutes(r[block].get(name))


def _rating(score: str) -> Callable[[dict], Any]:
    return lambda r: r["satisfaction"]["distribution"][score]


def _desk(name: str) -> Callable[[dict], Any]:
    return lambda r: None if r["desk"] is None else _minutes(r["desk"][name])


def _pause(reason: str) -> Callable[[dict], Any]:
    return lambda r: None if r["desk"] is None else _minutes(r["desk"]["paused"][reason])


def table(report: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Header and rows (the groups, then the total)."""
    cols = _columns()
    rows = [[get(r) for _, get in cols] for r in [*report["rows"], report["total"]]]
    return [GROUP_ES[report["group"]] if i == 0 else name
            for i, (name, _) in enumerate(cols)], rows


def to_csv(report: dict[str, Any], separator: str = ";") -> bytes:
    """The CSV bytes, BOM first; with ``;`` numbers are written with a decimal comma."""
    header, rows = table(report)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r\n")
    writer.writerow([safe(name) for name in header])
    for row in rows:
        writer.writerow([_cell(v, separator) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value: Any, separator: str) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = str(value)
        return text.replace(".", ",") if separator == ";" else text
    return str(safe(value))
