"""The reception room's pages: ``/kiosk``, ``/reception``, ``/t/<token>`` and the QR code of a
ticket's status address. The pages are plain HTML; their scripts call ``/api/v1``."""

from __future__ import annotations

import io
import json
from functools import cache
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    render_template,
    request,
    send_from_directory,
)

from appliance import parts
from kiosk import public_address
from turnero import views
from turnero.cancellations import CANCEL_REASONS, NOTE_MAX
from turnero.errors import NotFound

HERE = Path(__file__).parent
LANGUAGES = ("es", "qu", "en")

bp = Blueprint("kiosk", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/kiosk")


@cache
def catalogue(language: str) -> dict[str, str]:
    """The texts of the citizen-facing pages in one language (files a translator can edit)."""
    return json.loads((HERE / "i18n" / f"{language}.json").read_text(encoding="utf-8"))


def public_base() -> str:
    """The address phones use to reach the box (``kiosk.public_address``): never a loopback
    one while the box has a LAN address."""
    return public_address.for_request()


def _language() -> str:
    wanted = request.args.get("lang") or parts.settings().centre.language
    return wanted if wanted in LANGUAGES else "es"


@bp.get("/kiosk")
def kiosk() -> str:
    s = parts.settings()
    return render_template("kiosk.html", centre=s.centre.name, options=s.kiosk,
                           language=s.centre.language, texts=catalogue(s.centre.language))


@bp.get("/reception")
def reception() -> str:
    return render_template("reception.html", centre=parts.settings().centre.name,
                           cancel_reasons=CANCEL_REASONS, cancel_note_max=NOTE_MAX)


@bp.get("/kiosk/i18n/<language>.json")
def texts(language: str) -> Response:
    if language not in LANGUAGES:
        abort(404)
    response = current_app.response_class(json.dumps(catalogue(language), ensure_ascii=False),
                                          mimetype="application/json")
    response.headers["Cache-Control"] = "max-age=300"
    return response


@bp.get("/kiosk/logos/<name>")
def logo(name: str) -> Response:
    """An entity's logo, from the folder ``logos/`` beside the database (nothing is fetched
    from the internet)."""
    folder = parts.store().path.parent / "logos"
    return send_from_directory(folder, name, max_age=3600)


@bp.get("/t/<token>")
def status(token: str) -> tuple[str, int] | str:
    language = _language()
    try:
        ticket = views.ticket_by_token(parts.store(), token)
    except NotFound:
        return render_template("status.html", ticket=None, token="", language=language,
                               texts=catalogue(language), centre=parts.settings().centre.name), 404
    return render_template("status.html", ticket=ticket, token=token, language=language,
                           texts=catalogue(language), centre=parts.settings().centre.name)


@bp.get("/t/<token>/qr.svg")
def qr(token: str) -> Response:
    """The QR code printed and shown on screen: the absolute status address of the ticket."""
    if not views.token_exists(parts.store(), token):
        abort(404)
    import qrcode.image.svg  # here: qrcode and the Pillow it loads (4 MiB) once a QR is drawn

    image = qrcode.make(f"{public_base()}/t/{token}", image_factory=qrcode.image.svg.SvgImage,
                        box_size=10, border=2)
    out = io.BytesIO()
    image.save(out)
    response = current_app.response_class(out.getvalue(), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "max-age=86400"
    return response
