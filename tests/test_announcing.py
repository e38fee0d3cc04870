"""The TVs' announcements composed in the app: bus → announcer → feed, in call order and one
at a time; chime only without a voice; the device cookie; the stream budget; the audio files;
the announcement stream; the demo phrases' WAVs; the TV client's loop."""

from __future__ import annotations

import math
import threading
import time
import wave
from array import array
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from appliance import advertising, announcing, parts
from appliance.announcing import Announcing
from appliance.api_devices import stream_budget
from config.demo import demo_settings
from display import client
from hardware.discovery import ServerAddress
from hardware.speaker import Call, EspeakWorker, Synthesizer, phrase
from tests.helpers import sse_frames
from tests.waiting import wait_until
from turnero import accounts, calls, floor, tickets
from turnero.store import Store

PAIRS_NEEDED = 20


def callable_pairs(store: Store, count: int) -> list[tuple[dict[str, Any], int]]:
    """``count`` (waiting ticket, open módulo that serves it) pairs across entities."""
    settings = demo_settings()
    queue_of = {q.entity: q.code for q in settings.queues}
    service_of = {s.queue: s.id for s in reversed(settings.services)}
    pairs = []
    for counter in [c for c in settings.counters if c.entity in queue_of][:count]:
        ticket, _ = tickets.issue_ticket(store, service_id=service_of[queue_of[counter.entity]],
                                         channel="reception")
        floor.change_counter(store, counter.number, "open", actor="asesor")
        pairs.append((ticket, counter.number))
    return pairs


def rms(path: Path) -> tuple[float, float]:
    with wave.open(str(path), "rb") as wav:
        samples = array("h", wav.readframes(wav.getnframes()))
        seconds = wav.getnframes() / wav.getframerate()
    return seconds, math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


# ---------------------------------------------------------------------- server side queue

def test_a_burst_of_twenty_calls_gives_twenty_announcements_in_order_never_overlapping(
        open_store_day: Store, tmp_path: Path):
    store = open_store_day
    voice = Announcing(store, tmp_path / "speech", ("es", "qu"), mode="espeak")
    voice.attach()
    voice.start()
    assert voice.announcer is not None
    active, spans = [0], []
    real = voice.announcer.announce

    def watched(seq: int, call: Call) -> Any:
        active[0] += 1
        began = time.monotonic()
        try:
            assert active[0] == 1, "two announcements synthesized at once"
            return real(seq, call)
        finally:
            spans.append((began, time.monotonic()))
            active[0] -= 1

    voice.announcer.announce = watched  # type: ignore[method-assign]
    pairs = callable_pairs(store, PAIRS_NEEDED)
    order = [calls.call_ticket(store, counter, t["uid"])["label"] for t, counter in pairs]
    try:
        assert voice.announcer.wait_idle(120)
        published = voice.feed.after(0)
        assert [a["label"] for a in published] == order
        assert [a["seq"] for a in published] == list(range(1, 21))
        assert [a["event"] for a in published] == sorted(a["event"] for a in published)
        assert [a["ticket"] for a in published] == [t["uid"] for t, _ in pairs]
        for item in published:
            assert item["error"] is None and set(item["files"]) == {"es", "qu"}
            assert item["texts"]["es"] == phrase(Call(item["label"], str(item["counter"])), "es")
            for name in item["files"].values():
                assert (voice.cache_dir / name).stat().st_size > 10_000
        assert len({f for a in published for f in a["files"].values()}) == 40
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end
        assert voice.health()["status"] == "ok"
    finally:
        voice.stop()


def test_the_voice_child_stops_when_nobody_is_called_and_the_next_call_is_still_spoken(
        open_store_day: Store, tmp_path: Path) -> None:
    voice = Announcing(open_store_day, tmp_path / "speech", ("es", "qu"), mode="espeak",
                       speech_idle=0.5)
    voice.attach()
    worker = voice.synthesizer.backend
    assert isinstance(worker, EspeakWorker)
    (first, counter1), (second, counter2) = callable_pairs(open_store_day, 2)
    try:
        calls.call_ticket(open_store_day, counter1, first["uid"])
        assert voice.announcer is not None and voice.announcer.wait_idle(30)
        assert worker.running
        wait_until(lambda: not worker.running, what="the idle voice child stopped")
        calls.call_ticket(open_store_day, counter2, second["uid"])
        assert voice.announcer.wait_idle(30)
        before, after = voice.feed.after(0)
        assert before["label"] == first["label"] and after["label"] == second["label"]
        assert after["error"] is None and set(after["files"]) == {"es", "qu"}
        for name in after["files"].values():
            seconds, level = rms(voice.cache_dir / name)
            assert seconds > 0.8 and level > 300
        assert worker.started == 2
    finally:
        voice.stop()
    assert not worker.running


def test_the_bus_listener_only_queues_so_a_call_never_waits_for_the_voice(
        open_store_day: Store, tmp_path: Path):
    release, entered = threading.Event(), threading.Event()

    class Slow:
        def synthesize(self, text: str, voice: str, rate: int, path: str) -> None:
            entered.set()
            release.wait(120)
            raise announcing.SynthesisError("late")

        def close(self) -> None:
            pass

    voice = Announcing(open_store_day, tmp_path / "speech", ("es",), mode="virtual")
    voice.synthesizer.backend = Slow()
    voice.attach()
    [(ticket, counter)] = callable_pairs(open_store_day, 1)
    done = threading.Event()

    def call_and_recall() -> None:
        calls.call_ticket(open_store_day, counter, ticket["uid"])
        # the recall comes while the call is being voiced (queued before, the recall would
        # supersede it and the call would not be synthesized at all)
        entered.wait(30)
        calls.recall(open_store_day, counter)
        done.set()

    threading.Thread(target=call_and_recall, daemon=True).start()
    wait_until(done.is_set, what="the call and the recall answered")
    assert not release.is_set()  # both answered while the voice was still held
    release.set()
    assert voice.announcer is not None and voice.announcer.wait_idle(20)
    first, second = voice.feed.after(0)
    assert (first["recall"], second["recall"]) == (False, True)
    voice.stop()


def test_without_espeak_the_tvs_get_the_chime_alone_and_health_warns(
        open_store_day: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(announcing, "espeak_available", lambda: False)
    voice = Announcing(open_store_day, tmp_path / "speech", ("es", "qu"), mode="espeak")
    voice.attach()
    [(ticket, counter)] = callable_pairs(open_store_day, 1)
    calls.call_ticket(open_store_day, counter, ticket["uid"])
    assert voice.announcer is not None and voice.announcer.wait_idle(10)
    [item] = voice.feed.after(0)
    assert item["files"] == {} and item["chime"] == "chime.wav" and item["error"]
    assert (voice.cache_dir / "chime.wav").exists()
    health = voice.health()
    assert health["status"] == "warning" and "espeak-ng" in health["detail"]
    voice.stop()


def test_the_app_reports_the_speaker_in_health(app: Flask):
    body = app.test_client().get("/api/v1/health").get_json()
    assert body["components"]["speaker"]["status"] == "ok"
    assert body["components"]["speaker"]["languages"] == ["es", "qu"]


# ---------------------------------------------------------------------- device cookie

@pytest.fixture
def tv_token(app: Flask) -> str:
    return accounts.enrol_device(parts.of(app).store, "tv-1", "display")


def test_a_tv_trades_its_token_for_an_httponly_strict_cookie_that_works_for_reads_only(
        app: Flask, tv_token: str):
    web = app.test_client()
    assert web.get("/api/v1/devices/session").status_code == 401
    opened = web.post("/api/v1/devices/session", headers={"Authorization": f"Bearer {tv_token}"})
    assert opened.status_code == 200 and opened.get_json() == {"name": "tv-1",
                                                               "role": "display"}
    cookie = opened.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    assert web.get("/api/v1/devices/session").get_json()["name"] == "tv-1"
    assert web.get("/api/v1/queues").status_code == 200  # a read, by cookie
    assert web.post("/api/v1/devices/session").status_code == 401  # a change needs the header
    accounts.revoke_device(parts.of(app).store, "tv-1")
    assert web.get("/api/v1/devices/session").status_code == 401


def test_staff_sessions_cannot_open_a_device_session(app: Flask, tv_token: str):
    kiosk = accounts.enrol_device(parts.of(app).store, "k-1", "kiosk")
    web = app.test_client()
    assert web.post("/api/v1/devices/session",
                    headers={"Authorization": f"Bearer {kiosk}"}).status_code == 200
    assert web.post("/api/v1/devices/session",
                    headers={"Authorization": "Bearer nope"}).status_code == 401


def test_streams_beyond_the_budget_are_refused_with_503_and_requests_still_answer(
        app: Flask, tv_token: str):
    app.config["STREAM_BUDGET"] = 2
    headers = {"Authorization": f"Bearer {tv_token}"}
    web = app.test_client()
    first = web.get("/api/v1/stream", headers=headers, buffered=False)
    second = web.get("/display/sala-1/announcements", headers=headers, buffered=False)
    assert (first.status_code, second.status_code) == (200, 200)
    third = web.get("/api/v1/stream", headers=headers)
    assert third.status_code == 503 and third.headers["Retry-After"] == "10"
    assert third.get_json()["error"] == "too_many_streams"
    assert web.get("/api/v1/health").status_code == 200
    second.close()
    fourth = web.get("/display/sala-1/announcements", headers=headers, buffered=False)
    assert fourth.status_code == 200
    fourth.close()
    first.close()


def test_the_budget_keeps_threads_for_ordinary_requests():
    assert stream_budget(128) == 112 and stream_budget(600) == 525 and stream_budget(4) == 1


# ---------------------------------------------------------------------- announcement stream

def read_events(response: Any, count: int) -> list[tuple[str, dict]]:
    events = []
    for frame in sse_frames(response):
        events.append(frame)
        if len(events) >= count:
            break
    return events


def test_a_tv_hears_the_calls_of_its_entities_in_its_languages(app: Flask, tv_token: str):
    store = parts.of(app).store
    web = app.test_client()
    web.post("/api/v1/devices/session", headers={"Authorization": f"Bearer {tv_token}"})
    stream = web.get("/display/sala-1/announcements?voice=qu,es&entities=BN", buffered=False)
    assert stream.status_code == 200
    pairs = callable_pairs(store, 12)
    wanted = []
    for ticket, counter in pairs:
        called = calls.call_ticket(store, counter, ticket["uid"])
        if called["entity"] == "BN":
            wanted.append(called["label"])
    events = read_events(stream, 1 + len(wanted))
    stream.close()
    assert events[0][0] == "hello"
    heard = [data for kind, data in events[1:]]
    assert [a["label"] for a in heard] == wanted and wanted
    for a in heard:
        assert a["entity"] == "BN"
        assert a["clips"][0] == "/display/audio/chime.wav"
        assert a["clips"][1].startswith("/display/audio/qu-")
        assert a["clips"][2].startswith("/display/audio/es-")
        assert web.get(a["clips"][1]).status_code == 200


def test_a_tv_of_one_zone_hears_only_the_calls_to_that_zone_s_modulos(app: Flask,
                                                                     tv_token: str):
    store = parts.of(app).store
    zone_of = {c.number: c.zone for c in demo_settings().counters}
    web = app.test_client()
    web.post("/api/v1/devices/session", headers={"Authorization": f"Bearer {tv_token}"})
    stream = web.get("/display/sala-2/announcements?zone=piso-2", buffered=False)
    pairs = [pair for pair in callable_pairs(store, 24) if pair[1] >= 15]  # both floors
    assert {zone_of[counter] for _, counter in pairs} == {"piso-1", "piso-2"}
    wanted = []
    for ticket, counter in pairs:
        called = calls.call_ticket(store, counter, ticket["uid"])
        if zone_of[counter] == "piso-2":
            wanted.append(called["label"])
    events = read_events(stream, 1 + len(wanted))
    stream.close()
    heard = [data for kind, data in events[1:]]
    assert [a["label"] for a in heard] == wanted and wanted
    assert {zone_of[a["counter"]] for a in heard} == {"piso-2"}


def test_an_unenrolled_browser_gets_no_announcements(app: Flask):
    assert app.test_client().get("/display/sala-1/announcements").status_code == 401


@pytest.mark.parametrize("name", ["../mac-turnos.sqlite", "..%2Fmac-turnos.sqlite",
                                  "x.wav", "es-0123.wav", "chime.wav.part", "%2Fetc%2Fpasswd"])
def test_only_files_the_synthesizer_names_are_served(app: Flask, name: str):
    assert app.test_client().get(f"/display/audio/{name}").status_code == 404


# ---------------------------------------------------------------------- real voice, demo

def demo_calls() -> list[Call]:
    prefixes = sorted({q.prefix for q in demo_settings().queues})
    made = [Call(f"{p}-{n:03d}", str(m)) for p, n, m in
            zip(prefixes, range(1, 200, 13), range(1, 60, 4), strict=False)]
    return made + [Call("RN-1000", "123"), Call("BN-007", "5", recall=True),
                   Call("MWM-9999", "999")]


@pytest.fixture(scope="module")
def voice(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with Synthesizer(tmp_path_factory.mktemp("speech"), backend=EspeakWorker(timeout=20)) as s:
        yield s


@pytest.mark.parametrize("language", ["es", "qu"])
def test_every_demo_phrase_becomes_a_wav_longer_than_0_8_s_and_not_silent(voice: Synthesizer,
                                                                          language: str):
    for call in demo_calls():
        name = voice.synthesize(phrase(call, language), language)
        seconds, level = rms(voice.cache_dir / name)
        assert seconds > 0.8, (call, seconds)
        assert level > 300, (call, level)


# ---------------------------------------------------------------------- TV client loop

class FakeBrowser:
    opened: list[list[str]] = []

    def __init__(self, command: list[str]) -> None:
        FakeBrowser.opened.append(command)
        self.alive = True

    def poll(self) -> int | None:
        return None if self.alive else 0

    def terminate(self) -> None:
        self.alive = False

    def wait(self, timeout: float | None = None) -> int:
        return 0


def test_the_client_opens_the_page_once_and_again_only_when_the_server_moves(tmp_path: Path):
    FakeBrowser.opened = []
    answers = iter([None, ServerAddress("a", "192.0.2.10", 8080, {"display": "/display/{name}"}),
                    ServerAddress("a", "192.0.2.10", 8080, {"display": "/display/{name}"}),
                    None, ServerAddress("a", "192.0.2.20", 8080, {})])
    code = client.run("sala 1", find=lambda timeout: next(answers), browser="chromium",
                      profile=tmp_path, token="t0k", rounds=5, launch=FakeBrowser,
                      sleep=lambda s: None)
    assert code == 0
    urls = [command[-1] for command in FakeBrowser.opened]
    assert urls == ["http://192.0.2.10:8080/display/sala%201#device=t0k",
                    "http://192.0.2.20:8080/display/sala%201#device=t0k"]
    flags = FakeBrowser.opened[0]
    assert "--kiosk" in flags and "--autoplay-policy=no-user-gesture-required" in flags
    assert f"--user-data-dir={tmp_path}" in flags


def test_the_client_reopens_a_browser_that_died(tmp_path: Path):
    FakeBrowser.opened = []
    server = ServerAddress("a", "192.0.2.10", 8080, {})

    def find(timeout: float) -> ServerAddress:
        if FakeBrowser.opened:
            FakeBrowser.opened_last.alive = False  # type: ignore[attr-defined]
        return server

    class Dying(FakeBrowser):
        def __init__(self, command: list[str]) -> None:
            super().__init__(command)
            FakeBrowser.opened_last = self  # type: ignore[attr-defined]

    client.run("sala-1", find=find, browser="chromium", profile=tmp_path, rounds=3,
               launch=Dying, sleep=lambda s: None)
    assert len(FakeBrowser.opened) == 3


def test_dry_run_prints_the_page_without_the_token_or_says_nothing_was_found():
    said: list[str] = []
    server = ServerAddress("a", "127.0.0.1", 8080, {"display": "/display/{name}"})
    assert client.dry_run("sala-1", find=lambda t: server, echo=said.append) == 0
    assert client.dry_run("sala-1", find=lambda t: None, echo=said.append) == 1
    assert said[0] == "http://127.0.0.1:8080/display/sala-1"
    assert "No se encontró" in said[1]


def test_the_server_advertises_only_on_the_addresses_it_listens_on():
    assert advertising.addresses_for("127.0.0.1") == ["127.0.0.1"]
    assert advertising.addresses_for("192.0.2.7") == ["192.0.2.7"]
    assert advertising.addresses_for("centro.local") == []
    everywhere = advertising.addresses_for("0.0.0.0")
    assert "127.0.0.1" not in everywhere and all(":" not in a for a in everywhere)
    assert not any(a.startswith("fe80") or a == "::1" for a in advertising.addresses_for("::"))


def test_the_spoken_sentences_come_from_the_display_catalogues_a_translator_edits():
    from appliance.announcing import voice_templates
    from display.pages import catalogue
    from hardware.speaker import Call, phrase

    templates = voice_templates()
    for language in ("es", "qu", "en"):
        texts = catalogue(language)
        assert templates[language].call == texts["voice_call"]
        assert templates[language].recall == texts["voice_recall"]
    spoken = phrase(Call("RN-023", "12"), "qu", templates)
    assert spoken.startswith("Turnuyki") and "iskay chunka kimsayuq" in spoken
    assert spoken.endswith("módulo-man hamuy.")
