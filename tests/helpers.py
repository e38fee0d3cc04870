"""Small helpers shared by tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from turnero.store import Store

TABLES = ("tickets", "attentions", "events", "counters", "queues", "days", "ratings")


def dump(store: Store) -> dict[str, list[tuple]]:
    """Every row of the runtime tables, to prove that a refused change changed nothing."""
    conn = store.reader()
    return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY rowid")]
            for t in TABLES}


def sse_frames(response: Any) -> Iterator[tuple[str, Any]]:
    """The named frames of a streaming test response, as (event, data) pairs, as they
    arrive; comments (heartbeats) and unnamed frames are skipped."""
    buffer = ""
    for chunk in response.response:
        buffer += chunk.decode() if isinstance(chunk, bytes) else chunk
        while "\n\n" in buffer:
            frame, buffer = buffer.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in frame.splitlines()
                          if ": " in line and not line.startswith(":"))
            if "event" in fields:
                yield fields["event"], json.loads(fields["data"])


def announce_backlog(announcer: Any, calls: list[Any]) -> None:
    """Queue every call before the announcer's worker starts (a backlog, as in a burst),
    then let it work through them and stop it."""
    for call in calls:
        announcer.submit(call)
    announcer.start()
    try:
        assert announcer.wait_idle(30)
    finally:
        announcer.stop()
