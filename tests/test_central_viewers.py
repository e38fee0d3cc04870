"""The national dashboard's door, on SQLite and on PostgreSQL: without a viewer's session the
dashboard and the CSV answer with the login page and no figure; wrong passwords, lockout (of
the failing address only), logout, disabling and expiry end access; the centres' ingest and
the health check stay open. The login's guard in detail: tests/test_central_login_guard.py."""

# ruff: noqa: F811 - the shared fixtures are imported by name, then requested by name
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from harness.sync_support import (  # noqa: F401
    VIEWER_PASSWORD,
    central_db,
    pg_kind,
    post_login,
    viewer_client,
)
from sync.central import viewers
from sync.central.app import create_central_app
from sync.central.auth import COOKIE
from sync.central.db import Database
from sync.central.ingest import add_centre

NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)


def _login(client, name: str = "analista", password: str = VIEWER_PASSWORD, **extra):  # type: ignore[no-untyped-def]
    return post_login(client, name, password, **extra)


@pytest.mark.parametrize("path", ["/?from=2026-11-27&to=2026-11-27", "/export.csv"])
def test_the_dashboard_and_the_csv_send_a_visitor_without_session_to_the_login_page(
        central_db: Database, path: str) -> None:
    add_centre(central_db, "mac-secreto", "MAC Secreto")
    client = create_central_app(central_db).test_client()
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=/")
    assert "mac-secreto" not in response.get_data(as_text=True)
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and 'name="contrasena"' in page.get_data(as_text=True)


def test_the_health_check_and_the_stylesheet_need_no_session(central_db: Database) -> None:
    client = create_central_app(central_db).test_client()
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/static/dashboard.css").status_code == 200
    # ingest keeps its own door: the centre's token, not a viewer's session
    assert client.post("/api/v1/ingest", data=b"{}").status_code == 401


def test_a_viewer_logs_in_and_returns_to_the_page_asked_for_with_a_strict_cookie(
        central_db: Database) -> None:
    viewers.add_viewer(central_db, "analista", VIEWER_PASSWORD)
    client = create_central_app(central_db).test_client()
    response = _login(client, next="/export.csv?from=2026-11-27")
    assert response.status_code == 303
    assert response.headers["Location"] == "/export.csv?from=2026-11-27"
    cookie = SimpleCookie(response.headers["Set-Cookie"])[COOKIE]
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/"
    page = client.get("/")
    assert page.status_code == 200 and "Sesión de analista" in page.get_data(as_text=True)


@pytest.mark.parametrize("target", ["//elsewhere.example/x", "https://elsewhere.example/",
                                    "/\\elsewhere.example"])
def test_after_login_a_viewer_never_leaves_for_another_site(
        central_db: Database, target: str) -> None:
    viewers.add_viewer(central_db, "analista", VIEWER_PASSWORD)
    response = _login(create_central_app(central_db).test_client(), next=target)
    assert response.status_code == 303 and response.headers["Location"] == "/"


@pytest.mark.parametrize("name, password", [("analista", "otra-clave-larga"),
                                            ("nadie", VIEWER_PASSWORD)])
def test_a_wrong_password_or_an_unknown_name_gets_401_the_same_message_and_no_cookie(
        central_db: Database, name: str, password: str) -> None:
    viewers.add_viewer(central_db, "analista", VIEWER_PASSWORD)
    client = create_central_app(central_db).test_client()
    response = _login(client, name, password)
    assert response.status_code == 401 and "Set-Cookie" not in response.headers
    assert "Usuario o contraseña incorrectos." in response.get_data(as_text=True)
    assert client.get("/").status_code == 303


def test_an_empty_form_gets_400_with_a_message(central_db: Database) -> None:
    response = _login(create_central_app(central_db).test_client(), "", "")
    assert response.status_code == 400
    assert "Escriba su usuario y su contraseña." in response.get_data(as_text=True)


def test_five_wrong_passwords_lock_that_address_out_of_the_account_until_it_expires(
        central_db: Database) -> None:
    viewers.add_viewer(central_db, "analista", VIEWER_PASSWORD)
    clock = [0.0]
    guard = viewers.LoginGuard(clock=lambda: clock[0])

    def attempt(source: str, password: str) -> viewers.LoginResult:
        return viewers.guarded_login(central_db, guard, source, "analista", password)
    outcomes = [attempt("198.51.100.7", "mala-clave-larga").outcome
                for _ in range(viewers.MAX_FAILED_LOGINS)]
    assert outcomes == ["bad"] * viewers.MAX_FAILED_LOGINS
    clock[0] += guard.retry_after("198.51.100.7")  # the address's own refusal is over...
    assert attempt("198.51.100.7", VIEWER_PASSWORD).outcome == "bad"  # ...its lockout not
    assert attempt("203.0.113.9", VIEWER_PASSWORD).outcome == "ok"  # the owner, elsewhere
    clock[0] += viewers.LOCKOUT_MINUTES * 60 + 1
    clock[0] += guard.retry_after("198.51.100.7")
    assert attempt("198.51.100.7", VIEWER_PASSWORD).outcome == "ok"


def test_the_login_page_says_when_the_address_failed_too_often(central_db: Database) -> None:
    viewers.add_viewer(central_db, "analista", VIEWER_PASSWORD)
    client = create_central_app(central_db).test_client()
    for _ in range(viewers.SOURCE_FREE_FAILURES + 1):
        response = _login(client, password="mala-clave-larga")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert "Demasiados intentos fallidos desde este equipo" in response.get_data(as_text=True)


def test_logout_ends_the_session_for_that_cookie(central_db: Database) -> None:
    client = viewer_client(central_db)
    assert client.get("/").status_code == 200
    token = client.get_cookie(COOKIE).value
    assert client.post("/logout").status_code == 303
    assert viewers.session_viewer(central_db, token) is None
    client.set_cookie(COOKIE, token)  # a copy of the old cookie opens nothing
    assert client.get("/").status_code == 303


def test_disabling_a_viewer_ends_its_open_sessions_and_refuses_it(
        central_db: Database) -> None:
    client = viewer_client(central_db)
    viewers.disable_viewer(central_db, "analista")
    assert client.get("/").status_code == 303
    assert viewers.login(central_db, "analista", VIEWER_PASSWORD).outcome == "bad"
    viewers.add_viewer(central_db, "analista", "una-clave-nueva-larga")  # re-enabled
    assert viewers.login(central_db, "analista", "una-clave-nueva-larga").outcome == "ok"


def test_a_session_lasts_its_hours_and_no_longer(central_db: Database) -> None:
    viewers.add_viewer(central_db, "analista", VIEWER_PASSWORD)
    token = viewers.login(central_db, "analista", VIEWER_PASSWORD, NOW).token
    assert token is not None
    hours = timedelta(hours=viewers.SESSION_HOURS)
    assert viewers.session_viewer(central_db, token, NOW + hours - timedelta(minutes=1))
    assert viewers.session_viewer(central_db, token, NOW + hours) is None


def test_passwords_and_session_tokens_are_never_stored_in_clear(central_db: Database) -> None:
    viewers.add_viewer(central_db, "analista", VIEWER_PASSWORD)
    token = viewers.login(central_db, "analista", VIEWER_PASSWORD).token
    assert token is not None
    dump = repr(central_db.conn().query("SELECT * FROM viewers")) + repr(
        central_db.conn().query("SELECT * FROM viewer_sessions"))
    assert VIEWER_PASSWORD not in dump and token not in dump


@pytest.mark.parametrize("name, password", [("Ana Pérez", VIEWER_PASSWORD),
                                            ("ana", "corta")])
def test_a_bad_name_or_a_short_password_is_refused(central_db: Database, name: str,
                                                    password: str) -> None:
    with pytest.raises(ValueError):
        viewers.add_viewer(central_db, name, password)
    assert viewers.list_viewers(central_db) == []


def _cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appliance", "central", "viewer", *args],
                          capture_output=True, text=True, input=stdin)


def test_the_cli_adds_a_viewer_with_a_generated_password_lists_and_disables_it(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/central.sqlite"
    added = _cli("add", "analista", "--db", url)
    assert added.returncode == 0
    password = added.stdout.strip()
    assert len(password) >= viewers.MIN_PASSWORD
    db = Database(url)
    try:
        assert viewers.login(db, "analista", password).outcome == "ok"
        assert "analista" in _cli("list", "--db", url).stdout
        assert _cli("disable", "analista", "--db", url).returncode == 0
        assert "desactivado" in _cli("list", "--db", url).stdout
        assert viewers.login(db, "analista", password).outcome == "bad"
    finally:
        db.close()


def test_the_cli_refuses_a_short_password_from_stdin_with_status_2(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/central.sqlite"
    refused = _cli("add", "analista", "--password-stdin", "--db", url, stdin="corta\n")
    assert refused.returncode == 2 and "12 caracteres" in refused.stderr
    assert _cli("disable", "nadie", "--db", url).returncode == 2
