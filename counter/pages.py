"""The módulo room's pages: ``/counter`` (the asesor's desk) and ``/counter/rating`` (the
screen turned to the citizen). The pages are plain HTML; their scripts call ``/api/v1``."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, render_template, request

from appliance import parts
from turnero.calls import MANUAL_REASONS, NOTE_MAX

HERE = Path(__file__).parent
RATING_LANGUAGES = ("es", "qu")

bp = Blueprint("counter", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/counter")

# Keys a browser does not keep for itself (F1 help, F5 reload, F6 address bar, F7 caret
# browsing, F10 menu, F11 full screen and F12 tools are left alone).
SHORTCUTS = (("F2", "call-next", "Llamar siguiente"), ("F3", "recall", "Volver a llamar"),
             ("F4", "start", "Iniciar"), ("F8", "finish", "Finalizar"),
             ("F9", "no-show", "No se presentó"))


@cache
def rating_texts() -> dict[str, dict[str, str]]:
    """The citizen's texts per language, from files a translator edits without code."""
    return {lang: json.loads((HERE / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
            for lang in RATING_LANGUAGES}


def _bound_counter() -> int | None:
    """The módulo a device is bound to with ``?counter=N`` (its browser's start address)."""
    value = request.args.get("counter", "")
    return int(value) if value.isdigit() and 0 < int(value) < 10000 else None


@bp.get("/counter")
def desk() -> str:
    s = parts.settings()
    return render_template("desk.html", centre=s.centre.name, options=s.counter,
                           shortcuts=SHORTCUTS, bound=_bound_counter(),
                           manual_reasons=MANUAL_REASONS, note_max=NOTE_MAX)


@bp.get("/counter/rating")
def rating() -> str:
    s = parts.settings()
    language = s.centre.language if s.centre.language in RATING_LANGUAGES else "es"
    return render_template("rating.html", centre=s.centre.name, bound=_bound_counter(),
                           texts=rating_texts(), language=language)
