"""The files every staff page shares, served by the composition root under
``/static/shared/``: ``staff.js`` (calls to ``/api/v1`` with the CSRF token, the sign-in,
the «Sin conexión» state, the live stream that reconnects) and ``staff.css`` (that state's
notice). The rooms' templates load them with ``url_for("shared.static", filename=…)``."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("shared", __name__, static_folder="static", static_url_path="/static/shared")
