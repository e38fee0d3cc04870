"""The central's CSV export: the dashboard's indicators, one row per centre (its total) and
per centre and entity, over a range of service days.

UTF-8 with a byte-order mark, so that Excel reads the accents. Text that a spreadsheet would
run as a formula (a centre or entity code such as ``-calc`` or ``=HYPERLINK(…)``, which the
centres send) is written with a leading apostrophe (:mod:`config.csv_cells`); the figures
stay numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping

from config.csv_cells import safe
from sync.central.indicators import COLUMNS, Cell

HEADER = ("centro", "entidad", "desde", "hasta", "emitidos", "atendidos", "no_se_presento",
          "anulados", "vencidos", "esperas_medidas", "espera_media_min",
          "espera_mediana_min", "dentro_ans", "atenciones_medidas", "atencion_media_min",
          "atencion_dentro_ans", "calificaciones", "calificacion_media", "satisfechos")
TOTAL = "(total)"


def indicators_csv(cells: Mapping[tuple[str, str], Cell], day_from: str, day_to: str) -> str:
    """The CSV text of ``cells`` (``aggregates.read``), byte-order mark first."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for (centre, entity), cell in sorted(cells.items()):
        f = cell.figures()
        writer.writerow([safe(value) for value in (
            centre, entity or TOTAL, day_from, day_to,
            *(f[k] if f[k] is not None else "" for k in COLUMNS))])
    return "\ufeff" + out.getvalue()
