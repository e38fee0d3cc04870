"""The dashboard's door: a login page, a session cookie, and a guard on every page that shows
data. Centres keep sending with their own tokens (``/api/v1/ingest``), and the health check
and the stylesheet stay public; nothing else answers without a viewer's session.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask, Response, g, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from sync.central import viewers
from sync.central.db import Database

COOKIE = "central_session"
PUBLIC = ("/api/v1/ingest", "/api/v1/health", "/login", "/static/")
MESSAGES = {
    "bad": (401, "Usuario o contraseña incorrectos."),
    "locked": (429, f"Cuenta bloqueada por intentos fallidos; vuelva a intentar en "
                    f"{viewers.LOCKOUT_MINUTES} minutos."),
    "missing": (400, "Escriba su usuario y su contraseña."),
}


def _is_public(path: str) -> bool:
    return any(path == p or (p.endswith("/") and path.startswith(p)) for p in PUBLIC)


def _local_target(target: str | None) -> str:
    """Where to go after logging in: a path of this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return "/"


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
        target = _local_target(request.form.get("next"))
        name = (request.form.get("usuario") or "").strip().lower()
        password = request.form.get("contrasena") or ""
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
