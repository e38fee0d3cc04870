"""Names people read for the keys of a report (codes, ids and usernames)."""

from __future__ import annotations

import sqlite3
from typing import Any

CHANNELS_ES = {"kiosk": "Kiosco", "reception": "Orientador", "appointment": "Cita"}
NONE_ES = {"counter": "(sin módulo)", "agent": "(sin asesor)"}


class Labels:
    def __init__(self, conn: sqlite3.Connection) -> None:
        def names(sql: str) -> dict[Any, str]:
            return {r[0]: r[1] for r in conn.execute(sql)}
        self._names = {
            "entity": names("SELECT code, short_name FROM entities"),
            "queue": names("SELECT code, name FROM queues"),
            "service": names("SELECT id, name FROM services"),
            "counter": names("SELECT id, name FROM counters"),
            "agent": names("SELECT username, COALESCE(NULLIF(full_name, ''), username) "
                           "FROM users"),
            "priority": names("SELECT code, name_es FROM priorities"),
            "channel": CHANNELS_ES,
        }

    def of(self, group: str | None, key: Any) -> str:
        if group is None:
            return "Total"
        if group == "hour":
            return f"{int(key):02d}:00–{int(key):02d}:59"
        if key in ("", -1, None):
            return NONE_ES.get(group, "(sin dato)")
        return str(self._names.get(group, {}).get(key, key))
