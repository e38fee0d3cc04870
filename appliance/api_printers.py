"""Printers as staff and kiosks see them: the state of a print job, each printer's state with
the tickets it still owes, and the preview of what a virtual printer printed last."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from appliance.http import RECEPTION, STAFF, ApiError, body, require
from appliance.printing import printing

bp = Blueprint("api_printers", __name__, url_prefix="/api/v1")


@bp.get("/print-jobs/<job_id>")
@require(*STAFF, "kiosk")
def print_job(job_id: str) -> Response:
    """Whether the paper came out: queued, printed, or pending (the printer has a problem;
    the job prints when it is solved, or the orientador reprints)."""
    job = printing().job(job_id)
    if job is None:
        raise ApiError(404, "print_job_not_found", "No existe ese trabajo de impresión.")
    return jsonify(job)


@bp.get("/printers")
@require(*STAFF)
def printers() -> Response:
    return jsonify({"printers": printing().states()})


@bp.post("/printers/<name>/retry")
@require(*RECEPTION)
def retry(name: str) -> Response:
    """Staff loaded paper or plugged the printer back: try the pending jobs now."""
    body()
    if not printing().retry(name):
        raise ApiError(404, "printer_not_found", "No existe esa impresora.")
    return jsonify({"ok": True})


@bp.get("/printers/<name>/preview.png")
@require(*RECEPTION)
def preview(name: str) -> Response:
    """The last ticket a virtual printer printed, as a picture (demos and training)."""
    png = printing().preview(name)
    if png is None:
        raise ApiError(404, "no_preview", "Esa impresora no tiene vista previa.")
    return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})
