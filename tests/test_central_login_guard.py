"""The central's viewer login under attack: failures are counted per source address and per
(source, account); a failing source is refused with growing delays for itself only; the
owner of an account logs in from another address whatever happens elsewhere; a locked
account, a wrong password and an unknown name answer alike; the form is refused without its
token or from another site; and the per-source memory stays bounded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.sync_support import VIEWER_PASSWORD, login_token, post_login
from sync.central import viewers
from sync.central.app import create_central_app
from sync.central.auth import COOKIE, LOGIN_COOKIE
from sync.central.db import Database

A, B = "198.51.100.7", "203.0.113.9"
WRONG = "mala-clave-larga"


class Clock:
    """The guard's clock, moved by hand (seconds)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path}/central.sqlite")
    database.migrate()
    viewers.add_viewer(database, "analista", VIEWER_PASSWORD)
    viewers.add_viewer(database, "auditora", VIEWER_PASSWORD)
    yield database
    database.close()


def _app(db: Database, clock: Clock) -> tuple[Any, viewers.LoginGuard]:
    guard = viewers.LoginGuard(clock=clock)
    return create_central_app(db, guard).test_client(), guard


def _source(address: str) -> dict[str, str]:
    return {"REMOTE_ADDR": address}


def _answer(response: Any) -> tuple[int, str, str | None, str | None]:
    """What a client can tell apart: status, body, Retry-After, whether a cookie is set."""
    return (response.status_code, response.get_data(as_text=True),
            response.headers.get("Retry-After"), response.headers.get("Set-Cookie"))


def test_thirty_failures_from_one_address_answer_real_and_unknown_names_alike_and_throttle_it(
        db: Database) -> None:
    clock = Clock()
    # Two receivers on the same viewers, fed the same failures from source A in opposite
    # order of names: at every step both must answer the same.
    first, _ = _app(db, clock)
    second, _ = _app(db, clock)
    token = login_token(first, _source(A))
    second.set_cookie(LOGIN_COOKIE, token)
    answers: list[tuple[int, str, str | None, str | None]] = []
    failures = 0
    while failures < 30:
        names = ("analista", "nadie") if len(answers) % 2 == 0 else ("nadie", "analista")
        one, two = (client.post("/login", environ_base=_source(A),
                                data={"usuario": name, "contrasena": WRONG, "csrf": token})
                    for client, name in zip((first, second), names, strict=True))
        assert _answer(one) == _answer(two), len(answers)
        answers.append(_answer(one))
        if one.status_code == 401:
            failures += 1
        else:
            assert one.status_code == 429 and "Demasiados intentos" in one.get_data(as_text=True)
            clock.now += int(one.headers["Retry-After"])  # wait out the refusal, no longer
    statuses = [status for status, *_ in answers]
    assert statuses[:viewers.SOURCE_FREE_FAILURES] == [401] * viewers.SOURCE_FREE_FAILURES
    assert statuses[viewers.SOURCE_FREE_FAILURES] == 429
    waits = [int(retry) for status, _, retry, _ in answers if status == 429]
    assert waits == sorted(waits) and waits[0] < waits[-1] == viewers.SOURCE_MAX_DELAY_SECONDS
    # A is refused now, even with the right password, and alike for both names
    right_at_a = [post_login(client, "analista", VIEWER_PASSWORD, environ_base=_source(A))
                  for client in (first, second)]
    assert [r.status_code for r in right_at_a] == [429, 429]
    assert right_at_a[0].get_data() == right_at_a[1].get_data()
    # the owner, from B, is not stopped by any of it
    owner = post_login(first, "analista", VIEWER_PASSWORD, environ_base=_source(B))
    assert owner.status_code == 303 and first.get_cookie(COOKIE) is not None


def test_a_throttled_address_gets_the_same_429_for_a_real_viewer_and_an_unknown_name(
        db: Database) -> None:
    client, _ = _app(db, Clock())
    for _ in range(viewers.SOURCE_FREE_FAILURES):
        assert post_login(client, "nadie", WRONG, environ_base=_source(A)).status_code == 401
    real = post_login(client, "analista", VIEWER_PASSWORD, environ_base=_source(A))
    unknown = post_login(client, "nadie", VIEWER_PASSWORD, environ_base=_source(A))
    assert real.status_code == 429 and int(real.headers["Retry-After"]) >= 1
    assert _answer(real) == _answer(unknown)


def test_a_lockout_of_one_address_never_stops_the_owner_logging_in_from_another(
        db: Database) -> None:
    clock = Clock()
    client, guard = _app(db, clock)
    for _ in range(viewers.MAX_FAILED_LOGINS):
        post_login(client, "analista", WRONG, environ_base=_source(A))
    clock.now += guard.retry_after(A)  # A's refusal is over; its lockout of analista is not
    assert guard.retry_after(A) == 0 and guard.locked(A, "analista")
    at_a = post_login(client, "analista", VIEWER_PASSWORD, environ_base=_source(A))
    assert at_a.status_code == 401 and client.get_cookie(COOKIE) is None
    at_b = post_login(client, "analista", VIEWER_PASSWORD, environ_base=_source(B))
    assert at_b.status_code == 303 and client.get_cookie(COOKIE) is not None


def test_a_locked_account_a_wrong_password_an_unknown_name_and_a_disabled_viewer_answer_alike(
        db: Database) -> None:
    clock = Clock()
    client, guard = _app(db, clock)
    for _ in range(viewers.MAX_FAILED_LOGINS):
        post_login(client, "analista", WRONG, environ_base=_source(A))
    clock.now += guard.retry_after(A)
    viewers.add_viewer(db, "baja", VIEWER_PASSWORD)
    viewers.disable_viewer(db, "baja")
    locked = post_login(client, "analista", VIEWER_PASSWORD, environ_base=_source(A))
    wrong = post_login(client, "auditora", WRONG, environ_base=_source("192.0.2.10"))
    unknown = post_login(client, "nadie", VIEWER_PASSWORD, environ_base=_source("192.0.2.11"))
    disabled = post_login(client, "baja", VIEWER_PASSWORD, environ_base=_source("192.0.2.12"))
    assert locked.status_code == 401
    assert _answer(locked) == _answer(wrong) == _answer(unknown) == _answer(disabled)


@pytest.mark.parametrize("form", [{}, {"csrf": ""}, {"csrf": "x" * 43}])
def test_a_login_post_without_the_forms_token_is_refused_and_the_form_shown_again(
        db: Database, form: dict[str, str]) -> None:
    client, guard = _app(db, Clock())
    login_token(client)  # the browser has its pre-session cookie, the post lacks its token
    refused = client.post("/login", data={"usuario": "analista",
                                          "contrasena": VIEWER_PASSWORD, **form})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403 and refused.mimetype == "text/html"
    assert 'name="contrasena"' in page and 'name="csrf"' in page and "caducó" in page
    assert client.get_cookie(COOKIE) is None and guard.sizes() == (0, 0)
    # the form shown again carries a token that works
    assert post_login(client, "analista", VIEWER_PASSWORD).status_code == 303


def test_a_login_post_with_a_token_but_no_pre_session_cookie_is_refused(db: Database) -> None:
    client, _ = _app(db, Clock())
    token = login_token(client)
    client.delete_cookie(LOGIN_COOKIE)
    refused = client.post("/login", data={"usuario": "analista",
                                          "contrasena": VIEWER_PASSWORD, "csrf": token})
    assert refused.status_code == 403 and client.get_cookie(COOKIE) is None
    assert LOGIN_COOKIE in refused.headers["Set-Cookie"]  # a new one, for the form shown


def test_the_pre_session_cookie_is_httponly_secure_samesite_strict_and_host_only(
        db: Database) -> None:
    response = create_central_app(db).test_client().get("/login")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(LOGIN_COOKIE + "=") and LOGIN_COOKIE.startswith("__Host-")
    for part in ("HttpOnly", "Secure", "SameSite=Strict", "Path=/"):
        assert part in cookie
    assert "Domain" not in cookie


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"},
                                     {"Origin": "http://localhost.evil.example"},
                                     {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site"},
                                     {"Origin": "null", "Sec-Fetch-Site": "cross-site"}])
def test_a_login_post_from_another_site_is_refused_even_with_the_right_token(
        db: Database, headers: dict[str, str]) -> None:
    client, guard = _app(db, Clock())
    refused = post_login(client, "analista", VIEWER_PASSWORD, headers=headers)
    assert refused.status_code == 403 and 'name="contrasena"' in refused.get_data(as_text=True)
    assert client.get_cookie(COOKIE) is None and guard.sizes() == (0, 0)


@pytest.mark.parametrize("headers", [{"Origin": "http://localhost",
                                      "Sec-Fetch-Site": "same-origin"},
                                     {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
                                     {"Sec-Fetch-Site": "none"}, {}])
def test_a_login_post_from_the_sites_own_form_is_accepted(
        db: Database, headers: dict[str, str]) -> None:
    client, _ = _app(db, Clock())
    assert post_login(client, "analista", VIEWER_PASSWORD, headers=headers).status_code == 303


def test_the_per_source_table_stays_bounded_when_ten_thousand_sources_fail_once_each() -> None:
    guard = viewers.LoginGuard(max_sources=1_000, clock=Clock())
    for n in range(10_000):
        guard.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", "analista")
    assert guard.sizes() == (1_000, 1_000)
    full = viewers.LoginGuard(clock=Clock())
    for n in range(10_000):
        full.failed(f"10.{n // 65536}.{n // 256 % 256}.{n % 256}", f"v{n}")
    full.failed("192.0.2.1", "x" * 100_000)  # a name no viewer can have keeps no long key
    assert full.sizes() == (viewers.MAX_SOURCES, viewers.MAX_SOURCES)
    # the newest source is the one remembered: its count goes on to a refusal
    for _ in range(viewers.SOURCE_FREE_FAILURES - 1):
        full.failed("192.0.2.1", "analista")
    assert full.retry_after("192.0.2.1") >= 1


def test_the_addresses_of_one_ipv6_64_count_as_one_source(db: Database) -> None:
    client, guard = _app(db, Clock())
    for n in range(viewers.SOURCE_FREE_FAILURES):
        post_login(client, "nadie", WRONG, environ_base=_source(f"2001:db8:1:2::{n + 1:x}"))
    refused = post_login(client, "analista", VIEWER_PASSWORD,
                         environ_base=_source("2001:db8:1:2:ffff::9"))
    assert refused.status_code == 429
    assert guard.sizes()[0] == 1
    elsewhere = post_login(client, "analista", VIEWER_PASSWORD,
                           environ_base=_source("2001:db8:1:3::1"))
    assert elsewhere.status_code == 303
    assert viewers.source_key("::ffff:198.51.100.7") == "198.51.100.7"
