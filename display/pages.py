"""The waiting-room TV page ``/display/<name>``, its texts, the announcement stream a TV
follows and the WAV files it plays.

The calls themselves reach the page on the shared live stream (``/api/v1/stream``); the
announcements (chime and phrases, ready some hundreds of milliseconds later) on their own
stream here, fed by the announcer through ``appliance.parts.announcements()`` (an
``AnnouncementFeed``). A TV authenticates both with its device cookie (see docs/design.md)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    stream_with_context,
)

from appliance import parts
from display.feed import AnnouncementFeed
from turnero.accounts import device_principal
from turnero.clock import to_iso

HERE = Path(__file__).parent
LANGUAGES = ("es", "qu", "en")
DEVICE_COOKIE = "mt_device"
NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
AUDIO = re.compile(r"^(chime|(es|qu|en)-[0-9a-f]{24})\.wav$")
STALE_SECONDS = 15.0  # a reconnecting TV still plays what is this fresh; older is confusing
DEFAULTS = {"idle_minutes": 10, "rows": 8, "languages": ("es", "qu"),
            "voice_max_delay_seconds": 30, "voice_second_language": "when_time"}
SECOND = ("when_time", "always", "never")

bp = Blueprint("display", __name__, template_folder="templates", static_folder="static",
               static_url_path="/static/display")


@cache
def catalogue(language: str) -> dict[str, str]:
    """The TV's texts in one language (files a translator edits without touching code)."""
    return json.loads((HERE / "i18n" / f"{language}.json").read_text(encoding="utf-8"))


def option(name: str) -> Any:
    """A display option from an optional ``[display]`` settings section, else its default."""
    section = getattr(parts.settings(), "display", None)
    return getattr(section, name, DEFAULTS[name])


def _languages(text: str | None, default: tuple[str, ...]) -> list[str]:
    chosen = [x for x in (text or "").split(",") if x in LANGUAGES]
    return list(dict.fromkeys(chosen)) or list(default)


def _known(text: str | None, known: set[str]) -> list[str]:
    """The codes of a comma-separated option that exist, once each, in order."""
    return [code for code in dict.fromkeys((text or "").split(",")) if code in known]


def _entities(text: str | None) -> list[str]:
    return _known(text, {e.code for e in parts.settings().entities})


def _zones(text: str | None) -> list[str]:
    return _known(text, {c.zone for c in parts.settings().counters if c.zone})


def _counter_zones() -> dict[int, str]:
    """Each módulo's zone, for the módulos that have one."""
    return {c.number: c.zone for c in parts.settings().counters if c.zone}


def _wanted(item: dict[str, Any], entities: set[str], zones: set[str],
            counter_zones: dict[int, str]) -> bool:
    """Whether a TV with these filters (empty = all) shows and announces a call."""
    return ((not entities or item.get("entity") in entities)
            and (not zones or counter_zones.get(item.get("counter") or 0) in zones))


@bp.get("/display/<name>")
def page(name: str) -> str:
    if not NAME.match(name):
        abort(404)
    s = parts.settings()
    language = _languages(request.args.get("lang"), (s.centre.language,))[0]
    subtitles = [x for x in _languages(request.args.get("sub"), ()) if x != language][:1]
    rows = request.args.get("rows", type=int) or option("rows")
    entities = {e.code: {"name": e.short_name or e.code, "colour": e.colour}
                for e in s.entities}
    return render_template(
        "display.html", name=name, centre=s.centre.name, language=language,
        texts=catalogue(language), subtitles=subtitles[0] if subtitles else "",
        sub_texts=catalogue(subtitles[0]) if subtitles else {},
        timezone=s.centre.timezone, rows=max(6, min(8, rows)),
        idle_minutes=request.args.get("idle", type=int) or option("idle_minutes"),
        filter=",".join(_entities(request.args.get("entities"))),
        zones=",".join(_zones(request.args.get("zone"))),
        counter_zones=json.dumps(_counter_zones()),
        voices=",".join(_languages(request.args.get("voice"), tuple(option("languages")))),
        voice_bound=option("voice_max_delay_seconds"), second=_second(),
        entities=json.dumps(entities, ensure_ascii=False))


def _second() -> str:
    """When this TV says its other languages: ``?second=`` or the centre's setting."""
    chosen = request.args.get("second", "")
    return chosen if chosen in SECOND else str(option("voice_second_language"))


@bp.get("/display/i18n/<language>.json")
def texts(language: str) -> Response:
    if language not in LANGUAGES:
        abort(404)
    response = jsonify(catalogue(language))
    response.headers["Cache-Control"] = "max-age=300"
    return response


@bp.get("/display/clock")
def clock() -> Response:
    """The server's time: a TV's own clock may be wrong, and the screen shows the centre's."""
    store = parts.store()
    response = jsonify({"now": to_iso(store.now())})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/display/audio/<file>")
def audio(file: str) -> Response:
    """A chime or phrase from the speech cache. Only names the synthesizer makes are
    accepted (no path can be smuggled in); names are content hashes, so they cache well."""
    if not AUDIO.match(file):
        abort(404)
    return send_from_directory(parts.speech_dir(), file, mimetype="audio/wav", max_age=86400)


def _device() -> Any:
    """The enrolled TV asking: bearer token, or the device cookie EventSource sends."""
    auth = request.headers.get("Authorization", "")
    token = auth[7:].strip() if auth.startswith("Bearer ") else request.cookies.get(
        DEVICE_COOKIE, "")
    store = parts.store()
    who = device_principal(store.reader(), token) if token else None
    return who if who is not None and who.role == "display" else None


def _cursor(feed: AnnouncementFeed, after: str | None) -> int:
    """Where a TV's stream starts: after what it had, if it had it from this very server;
    otherwise only announcements a few seconds old (a restart or a first load)."""
    boot, _, seq = (after or "").partition(":")
    if boot == feed.boot and seq.isdigit():
        return min(int(seq), feed.last)
    fresh = feed.after(0, max_age=STALE_SECONDS) if after else []
    return fresh[0]["seq"] - 1 if fresh else feed.last


def shaped(item: dict[str, Any], voices: list[str]) -> dict[str, Any]:
    """One announcement as a TV plays it: chime, then its languages in the TV's order, with
    each clip's length in ``seconds`` (what the TV's planner decides with)."""
    files, lengths = item["files"], item.get("durations") or {}
    said = [lang for lang in voices if lang in files]
    clips = [f"/display/audio/{item['chime']}"]
    clips += [f"/display/audio/{files[lang]}" for lang in said]
    seconds = [float(lengths.get(key, 0.0)) for key in ("chime", *said)]
    keep = ("seq", "boot", "ticket", "event", "label", "counter", "counter_name", "entity",
            "recall", "preferential", "error")
    if item.get("skipped"):  # not synthesized: no TV could say it in time (the box's pace)
        return {**{k: item.get(k) for k in keep}, "skipped": item["skipped"], "clips": [],
                "seconds": []}
    return {**{k: item.get(k) for k in keep}, "clips": clips, "seconds": seconds}


@bp.get("/display/<name>/announcements")
def announcements(name: str) -> Response | tuple[Response, int]:
    """Server-Sent Events: ``hello`` with where the feed stands, then one ``announcement``
    per call in call order, with heartbeats."""
    if not NAME.match(name):
        abort(404)
    tv = _device()
    if tv is None:
        return jsonify({"error": "unauthorized",
                        "message": "Esta pantalla no está enrolada."}), 401
    feed = parts.announcements()
    voices = _languages(request.args.get("voice"), tuple(option("languages")))
    entities = set(_entities(request.args.get("entities")))
    zones, counter_zones = set(_zones(request.args.get("zone"))), _counter_zones()
    heartbeat = float(current_app.config.get("SSE_HEARTBEAT_SECONDS", 15))
    cursor = _cursor(feed, request.args.get("after"))

    def generate() -> Iterator[str]:
        nonlocal cursor
        yield "retry: 2000\n\n"
        yield _frame("hello", {"boot": feed.boot, "last": cursor})
        while not feed.closed and not feed.revoked(tv.name):  # a revoked TV hears no more
            items = feed.wait_after(cursor, heartbeat, tv.name)
            if not items:
                yield ": heartbeat\n\n"
            for item in items:
                cursor = item["seq"]
                if _wanted(item, entities, zones, counter_zones):
                    yield _frame("announcement", shaped(item, voices),
                                 f"{item['boot']}:{item['seq']}")

    feed.listening(+1)  # counted from now, as the stream budget needs, until closed
    response = Response(stream_with_context(generate()), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
    response.call_on_close(lambda: feed.listening(-1))
    return response


def _frame(kind: str, data: Any, event_id: str | None = None) -> str:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {kind}\ndata: {text}\n\n"
