"""The dashboard's door: a login page, a session cookie, and a guard on every page that shows
data. Centres keep sending with their own tokens (``/api/v1/ingest``), and the health check
and the stylesheet stay public; nothing else answers without a viewer's session.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from sync.central import viewers
from sync.central.db import Database

COOKIE = "central_session"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PUBLIC = ("/api/v1/ingest", "/api/v1/health", "/login", "/static/")
MESSAGES = {
    "bad": (401, "Usuario o contraseña incorrectos."),
    "locked": (429, f"Cuenta bloqueada por intentos fallidos; vuelva a intentar en "
                    f"{viewers.LOCKOUT_MINUTES} minutos."),
    "missing": (400, "Escriba su usuario y su contraseña."),
}


def _is_public(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC)


def _has_control(text: str) -> bool:
    """Whether ``text`` holds a C0 control character (TAB, CR, LF, NUL...) or DEL."""
    return any(c < " " or c == "\x7f" for c in text)


def _local_target(target: str | None) -> str:
    """Where to go after logging in: a path of this site only (never another host), else
    ``/``.

    Browsers, and ``urlsplit`` when werkzeug writes the ``Location`` header, drop TAB, CR
    and LF anywhere in a URL, and browsers read a backslash as a slash: ``/<TAB>/evil.example``
    and ``/\\evil.example`` both become ``//evil.example``, another host. So a target with
    a control character or a backslash is refused, and what is left must be a path that
    starts with exactly one slash, with neither scheme nor host."""
    if not target or _has_control(target) or "\\" in target:
        return "/"
    try:
        parts = urlsplit(target)
    except ValueError:
        return "/"
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def _form_error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": code, "message": message})
    response.status_code = status
    return response


def _login_page(status: int, message: str = "", target: str = "/") -> Response:
    return Response(render_template("login.html", message=message, next=target),
                    status=status)


def install(app: Flask, db: Database) -> None:
    @app.before_request
    def guard() -> BaseResponse | None:
        if _is_public(request.path):
            return None
        viewer = viewers.session_viewer(db, request.cookies.get(COOKIE, ""))
        if viewer is None:
            target = request.full_path if request.query_string else request.path
            return redirect("/login?next=" + quote(target, safe="/"), code=303)
        g.viewer = viewer
        return None

    @app.get("/login")
    def login_form() -> BaseResponse:
        target = _local_target(request.args.get("next"))
        if viewers.session_viewer(db, request.cookies.get(COOKIE, "")):
            return redirect(target, code=303)
        return _login_page(200, target=target)

    @app.post("/login")
    def login() -> BaseResponse:
        if request.mimetype and request.mimetype not in FORM_TYPES:
            # A JSON (or any other) body is not what the login page sends: answered as the
            # API answers, never read as a form.
            return _form_error(400, "invalid_form", "El inicio de sesión se envía como el "
                                                    "formulario de la página de ingreso.")
        target = _local_target(request.form.get("next"))
        name = (request.form.get("usuario") or "").strip().lower()
        password = request.form.get("contrasena") or ""
        if _has_control(name) or _has_control(password):
            # No one types these in the form; PostgreSQL cannot even look a NUL up.
            return _form_error(400, "invalid_form", "El usuario y la contraseña no pueden "
                                                   "llevar caracteres de control.")
        if not name or not password:
            return _login_page(*MESSAGES["missing"], target=target)
        result = viewers.login(db, name, password)
        if result.token is None:
            return _login_page(*MESSAGES[result.outcome], target=target)
        response = redirect(target, code=303)
        response.set_cookie(COOKIE, result.token, max_age=viewers.SESSION_HOURS * 3600,
                            path="/", secure=True, httponly=True, samesite="Strict")
        return response

    @app.post("/logout")
    def logout() -> BaseResponse:
        token = request.cookies.get(COOKIE, "")
        if token:
            viewers.logout(db, token)
        response = redirect("/login", code=303)
        response.delete_cookie(COOKIE, path="/", secure=True, httponly=True,
                               samesite="Strict")
        return response
