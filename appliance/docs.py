"""The configuration reference, generated from the schema (kept in docs/configuration.md)."""

from __future__ import annotations

import dataclasses
import typing

from config.model import ARRAYS, SECTIONS

BEGIN = "<!-- config-reference:begin -->"
END = "<!-- config-reference:end -->"


def _type_name(hint: object) -> str:
    origin = typing.get_origin(hint)
    if origin is list:
        return "list of " + typing.get_args(hint)[0].__name__
    if origin is dict:
        return "table of " + typing.get_args(hint)[1].__name__
    return getattr(hint, "__name__", str(hint))


def _rows(cls: type) -> list[str]:
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        meta = f.metadata
        if meta["required"]:
            default = "*required*"
        else:
            factory = f.default_factory  # MISSING (not callable) when there is a default
            value = f.default if f.default is not dataclasses.MISSING else (
                factory() if callable(factory) else None)
            default = f"`{value!r}`".replace("'", '"') if value != "" else '`""`'
        limits = []
        if meta["minval"] is not None:
            limits.append(f"≥ {meta['minval']}")
        if meta["maxval"] is not None:
            limits.append(f"≤ {meta['maxval']}")
        if meta["choices"]:
            limits.append("one of " + ", ".join(meta["choices"]))
        extra = f" ({'; '.join(limits)})" if limits else ""
        rows.append(f"| `{f.name}` | {_type_name(hints[f.name])} | {default} | "
                    f"{meta['help']}{extra} |")
    return rows


def reference() -> str:
    """Markdown tables, one per section and array of tables."""
    out = [BEGIN, ""]
    for group, fmt in ((SECTIONS, "[{}]"), (ARRAYS, "[[{}]]")):
        for name, cls in group.items():
            out += [f"#### `{fmt.format(name)}`", "", "| key | type | default | meaning |",
                    "|---|---|---|---|", *_rows(cls), ""]
    out.append(END)
    return "\n".join(out)
