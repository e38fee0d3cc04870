"""The composition of printing: which printer serves which kiosk, turning an issued ticket into
a print job for that printer's worker, and what staff need to know about printers.

Nothing here touches a printer in a request: ``print_ticket`` only queues the job. The
worker (``hardware.printer``) prints, retries, and reports; this module records its reports
as events (``turnero.printers``) and keeps the recent jobs so a kiosk can tell the citizen
whether the paper came out."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, request

from config.model import Settings
from hardware.printer import (
    PrintableTicket,
    PrinterSettings,
    PrinterState,
    PrintJob,
    PrintWorker,
    open_transport,
)
from turnero import printers as printer_events
from turnero.store import Store

log = logging.getLogger(__name__)
RECENT_JOBS = 500
FOOTERS = {"es": "Conserve este ticket hasta terminar su trámite.",
           "qu": "Kay ticketta waqaychay trámiteyki tukunankama.",
           "en": "Keep this ticket until your visit is over."}


def printing() -> Printing:
    return current_app.extensions["mac_turnos.printing"]


def public_base() -> str:
    """The address phones use to reach the box: configured, or the one this request used."""
    settings: Settings = current_app.extensions["mac_turnos.settings"]
    return settings.server.public_url or request.host_url.rstrip("/")


def printer_settings(settings: Settings) -> list[PrinterSettings]:
    return [PrinterSettings(name=p.name, transport=p.transport,  # type: ignore[arg-type]
                            target=p.target, baudrate=p.baudrate, profile=p.profile,
                            codepage=p.codepage, width=p.width) for p in settings.printers]


def problems(settings: Settings) -> list[tuple[tuple, str]]:
    """(key path, problem) of what the printer package finds wrong in ``[[printers]]``."""
    return [(("printers", i), text) for i, ps in enumerate(printer_settings(settings))
            for text in ps.validate()]


class Printing:
    """The centre's printers and their workers, and the recent print jobs."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings, self.store = settings, store
        self.workers: dict[str, PrintWorker] = {}
        self.transports: dict[str, Any] = {}
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._by_ticket: dict[str, str] = {}
        self._lock = threading.Lock()
        self._device_printer = {d: p.name for p in settings.printers for d in p.devices}
        self._kinds = {p.name: p.transport for p in settings.printers}
        self._reception = next((p.name for p in settings.printers if p.reception), None)
        self._names = {p.code: {"es": p.name_es, "qu": p.name_qu, "en": p.name_en or p.name_es}
                       for p in settings.priorities}

    def start(self) -> None:
        for ps in printer_settings(self.settings):
            transport = open_transport(ps)
            self.transports[ps.name] = transport
            worker = PrintWorker(ps, transport, on_status=self._on_status, on_job=self._on_job)
            worker.start()
            self.workers[ps.name] = worker

    def stop(self, timeout: float = 2.0) -> None:
        for worker in self.workers.values():
            worker.stop(timeout)

    def printer_for(self, device: str | None) -> str | None:
        """The printer of a kiosk device, or the reception's for staff (None: no printer)."""
        name = self._device_printer.get(device) if device else self._reception
        return name if name in self.workers else None

    def print_ticket(self, printer: str, ticket: dict[str, Any], language: str, base: str, *,
                     again: bool) -> dict[str, Any]:
        """Queue one copy of ``ticket``. A replayed request (``again`` False) for a ticket
        already queued returns that job instead of printing twice."""
        with self._lock:
            known = self._by_ticket.get(ticket["uid"])
            if known is not None and not again:
                return dict(self._jobs[known])
            copies = sum(1 for j in self._jobs.values() if j["ticket"] == ticket["uid"])
            job_id = f"{ticket['uid']}-{copies + 1}"
            job = {"id": job_id, "printer": printer, "ticket": ticket["uid"],
                   "label": ticket["label"], "status": "queued"}
            self._jobs[job_id] = job
            self._by_ticket[ticket["uid"]] = job_id
            while len(self._jobs) > RECENT_JOBS:
                old_id, old = self._jobs.popitem(last=False)
                if self._by_ticket.get(old["ticket"]) == old_id:
                    del self._by_ticket[old["ticket"]]
        worker = self.workers[printer]
        if worker.state().state != "ok":
            self._on_job(job_id, False)
        worker.submit(PrintJob(job_id, self._printable(ticket, language, base)))
        return dict(self._jobs.get(job_id, job))

    def _printable(self, ticket: dict[str, Any], language: str, base: str) -> PrintableTicket:
        tz = ZoneInfo(self.settings.centre.timezone)
        category = (self._names.get(ticket["priority"], {}).get(language)
                    if ticket["preferential"] else None)
        return PrintableTicket(
            centre=self.settings.centre.name, entity=ticket["entity_name"],
            label=ticket["label"], service=ticket["service_name"], category=category,
            issued_at=datetime.fromisoformat(ticket["issued_at"]).astimezone(tz),
            people_ahead=ticket["ahead"] or 0, wait_minutes=ticket["estimated_wait_minutes"],
            status_url=f"{base}{ticket['status_url']}", footer=FOOTERS[language],
            language=language)  # type: ignore[arg-type]

    def job(self, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = self._jobs.get(job_id)
            return dict(found) if found else None

    def states(self) -> list[dict[str, Any]]:
        """Each printer as staff see it, with the labels of the jobs it still owes."""
        out = []
        for name, worker in self.workers.items():
            state = worker.state()
            with self._lock:
                owed = [j for j in self._jobs.values()
                        if j["printer"] == name and j["status"] != "printed"]
            out.append({"name": name, "state": state.state, "message": state.message,
                        "pending": state.pending, "since": state.since.isoformat(),
                        "transport": self._kinds[name],
                        "pending_jobs": [{"id": j["id"], "ticket": j["ticket"],
                                          "label": j["label"]} for j in owed]})
        return out

    def retry(self, name: str) -> bool:
        worker = self.workers.get(name)
        if worker is None:
            return False
        worker.retry_now()
        return True

    def preview(self, name: str) -> bytes | None:
        transport = self.transports.get(name)
        getter = getattr(transport, "last_preview_png", None)
        return getter() if getter else None

    def health(self) -> dict[str, Any]:
        states = self.states()
        bad = [s for s in states if s["state"] != "ok"]
        return {"status": "warning" if bad else "ok",
                "printers": {s["name"]: s["state"] for s in states}}

    def _on_status(self, state: PrinterState) -> None:
        try:
            printer_events.record_state(self.store, state.name, state.state, state.message,
                                        state.pending)
        except Exception:  # a report that cannot be written must not stop the printer
            log.exception("could not record the state of printer %s", state.name)

    def _on_job(self, job_id: str, printed: bool) -> None:
        with self._lock:
            job = self._jobs.get(job_id)
            if job is not None and job["status"] != "printed":
                job["status"] = "printed" if printed else "pending"
