"""Load a centre's TOML file, apply environment overrides and validate every key.

Every problem is collected (not just the first) and names its key and line, so that an
especialista TIC fixes a broken file in one pass. Unknown keys are errors: a typo must not
silently fall back to a default.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import tomllib
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from config.defaults import DEFAULT_PRIORITIES
from config.lines import key_lines, line_of
from config.model import ARRAYS, SECTIONS, Hours, Settings

HOURS_FIELDS = tuple(f.name for f in dataclasses.fields(Hours))

ENV_PREFIX = "MAC_TURNOS__"
HOST_NAME = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                       r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Problem:
    path: tuple
    message: str
    line: int | None = None

    @property
    def key(self) -> str:
        out = ""
        for part in self.path:
            if not isinstance(part, int):
                part = _shown(part)
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
        return out or "(file)"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _shown(name: str) -> str:
    """A key as TOML writes it: bare, or quoted with what cannot be seen escaped (a key
    with a line break must not break the one-line-per-problem report)."""
    name = str(name)
    if _BARE_KEY.fullmatch(name):
        return name
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + "".join(c if c.isprintable() else f"\\u{ord(c):04x}" for c in escaped) + '"'


class ConfigError(Exception):
    """The configuration cannot be used; ``problems`` says why, key by key."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(self.render())

    def render(self) -> str:
        rows = []
        for p in self.problems:
            where = f"{self.source}:{p.line}" if p.line else self.source
            rows.append(f"{where}: {p.key}: {p.message}")
        return "\n".join(rows)


Check = Callable[[Settings], list[tuple[tuple, str]]]


def load_settings(path: str | Path | None = None, *, data: Mapping | None = None,
                  environ: Mapping[str, str] | None = None,
                  checks: Iterable[Check] = ()) -> Settings:
    """Read ``path`` (or take ``data``), apply ``MAC_TURNOS__SECTION__KEY`` overrides, validate.

    ``checks`` are further rules from packages config may not import (a printer's code page
    is the printer package's business); each returns (key path, problem) pairs."""
    environ = os.environ if environ is None else environ
    source, text = "<built-in>", ""
    if path is not None:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(source, [Problem((), f"cannot read the file: {exc}")]) from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line = _syntax_line(str(exc))
            raise ConfigError(source, [Problem((), f"not valid TOML: {exc}", line)]) from None
    # Tables copied too: the environment overrides below write into them, and the
    # caller's data must stay as it was given.
    raw = {k: dict(v) if isinstance(v, dict) else v for k, v in (data or {}).items()}
    problems: list[Problem] = []
    _apply_env(raw, environ, problems)
    settings = _validate(raw, problems)
    if settings is not None:
        _cross_check(settings, problems)
        for check in checks:
            problems.extend(Problem(where, message) for where, message in check(settings))
    if problems:
        lines = key_lines(text)
        located = [dataclasses.replace(p, line=p.line or line_of(lines, p.path))
                   for p in problems]
        raise ConfigError(source, located)
    assert settings is not None
    return settings


def _syntax_line(message: str) -> int | None:
    found = re.search(r"line (\d+)", message)
    return int(found.group(1)) if found else None


def _apply_env(raw: dict, environ: Mapping[str, str], problems: list[Problem]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX):].lower().split("__")
        if len(parts) != 2 or parts[0] not in SECTIONS:
            problems.append(Problem((name,), "environment override must be "
                                    "MAC_TURNOS__<SECTION>__<KEY> with a scalar section"))
            continue
        try:
            parsed: Any = tomllib.loads(f"v = {value}")["v"]
        except tomllib.TOMLDecodeError:
            parsed = value
        section = raw.setdefault(parts[0], {})
        if isinstance(section, dict):
            section[parts[1]] = parsed


def _validate(raw: dict, problems: list[Problem]) -> Settings | None:
    values: dict[str, Any] = {}
    for name in raw:
        if name not in SECTIONS and name not in ARRAYS:
            problems.append(Problem((name,), "unknown section"))
    for name, cls in SECTIONS.items():
        table = raw.get(name, {})
        if not isinstance(table, dict):
            problems.append(Problem((name,), "must be a table ([" + name + "])"))
            table = {}
        values[name] = _build(cls, table, (name,), problems)
    for name, cls in ARRAYS.items():
        items = raw.get(name, [])
        if not isinstance(items, list):
            problems.append(Problem((name,), "must be an array of tables ([[" + name + "]])"))
            items = []
        built = []
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                problems.append(Problem((name, index), "must be a table"))
                continue
            built.append(_build(cls, item, (name, index), problems))
        values[name] = tuple(built)
    if not values["priorities"]:
        values["priorities"] = DEFAULT_PRIORITIES
    if problems:
        return None
    return Settings(**values)


def _build(cls: type, table: dict, path: tuple, problems: list[Problem]) -> Any:
    hints = typing.get_type_hints(cls)
    known = {f.name: f for f in dataclasses.fields(cls)}
    for name in table:
        if name not in known:
            problems.append(Problem((*path, name), "unknown key"))
    kwargs: dict[str, Any] = {}
    before = len(problems)
    for name, fld in known.items():
        if name not in table:
            if fld.metadata["required"]:
                problems.append(Problem((*path, name), "is required"))
            continue
        value = _coerce(table[name], hints[name], (*path, name), problems)
        if value is not None:
            _check_bounds(value, fld.metadata, (*path, name), problems)
            kwargs[name] = value
    if len(problems) > before:
        return None
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, path: tuple, problems: list[Problem]) -> Any:
    origin = typing.get_origin(hint)
    if origin is list:
        (inner,) = typing.get_args(hint)
        if not isinstance(value, list) or not all(_is(v, inner) for v in value):
            problems.append(Problem(path, f"must be a list of {inner.__name__}"))
            return None
        return list(value)
    if origin is dict:
        _, inner = typing.get_args(hint)
        if not isinstance(value, dict) or not all(_is(v, inner) for v in value.values()):
            problems.append(Problem(path, f"must be a table of {inner.__name__} values"))
            return None
        return dict(value)
    if hint is float and _is(value, int):
        return float(value)
    if not _is(value, hint):
        problems.append(Problem(path, f"must be {_type_word(hint)}, not {value!r}"))
        return None
    if hint is float and not math.isfinite(value):
        # nan passes every bound (all comparisons are false) and inf breaks timers and JSON
        problems.append(Problem(path, f"must be a finite number, not {value!r}"))
        return None
    return value


def _is(value: Any, hint: type) -> bool:
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, hint)


def _type_word(hint: type) -> str:
    return {str: "a string", int: "a whole number", float: "a number",
            bool: "true or false"}.get(hint, hint.__name__)


def _check_bounds(value: Any, meta: Mapping, path: tuple, problems: list[Problem]) -> None:
    if meta["minval"] is not None and value < meta["minval"]:
        problems.append(Problem(path, f"must be at least {meta['minval']}, not {value}"))
    if meta["maxval"] is not None and value > meta["maxval"]:
        problems.append(Problem(path, f"must be at most {meta['maxval']}, not {value}"))
    if meta["choices"] and value not in meta["choices"]:
        problems.append(Problem(path, f"must be one of {', '.join(meta['choices'])}"))
    if meta["pattern"] and not re.match(meta["pattern"], str(value)):
        problems.append(Problem(path, f"{value!r} does not have the expected form "
                                      f"({meta['pattern']})"))


def _cross_check(s: Settings, problems: list[Problem]) -> None:
    """Rules that span keys: references exist, identifiers are unique."""
    try:
        ZoneInfo(s.centre.timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: "America", too long
        problems.append(Problem(("centre", "timezone"), f"unknown time zone "
                                                        f"{s.centre.timezone!r}"))
    for name in HOURS_FIELDS:
        value = getattr(s.hours, name)
        if value != "closed" and value[:5] >= value[6:]:
            problems.append(Problem(("hours", name), f"{value!r}: the centre must open "
                                                     "before it closes"))
    for name, attr in (("entities", "code"), ("queues", "code"), ("queues", "prefix"),
                       ("services", "id"), ("counters", "number"), ("priorities", "code"),
                       ("printers", "name")):
        seen: set = set()
        for index, item in enumerate(getattr(s, name)):
            value = getattr(item, attr)
            if value in seen:
                problems.append(Problem((name, index, attr), f"{value!r} is used twice"))
            seen.add(value)
    entities = {e.code for e in s.entities}
    queues = {q.code for q in s.queues}
    for index, q in enumerate(s.queues):
        if q.entity not in entities:
            problems.append(Problem(("queues", index, "entity"), f"no entity {q.entity!r}"))
    for index, svc in enumerate(s.services):
        if svc.queue not in queues:
            problems.append(Problem(("services", index, "queue"), f"no queue {svc.queue!r}"))
    for index, c in enumerate(s.counters):
        if c.entity not in entities:
            problems.append(Problem(("counters", index, "entity"), f"no entity {c.entity!r}"))
        if not c.queues:
            problems.append(Problem(("counters", index, "queues"), "must name a queue"))
        for code in [*c.queues, *c.weights]:
            if code not in queues:
                problems.append(Problem(("counters", index, "queues"), f"no queue {code!r}"))
    _check_printers(s, problems)
    _check_ans(s, problems)
    _check_network(s, problems)
    wrong = [lang for lang in s.display.languages if lang not in ("es", "qu", "en")]
    if wrong or not s.display.languages:
        problems.append(Problem(("display", "languages"), "must list es, qu or en (at least "
                                                          f"one); not {wrong}"))
    normal = [p for p in s.priorities if not p.preferential and not p.appointment]
    if s.priorities and not normal:
        problems.append(Problem(("priorities",), "needs one category that is neither "
                                                  "preferential nor appointment"))


def _check_network(s: Settings, problems: list[Problem]) -> None:
    """Staff networks are CIDR blocks; allowed hosts are DNS names."""
    for index, text in enumerate(s.security.staff_networks):
        try:
            ipaddress.ip_network(text, strict=False)
        except ValueError:
            problems.append(Problem(("security", "staff_networks", index),
                                    f"{text!r} is not a network (e.g. \"192.168.10.0/24\")"))
    for index, name in enumerate(s.server.allowed_hosts):
        if not HOST_NAME.match(name):
            problems.append(Problem(("server", "allowed_hosts", index),
                                    f"{name!r} is not a host name (e.g. \"turnos.mac.pe\")"))


def _check_printers(s: Settings, problems: list[Problem]) -> None:
    """A printer needs a target unless it is virtual; a kiosk prints on one printer only."""
    owner: dict[str, str] = {}
    for index, p in enumerate(s.printers):
        if p.transport != "virtual" and not p.target:
            problems.append(Problem(("printers", index, "target"),
                                    f"a {p.transport} printer needs a target"))
        for device in p.devices:
            if device in owner:
                problems.append(Problem(("printers", index, "devices"),
                                        f"{device!r} already prints on {owner[device]!r}"))
            owner[device] = p.name
    if sum(p.reception for p in s.printers) > 1:
        problems.append(Problem(("printers",), "only one printer can be the reception's"))


def _check_ans(s: Settings, problems: list[Problem]) -> None:
    """An ANS names a queue (and maybe one of its services) and a real date range."""
    queues = {q.code for q in s.queues}
    service_queue = {svc.id: svc.queue for svc in s.services}
    for index, a in enumerate(s.ans):
        if a.queue not in queues:
            problems.append(Problem(("ans", index, "queue"), f"no queue {a.queue!r}"))
        if a.service and service_queue.get(a.service) != a.queue:
            problems.append(Problem(("ans", index, "service"),
                                    f"no service {a.service} in queue {a.queue!r}"))
        for name in ("valid_from", "valid_to"):
            value = getattr(a, name)
            try:
                if value:
                    date.fromisoformat(value)
            except ValueError:
                problems.append(Problem(("ans", index, name), f"{value!r} is not a date"))
        if a.valid_to and a.valid_to < a.valid_from:
            problems.append(Problem(("ans", index, "valid_to"),
                                    "must not be earlier than valid_from"))
