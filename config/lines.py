"""Find the line of a key in TOML text, so that every error can point at it.

tomllib reports line numbers only for syntax errors; for semantic errors we scan the text for
table headers and ``key =`` lines. The scan is approximate by design (inline tables and
multi-line strings fall back to the enclosing header), which is all an error message needs.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[(\[)?\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]?\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-]+|\"[^\"]*\")\s*(\.\s*[A-Za-z0-9_\-]+\s*)*=")


def key_lines(text: str) -> dict[tuple, int]:
    """Map each key path (``("queues", 2, "prefix")``) to its 1-based line number."""
    lines: dict[tuple, int] = {}
    counts: dict[str, int] = {}
    current: tuple = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            name = header.group(2).strip().strip("\"'")
            parts = tuple(p.strip() for p in name.split("."))
            if header.group(1):  # [[array]]
                index = counts.get(name, 0)
                counts[name] = index + 1
                current = (*parts, index)
            else:
                current = parts
            lines.setdefault(current, number)
            continue
        found = _KEY.match(line)
        if found:
            name = found.group(1).strip("\"")
            lines.setdefault((*current, name), number)
    return lines


def line_of(lines: dict[tuple, int], path: tuple) -> int | None:
    """The line of ``path`` or of its nearest enclosing table."""
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None
