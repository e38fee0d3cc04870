"""Messages for the waiting room: a supervisor writes a line ("El sistema de SUNAT está
caído; sus turnos se mantienen") and every TV shows it in its message band. A message is an
event like any other (``display.message``); an empty text clears the band."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from turnero.clock import from_iso, to_iso
from turnero.errors import InvalidInput
from turnero.store import Store, Tx
from turnero.text import clean_line, line

MAX_LENGTH = 200


def broadcast(store: Store, text: Any, *, minutes: Any = 0, actor: str | None = None
              ) -> dict[str, Any]:
    """Show ``text`` on every TV for ``minutes`` (0 = until replaced or cleared). The text
    is cleaned first (``turnero.text``): one line, no control or invisible characters."""
    if text is None:
        raise InvalidInput(f"text debe ser un texto de hasta {MAX_LENGTH} caracteres.",
                           "invalid_text")
    text = line(text, "text", MAX_LENGTH) or ""
    if not isinstance(minutes, int) or isinstance(minutes, bool) or not 0 <= minutes <= 1440:
        raise InvalidInput("minutes debe ser un entero de 0 a 1440.", "invalid_minutes")

    def op(tx: Tx) -> dict[str, Any]:
        until = to_iso(tx.now + timedelta(minutes=minutes)) if minutes else None
        event = tx.emit("display.message", actor=actor, text=text, until=until)
        return {"text": text, "until": until, "at": event.at}
    return store.write(op)


def current(store: Store) -> dict[str, Any] | None:
    """The message the TVs should show now, if any."""
    row = store.reader().execute(
        "SELECT at, payload FROM events WHERE kind = 'display.message' "
        "ORDER BY seq DESC LIMIT 1").fetchone()
    if row is None:
        return None
    payload = json.loads(row["payload"])
    # Cleaned again: a message recorded before texts were cleaned on the way in.
    text = clean_line(payload["text"]) if isinstance(payload.get("text"), str) else ""
    if not text:
        return None
    until = payload.get("until")
    if until and from_iso(until) <= store.now():
        return None
    return {"text": text, "until": until, "at": row["at"]}
