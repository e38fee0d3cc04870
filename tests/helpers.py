"""Small helpers shared by tests."""

from __future__ import annotations

from turnero.store import Store

TABLES = ("tickets", "attentions", "events", "counters", "queues", "days", "ratings")


def dump(store: Store) -> dict[str, list[tuple]]:
    """Every row of the runtime tables, to prove that a refused change changed nothing."""
    conn = store.reader()
    return {t: [tuple(r) for r in conn.execute(f"SELECT * FROM {t} ORDER BY rowid")]
            for t in TABLES}
