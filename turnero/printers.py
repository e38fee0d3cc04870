"""Printer problems are facts of the day like any other: recorded as events, so the reception
and supervision pages hear of them through the same live stream, and the evidence remains."""

from __future__ import annotations

from turnero.store import Store, Tx


def record_state(store: Store, name: str, state: str, message: str, pending: int) -> None:
    """Write a ``printer.status`` event (ok, paper_out, offline, error)."""
    def op(tx: Tx) -> None:
        tx.emit("printer.status", actor=f"printer:{name}", printer=name, state=state,
                message=message, pending=pending)
    store.write(op)
