"""Login hardening: one answer for every failed login, bounded PIN hashing, failures counted
per source address as well as per account, and strong PINs for supervisors and admins."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from tests.conftest import PIN, USERS
from turnero import accounts

LOGIN = "/api/v1/auth/login"
ATTACKER = {"REMOTE_ADDR": "127.0.0.2"}
OWNER = {"REMOTE_ADDR": "127.0.0.3"}
WAIT = 10  # seconds a thread may take to reach a point; only a safety net against hangs


def _login(client: Any, username: str, password: str, source: dict[str, str]) -> Any:
    return client.post(LOGIN, json={"username": username, "password": password},
                       environ_base=source)


def _fail_until_answered(client: Any, clock: Any, username: str,
                         source: dict[str, str]) -> Any:
    """A wrong PIN, waiting out the source's refusals (429) on the manual clock."""
    while True:
        r = _login(client, username, "0000", source)
        if r.status_code != 429:
            return r
        clock.advance(seconds=int(r.headers["Retry-After"]))


# 1. The same answer for a locked account, a wrong PIN and an unknown user


def test_locked_account_wrong_pin_and_unknown_user_answer_the_same(app, users, settings,
                                                                   clock):
    client = app.test_client()
    wrong = _login(client, "orientador", "0000", ATTACKER)
    unknown = _login(app.test_client(), "nadie", "0000", {"REMOTE_ADDR": "127.0.0.4"})
    for _ in range(settings.security.max_failed_logins):
        _fail_until_answered(client, clock, "supervisor", ATTACKER)
    locked = _login(client, "supervisor", PIN, ATTACKER)  # right PIN, account locked here
    if locked.status_code == 429:  # wait out the source's own refusal
        clock.advance(seconds=int(locked.headers["Retry-After"]))
        locked = _login(client, "supervisor", PIN, ATTACKER)
    assert wrong.status_code == unknown.status_code == locked.status_code == 401
    assert wrong.get_json() == unknown.get_json() == locked.get_json()
    assert wrong.get_json()["error"] == "bad_credentials"
    assert "incorrecto" in wrong.get_json()["message"]


def _store(app: Any) -> Any:
    from appliance import parts
    return parts.of(app).store


# 2. Bounded hashing


def test_the_production_pin_hash_takes_16_mib():
    method, n, r, p = accounts.PRODUCTION_PIN_HASH_METHOD.split(":")
    assert method == "scrypt" and int(p) == 1
    assert 128 * int(r) * int(n) <= 16 * 1024 * 1024


def test_at_most_two_pin_hash_checks_run_at_once(monkeypatch):
    cond = threading.Condition()
    gate = threading.Event()
    inside = 0
    most = 0

    def blocking_check(stored: str, secret: str) -> bool:
        nonlocal inside, most
        with cond:
            inside += 1
            most = max(most, inside)
            cond.notify_all()
        gate.wait(WAIT)
        with cond:
            inside -= 1
            cond.notify_all()
        return True

    monkeypatch.setattr(accounts, "check_password_hash", blocking_check)
    threads = [threading.Thread(target=accounts.verify_secret, args=("h", "s"))
               for _ in range(4)]
    for t in threads:
        t.start()
    with cond:
        assert cond.wait_for(lambda: inside == 2, WAIT)
    # the other two wait for a slot rather than running
    assert accounts.hash_slots.wait_for(lambda slots: slots.waiting == 2, WAIT)
    with cond:
        assert inside == 2
    gate.set()
    for t in threads:
        t.join(WAIT)
    assert most == 2 and inside == 0 and accounts.hash_slots.free == accounts.HASH_SLOTS


def test_a_pin_hashed_with_the_old_method_still_logs_in_and_is_rehashed(app, users):
    store = _store(app)
    old = generate_password_hash(PIN, method="scrypt:32768:8:1")
    store.write(lambda tx: tx.execute("UPDATE users SET secret_hash = ? WHERE username = ?",
                                      (old, "supervisor")))
    assert _login(app.test_client(), "supervisor", PIN, OWNER).status_code == 200
    stored = store.reader().execute("SELECT secret_hash FROM users WHERE username = ?",
                                    ("supervisor",)).fetchone()["secret_hash"]
    assert accounts.hash_method(stored) == accounts.PIN_HASH_METHOD
    assert accounts.PRODUCTION_PIN_HASH_METHOD != "scrypt:32768:8:1"
    assert _login(app.test_client(), "supervisor", PIN, OWNER).status_code == 200


# 3. Failures per source address


def test_an_attack_from_one_address_does_not_lock_the_owners_out(app, users, clock):
    attacker = app.test_client()
    for _ in range(5):  # 35 wrong logins against every account
        for name in USERS:
            r = _fail_until_answered(attacker, clock, name, ATTACKER)
            assert r.status_code == 401
    for name in USERS:
        assert _login(app.test_client(), name, PIN, OWNER).status_code == 200, name


def test_a_failing_source_is_refused_the_same_for_real_and_unknown_users(app, users):
    client = app.test_client()
    for _ in range(accounts.SOURCE_FREE_FAILURES):
        assert _login(client, "nadie", "0000", ATTACKER).status_code == 401
    refused = _login(client, "nadie", "0000", ATTACKER)
    assert refused.status_code == 429 and refused.get_json()["error"] == "too_many_attempts"
    assert int(refused.headers["Retry-After"]) == 1
    real = _login(client, "supervisor", PIN, ATTACKER)  # the same for a real account
    assert real.status_code == 429 and real.get_json() == refused.get_json()
    # another address is not refused
    assert _login(app.test_client(), "supervisor", PIN, OWNER).status_code == 200


def test_refusals_grow_and_stop_at_fifteen_minutes(app, users, clock):
    client = app.test_client()
    delays = []
    for i in range(accounts.SOURCE_FREE_FAILURES + 12):
        r = _login(client, f"nadie{i}", "0000", ATTACKER)  # spread over many usernames
        if r.status_code == 429:
            delays.append(int(r.headers["Retry-After"]))
            clock.advance(seconds=delays[-1])
            r = _login(client, f"nadie{i}", "0000", ATTACKER)
        assert r.status_code == 401
    assert delays == sorted(delays) and delays[:4] == [1, 2, 4, 8]
    assert delays[-1] == accounts.SOURCE_MAX_DELAY_SECONDS
    clock.advance(seconds=accounts.SOURCE_MAX_DELAY_SECONDS - 1)  # still refused
    assert _login(client, "nadie", "0000", ATTACKER).status_code == 429


def test_supervision_sees_an_alert_when_an_account_is_attacked(app, users, login, clock):
    attacker = app.test_client()
    for _ in range(accounts.ALERT_FAILURES):
        _fail_until_answered(attacker, clock, "admin", ATTACKER)
    for _ in range(accounts.ALERT_FAILURES):  # unknown users are not an account
        _fail_until_answered(attacker, clock, "nadie", ATTACKER)
    floor = login("supervisor").get("/api/v1/floor").get_json()
    found = [a for a in floor["alerts"] if a["kind"] == "login_failures"]
    assert [(a["username"], a["source"]) for a in found] == [("admin", "127.0.0.2")]
    assert "Intentos fallidos de ingreso" in found[0]["message"]
    assert "127.0.0.2" in found[0]["message"]


def test_the_source_memory_is_bounded(settings, clock):
    guard = accounts.LoginGuard(max_sources=3)
    for i in range(5):
        guard.failed(f"10.0.0.{i}", "x", clock.now(), security=settings.security,
                     account_exists=False)
    assert len(guard._sources) == 3 and "10.0.0.0" not in guard._sources


# 4. Strong PINs for supervisors and admins


@pytest.mark.parametrize("pin", ["4829", "111111", "123456", "654321", "890123", "123123"])
@pytest.mark.parametrize("role", ["admin", "supervisor"])
def test_trivial_or_short_pins_are_refused_for_supervisors_and_admins(login, role, pin):
    admin = login("admin")
    r = admin.post("/api/v1/users", {"username": "nuevo", "role": role, "pin": pin})
    assert r.status_code == 400, r.get_json()
    r = admin.post("/api/v1/users/supervisor/pin", {"pin": pin})
    assert r.status_code == 400, r.get_json()
    # asesores and orientadores keep the configured minimum
    r = admin.post("/api/v1/users", {"username": "nuevo", "role": "receptionist", "pin": pin})
    assert r.status_code == 201, r.get_json()
    assert admin.post("/api/v1/users/asesor.bn/pin", {"pin": pin}).status_code == 200


def test_generated_pins_are_good_for_any_role():
    for _ in range(200):
        pin = accounts.new_pin()
        assert len(pin) >= accounts.STRONG_PIN_LENGTH and not accounts.trivial_pin(pin)
