"""Factories for tests: a demo-centre store on a temporary database with an injectable clock,
an app and a test client, and staff/device credentials. Every store is closed afterwards."""

from __future__ import annotations

import pickle
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance import parts
from appliance.app import create_app
from appliance.runtime import open_store
from config.demo import demo_settings
from config.model import Settings
from harness.live_server import LiveServer, write_config
from harness.sync_support import pg  # noqa: F401 - one PostgreSQL per worker, for every module
from turnero import accounts, day
from turnero.clock import ManualClock
from turnero.store import Store

# 09:00 in Lima on a Friday after the build date.
START = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
PIN = "482916"


CHEAP_HASH = "pbkdf2:sha256:1"

# Hypothesis would fail an example that takes over 200 ms: a time limit, which a busy
# machine reaches. The property tests assert behaviour only.
hypothesis.settings.register_profile("mac-turnos", deadline=None)
hypothesis.settings.load_profile("mac-turnos")

# The tiers. `scripts/test --quick` runs what is left after these: unit, property and
# in-process API tests. The whole suite (`scripts/test`, CI) runs everything.
FULL_ONLY_MODULES = {
    # real server processes, kill -9, restarts and simulated days
    "test_live", "test_live_sixty_modulos", "test_crash_drill", "test_day_sim", "test_startup",
    "test_sync_crash", "test_front", "test_budget", "test_busiest_day",
    "test_memory", "test_readers", "test_lean_imports", "test_personal_data",
    # real programs: espeak-ng, systemd-analyze and shellcheck, zeroconf in a namespace
    "test_speaker", "test_announcing", "test_announcements_resume", "test_systemd",
    "test_discovery", "test_display_discovery", "test_test_tools", "test_staff_script",
    # the OpenAPI fuzzing with schemathesis, and the uplink against a misbehaving central
    "test_fuzz", "test_sync_faults", "test_uplink_deadline_and_stop",
    # the README's setup run again, offline (needs the environment scripts/setup made)
    "test_setup_offline",
}
FULL_ONLY_FIXTURES = {"pg", "browser", "page", "live"}

# The modules that take longest, slowest first (measured with --durations; see
# docs/testing.md). The workers take whole modules (--dist loadfile) in collection order, so
# these start first and the short ones fill the gaps: the suite ends when its longest module
# does, not when a long one started last does.
SLOWEST_FIRST = (
    "test_live_sixty_modulos", "test_live", "test_day_sim", "test_busiest_day",
    "test_crash_drill", "test_front",
    "test_sync_crash", "browser/test_counter", "test_display_discovery", "test_startup",
    "browser/test_kiosk_search", "browser/test_display", "browser/test_kiosk",
    "browser/test_opening_burst", "browser/test_reception", "browser/test_offline",
    "browser/test_no_sideways_scroll", "test_readers", "test_openapi", "browser/test_reports",
    "browser/test_supervision", "test_test_tools", "test_personal_data", "test_lean_imports",
    "test_announcements_resume", "test_sync_uplink", "test_discovery", "test_printing_app",
    "test_uplink_deadline_and_stop",
)


def pytest_configure(config: pytest.Config) -> None:
    """Keep the collection order of modules for the workers: pytest-xdist would otherwise
    reorder them by their number of tests, which starts a module of three long tests last."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def _slowness(item: pytest.Item) -> int:
    path = Path(str(item.fspath))
    name = f"browser/{path.stem}" if path.parent.name == "browser" else path.stem
    return SLOWEST_FIRST.index(name) if name in SLOWEST_FIRST else len(SLOWEST_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_slowness)  # stable: a module's own tests keep their order
    for item in items:
        path = Path(str(item.fspath))
        params = getattr(getattr(item, "callspec", None), "params", {})
        if ("browser" in path.parts or path.stem in FULL_ONLY_MODULES
                or FULL_ONLY_FIXTURES & set(getattr(item, "fixturenames", ()))
                or "postgresql" in params.values()):
            item.add_marker(pytest.mark.full)


@pytest.fixture(autouse=True, scope="session")
def cheap_pin_hashing() -> Iterator[None]:
    """Staff PINs and viewers' passwords hashed with cheap parameters in every test (and
    every module-wide fixture): a production scrypt hash costs a third of a second and
    32 MiB, and the suite makes thousands. Hashes keep their method in their text, so
    checking them is cheap too."""
    from sync.central import viewers
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "PIN_HASH_METHOD", CHEAP_HASH)
        patch.setattr(viewers, "PASSWORD_HASH_METHOD", CHEAP_HASH)
        yield


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Callable[[int, int], LiveServer]]:
    """Make a real server (``harness.live_server``) for a centre of ``queues`` queues and
    ``counters`` módulos in this test's folder; every one made is stopped afterwards."""
    servers: list[LiveServer] = []

    def make(queues: int, counters: int) -> LiveServer:
        state = tmp_path / "state"
        state.mkdir()
        server = LiveServer(state, write_config(tmp_path / "centre.toml", queues, counters))
        servers.append(server)
        return server
    yield make
    for server in servers:
        server.stop()


# Loading and validating the demo centre's settings takes about 20 ms, a copy of them a
# quarter of a millisecond: each test gets its own copy of one load per worker.
_DEMO_SETTINGS = pickle.dumps(demo_settings())


@pytest.fixture
def serial_printer() -> Iterator[Any]:
    """A receipt printer on a pseudo-terminal (``FakeSerialPrinter``), closed afterwards."""
    from tests.test_printer_transports import FakeSerialPrinter

    printer = FakeSerialPrinter()
    yield printer
    printer.close()


@pytest.fixture
def settings() -> Settings:
    return pickle.loads(_DEMO_SETTINGS)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """A freshly built database per distinct (settings, start instant), made once per worker:
    building one (migrations, the 572 services of the catalogue) costs 20-30 ms, copying its
    files 3 ms. A test's store is a copy, opened exactly as a new one is (``open_store``
    applies the settings again), so it starts in the same state a fresh build would."""
    built: dict[bytes, Path] = {}

    def template(settings: Settings, at: datetime) -> Path:
        key = pickle.dumps((settings, at))
        if key not in built:
            folder = tmp_path_factory.mktemp("store-template")
            open_store(settings, folder, clock=ManualClock(at)).close()
            built[key] = folder
        return built[key]
    return template


@pytest.fixture
def store(tmp_path: Path, settings: Settings, clock: ManualClock,
          store_templates: Callable[..., Path]) -> Iterator[Store]:
    for file in store_templates(settings, clock.now()).iterdir():
        shutil.copy2(file, tmp_path / file.name)  # with its mode: the owner only
    s = open_store(settings, tmp_path, clock=clock)
    yield s
    s.close()


@pytest.fixture
def open_store_day(store: Store) -> Store:
    """A store whose service day is open."""
    day.open_day(store, actor="test")
    return store


@pytest.fixture
def app(settings: Settings, open_store_day: Store) -> Iterator[Flask]:
    app = create_app(settings, open_store_day, TESTING=True, SSE_HEARTBEAT_SECONDS=0.2)
    yield app
    parts.of(app).printing.stop()


@dataclass
class Staff:
    """A logged-in test client with the CSRF token to send on changes."""

    client: FlaskClient
    csrf: str

    def post(self, path: str, json: object = None, **kw: object):
        headers = {"X-CSRF-Token": self.csrf, **kw.pop("headers", {})}  # type: ignore[dict-item]
        return self.client.post(path, json=json if json is not None else {}, headers=headers,
                                **kw)

    def get(self, path: str, **kw: object):
        return self.client.get(path, **kw)


USERS = {"supervisor": ("supervisor", None), "orientador": ("receptionist", None),
         "asesor.reniec": ("agent", "RENIEC"), "asesor.bn": ("agent", "BN"),
         "admin": ("admin", None)}


@pytest.fixture
def users(open_store_day: Store, settings: Settings) -> dict[str, str]:
    for name, (role, entity) in USERS.items():
        accounts.create_user(open_store_day, name, role, PIN, security=settings.security,
                             entity=entity)
    return {name: role for name, (role, _) in USERS.items()}


@pytest.fixture
def login(app: Flask, users: dict[str, str]):
    def make(username: str) -> Staff:
        client = app.test_client()
        response = client.post("/api/v1/auth/login",
                               json={"username": username, "password": PIN})
        assert response.status_code == 200, response.get_json()
        return Staff(client, response.get_json()["csrf_token"])
    return make


@pytest.fixture
def kiosk_token(open_store_day: Store) -> str:
    return accounts.enrol_device(open_store_day, "kiosk-1", "kiosk")


@pytest.fixture
def display_token(open_store_day: Store) -> str:
    return accounts.enrol_device(open_store_day, "tv-1", "display")


@pytest.fixture
def kiosk(app: Flask, kiosk_token: str):
    client = app.test_client()

    def issue(service_id: int = 76, **extra: object):
        return client.post("/api/v1/tickets", json={"service_id": service_id, **extra},
                           headers={"Authorization": f"Bearer {kiosk_token}"})
    return issue
