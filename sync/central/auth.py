"""The dashboard's door: a login page, a session cookie, and a guard on every page that shows
data. Centres keep sending with their own tokens (``/api/v1/ingest``), and the health check
and the stylesheet stay public; nothing else answers without a viewer's session.

Login CSRF (a page elsewhere posting the form to sign the browser into someone else's
account) is refused twice over: the form carries a token that must equal the pre-session
cookie ``LOGIN_COOKIE`` (HttpOnly, Secure, SameSite=Strict: another site can neither read it
nor have it sent; ``__Host-``: nor set it from a sibling subdomain), and a request whose
``Sec-Fetch-Site`` says it comes from another site, or whose ``Origin`` names another host,
is refused before the token is read.
Failed logins are throttled per source address (``viewers.LoginGuard``).
"""

from __future__ import annotations

import hmac
import re
import secrets
from urllib.parse import quote, urlsplit

from flask import Flask, Response, g, jsonify, redirect, render_template, request
from werkzeug.wrappers import Response as BaseResponse

from sync.central import viewers
from sync.central.db import Database

COOKIE = "central_session"
LOGIN_COOKIE = "__Host-central_login"  # the login form's pre-session token
LOGIN_TOKEN_FIELD = "csrf"
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
PUBLIC = ("/api/v1/ingest", "/api/v1/catalogue", "/api/v1/box/citas", "/api/v1/health",
          "/login", "/static/")
# Sec-Fetch-Site values of a form sent from this site's own page (or typed by hand).
SAME_SITE_FETCH = ("same-origin", "none")
BAD_LOGIN = ("Usuario o contraseña incorrectos. Si sus datos son correctos, hubo demasiados "
             "intentos fallidos desde este equipo: espere unos minutos.")
MESSAGES = {
    "bad": (401, BAD_LOGIN),
    "missing": (400, "Escriba su usuario y su contraseña."),
    "forged": (403, "El formulario de ingreso caducó o no salió de esta página; vuelva a "
                    "escribir su usuario y su contraseña."),
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


def _throttled_message(seconds: int) -> str:
    return (f"Demasiados intentos fallidos desde este equipo; espere {seconds} "
            f"segundo{'' if seconds == 1 else 's'} antes "
            "de volver a intentar.")


def _login_token() -> tuple[str, bool]:
    """The browser's pre-session token, or a new one; and whether it is new (to be set)."""
    token = request.cookies.get(LOGIN_COOKIE, "")
    if _TOKEN.match(token):
        return token, False
    return secrets.token_urlsafe(32), True


def _login_page(status: int, message: str = "", target: str = "/") -> Response:
    """The login form, with the pre-session token in a hidden field (and in the cookie,
    when the browser had none yet)."""
    token, new = _login_token()
    response = Response(render_template("login.html", message=message, next=target,
                                        token_field=LOGIN_TOKEN_FIELD, token=token),
                        status=status)
    if new:
        response.set_cookie(LOGIN_COOKIE, token, path="/", secure=True, httponly=True,
                            samesite="Strict")
    return response


def from_elsewhere() -> bool:
    """Whether the browser says this request comes from a page of another site.

    ``Sec-Fetch-Site`` other than same-origin (or none: typed, a bookmark) is refused, a
    sibling subdomain's ``same-site`` included. An ``Origin`` is compared by host only (a
    TLS-terminating proxy may hand the scheme on as http); ``Origin: null`` says nothing
    (browsers send it for a page with ``Referrer-Policy: no-referrer``, as the central's
    own pages are), and the token decides."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None and fetch_site.strip().lower() not in SAME_SITE_FETCH:
        return True
    origin = request.headers.get("Origin")
    if origin is None or origin.strip() == "null":
        return False
    try:
        host = urlsplit(origin.strip()).netloc
    except ValueError:
        return True
    return host.lower() != request.host.lower()


def _token_matches() -> bool:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    sent = request.form.get(LOGIN_TOKEN_FIELD, "")
    return bool(_TOKEN.match(cookie)) and hmac.compare_digest(cookie.encode(), sent.encode())


def install(app: Flask, db: Database, login_guard: viewers.LoginGuard | None = None) -> None:
    """The guard, ``/login`` and ``/logout``; ``login_guard`` counts the failed logins (tests
    pass their own, with its clock)."""
    failures = login_guard or viewers.LoginGuard()
    app.extensions["mac_turnos.central_login_guard"] = failures

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
        if from_elsewhere() or not _token_matches():
            return _login_page(*MESSAGES["forged"], target=target)
        if not name or not password:
            return _login_page(*MESSAGES["missing"], target=target)
        result = viewers.guarded_login(db, failures, viewers.source_key(request.remote_addr),
                                       name, password)
        if result.outcome == "throttled":
            # The same for every name: it tells about the source, never about an account.
            page = _login_page(429, _throttled_message(result.retry_after), target)
            page.headers["Retry-After"] = str(result.retry_after)
            return page
        if result.token is None:
            return _login_page(*MESSAGES["bad"], target=target)
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
