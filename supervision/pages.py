"""The supervision pages: the live floor, ``/supervision``, and the indicators with the ANS
catalogue, ``/supervision/reports``. Each page is a plain HTML shell that anyone may load;
everything it shows or changes goes through ``/api/v1``, where each role's rights are
enforced, so a page only hides what the signed-in role could not do anyway."""

from __future__ import annotations

from flask import Blueprint, render_template

from appliance import parts
from turnero.accounts import ROLES
from turnero.cancellations import CANCEL_REASONS, NOTE_MAX
from turnero.checklist import ITEMS
from turnero.floor import PAUSE_REASONS
from turnero.reports import GROUPS
from turnero.reports.tabular import GROUP_ES

bp = Blueprint("supervision", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/supervision")

ROLE_NAMES = {"admin": "Administrador(a) TIC", "supervisor": "Supervisor(a)",
              "receptionist": "Orientador(a)", "agent": "Asesor(a)"}
PAUSE_NAMES = {"break": "Refrigerio", "training": "Capacitación", "it_support": "Soporte TIC",
               "entity_system_down": "Sistema de la entidad caído", "other": "Otro"}


@bp.get("/supervision")
def supervision() -> str:
    settings = parts.settings()
    return render_template(
        "supervision.html", centre=settings.centre.name, checks=ITEMS,
        roles=[(r, ROLE_NAMES[r]) for r in reversed(ROLES)],  # floor staff first
        pauses=[(r, PAUSE_NAMES[r]) for r in PAUSE_REASONS],
        cancel_reasons=CANCEL_REASONS, cancel_note_max=NOTE_MAX)


@bp.get("/supervision/reports")
def reports() -> str:
    """Indicators of a period (table, charts, downloads, print) and the dated ANS catalogue;
    like the floor, a shell whose data come from ``/api/v1/reports`` and ``/api/v1/ans``."""
    settings = parts.settings()
    return render_template("reports.html", centre=settings.centre.name,
                           groups=[(g, GROUP_ES[g]) for g in GROUPS])
