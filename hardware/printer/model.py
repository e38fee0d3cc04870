"""Plain data the printer package works on: the ticket to print, a print job and the state
staff see. Hardware knows nothing of the database; the web app fills these in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Language = Literal["es", "qu", "en"]
StateName = Literal["ok", "paper_out", "offline", "error"]


@dataclass(frozen=True)
class PrintableTicket:
    """What goes on paper, already in the citizen's language (``category`` is the display
    name of the preferential category, None for a normal ticket)."""

    centre: str
    entity: str
    label: str
    service: str
    category: str | None
    issued_at: datetime
    people_ahead: int
    wait_minutes: int | None
    status_url: str
    footer: str
    language: Language = "es"
    # When no módulo serves the queue yet: the ticket says when attention starts.
    attention_starts_at: datetime | None = None


@dataclass(frozen=True)
class PrintJob:
    """One ticket to print; ``job_id`` is the caller's (e.g. the print_jobs row)."""

    job_id: str
    ticket: PrintableTicket


@dataclass(frozen=True)
class PrinterState:
    """A printer as staff see it. ``message`` is Spanish; ``since`` is when ``state`` last
    changed."""

    name: str
    state: StateName
    message: str
    pending: int
    last_printed_job: str | None
    since: datetime
