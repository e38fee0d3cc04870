"""The centre's citas, pulled from the central on the uplink's round.

Every answer to a batch says the newest change of this centre's citas at the central; when
it is past what the box has read, the box asks for the changes after its position, a page at
a time, and keeps each page with its new position in one transaction
(``turnero.citas.apply_changes``). A page lost on the way is asked again; one received twice
changes nothing; a failure leaves the rest for the next round. Nothing here waits on a
citizen: check-in reads only the box's own copy.
"""

from __future__ import annotations

import logging
from typing import Any

from sync.transport import SendError, Transport, central_json
from turnero import citas
from turnero.store import Store

log = logging.getLogger("sync.uplink")
PATH = "/api/v1/box/citas"
PAGE = 500
MAX_PAGES = 20  # per round: a month offline catches up over a few rounds at most


def fetch(transport: Transport, token: str, after: int) -> dict[str, Any]:
    """One page of changes after ``after``: ``{"citas": [...], "next": N, "more": bool}``;
    SendError when the answer is not the central's (a portal, an error, a cut)."""
    answer = transport.get(f"{PATH}?after={after}&limit={PAGE}",
                           {"Authorization": f"Bearer {token}"})
    data = central_json(answer)
    try:
        rows, upto, more = data["citas"], data["next"], data["more"]
        if (not isinstance(rows, list) or not isinstance(upto, int) or isinstance(upto, bool)
                or upto < after or not isinstance(more, bool)):
            raise ValueError(f"next {upto!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise SendError("bad_answer", f"citas no válidas: {exc}") from None
    return {"citas": rows, "next": upto, "more": more}


def state(conn: Any) -> dict[str, Any]:
    """How far the box read the central's citas, and when it last received a page."""
    row = conn.execute("SELECT change, pulled_at FROM central_citas WHERE id = 1").fetchone()
    return {"read_up_to": row["change"] if row else 0,
            "pulled_at": row["pulled_at"] if row else None}


class Puller:
    """The pull of the uplink's round: asks only when the central has newer changes."""

    def __init__(self, store: Store, transport: Transport, token: str) -> None:
        self.store, self.transport, self.token = store, transport, token
        self._error_kind: str | None = None

    def due(self, offered: int | None) -> bool:
        if offered is None:
            return False
        read = citas.cursor(self.store.reader())
        if offered < read:  # the central went back: what it numbers next, the box has not
            log.warning("the central holds citas up to change %d, the box had read %d: "
                        "reading them again", offered, read)
            citas.rewind(self.store)
            read = 0
        return offered > read

    def pull(self, should_stop: Any = None) -> str:
        """``current`` (read up to the central's newest), ``more`` (pages left for the
        next round) or ``failed`` (tried again next round)."""
        changed = 0
        for _ in range(MAX_PAGES):
            after = citas.cursor(self.store.reader())
            try:
                page = fetch(self.transport, self.token, after)
            except SendError as exc:
                if exc.kind != self._error_kind:  # one line per change of state
                    log.warning("central citas not fetched: %s", exc)
                    self._error_kind = exc.kind
                return "failed"
            self._error_kind = None
            changed += citas.apply_changes(self.store, page["citas"], page["next"])
            if not page["more"] or page["next"] <= after or (should_stop and should_stop()):
                break
        else:
            return "more"
        if changed:
            log.info("central citas: %d received, read up to change %d", changed,
                     citas.cursor(self.store.reader()))
        return "current"
