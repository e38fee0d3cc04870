"""The composition of printing: which printer serves which kiosk, turning an issued ticket into
a print job for that printer's worker, and what staff need to know about printers.

Nothing here touches a printer in a request: the job is written with the ticket
(``turnero.print_jobs``) and ``send`` only hands it to the printer's worker. The worker
(``hardware.printer``) prints, retries, and reports; this module marks the job printed,
records printer states as events (``turnero.printers``), keeps the recent jobs so a kiosk
can tell the citizen whether the paper came out, and after a start gives the printers the
jobs they still owed when the power went."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from appliance import parts
from config.model import Settings
from hardware.printer import (
    PaperStatus,
    PrintableTicket,
    PrinterSettings,
    PrinterState,
    PrintJob,
    PrintWorker,
    open_transport,
)
from hardware.printer.status import PaperWatch
from kiosk import public_address
from turnero import print_jobs
from turnero import printers as printer_events
from turnero.print_jobs import PrintRequest
from turnero.store import Store
from turnero.views import current_ticket

log = logging.getLogger(__name__)
RECENT_JOBS = 500
FOOTERS = {"es": "Conserve este ticket hasta terminar su trámite.",
           "qu": "Kay ticketta waqaychay trámiteyki tukunankama.",
           "en": "Keep this ticket until your visit is over."}


def printing() -> Printing:
    return parts.printing()


def public_base() -> str:
    """The address phones use to reach the box, for the QR on paper: the same as on the
    kiosk's screen (``kiosk.public_address``), never a loopback one while the box has a LAN
    address."""
    return public_address.for_request()


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
        self._paper: dict[str, PaperWatch] = {}  # the last paper answer of each printer
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()  # recent, by id
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
            self._paper[ps.name] = watched = PaperWatch(transport)
            worker = PrintWorker(ps, watched, on_status=self._on_status, on_job=self._on_job)
            worker.start()
            self.workers[ps.name] = worker
        self.resume()

    def stop(self, timeout: float = 2.0) -> None:
        for worker in self.workers.values():
            worker.stop(timeout)

    def printer_for(self, device: str | None) -> str | None:
        """The printer of a kiosk device, or the reception's for staff (None: no printer)."""
        name = self._device_printer.get(device) if device else self._reception
        return name if name in self.workers else None

    def request_for(self, device: str | None, language: str, base: str) -> PrintRequest | None:
        """Where a ticket issued by ``device`` (None: staff) is printed; None: nowhere."""
        printer = self.printer_for(device)
        return PrintRequest(printer, language, base) if printer else None

    def send(self, ticket: dict[str, Any]) -> dict[str, Any] | None:
        """Hand the newest print job of ``ticket`` (written with it, ``turnero.print_jobs``)
        to its printer's worker, once: a replayed request gets the job's state instead of a
        second copy. None if the ticket has no job."""
        job = print_jobs.latest_for(self.store, ticket["uid"])
        if job is None or job["printer"] not in self.workers:
            return None
        known = self.job(job["id"])
        if known is not None and (known["status"] == "printed" or job["id"] in self._jobs):
            return known
        return self._submit(job, ticket)

    def resume(self) -> int:
        """After a start: give the printers the jobs of today that they still owe (a power
        cut came before the paper). Returns how many."""
        resumed = 0
        for job in print_jobs.owed(self.store, self.store.service_day(self.store.now())):
            if job["printer"] in self.workers:
                self._submit(job, current_ticket(self.store, job["ticket"]))
                resumed += 1
        if resumed:
            log.info("%d print jobs owed since before the start were queued again", resumed)
        return resumed

    def _submit(self, job: dict[str, Any], ticket: dict[str, Any]) -> dict[str, Any]:
        entry = {"id": job["id"], "printer": job["printer"], "ticket": ticket["uid"],
                 "label": ticket["label"], "status": "queued"}
        with self._lock:
            if job["id"] in self._jobs:  # a concurrent replay got here first
                return dict(self._jobs[job["id"]])
            self._jobs[job["id"]] = entry
            while len(self._jobs) > RECENT_JOBS:
                self._jobs.popitem(last=False)
        worker = self.workers[job["printer"]]
        if worker.state().state != "ok":
            self._on_job(job["id"], False)
        worker.submit(PrintJob(job["id"], self._printable(ticket, job["language"],
                                                          job["base"])))
        return self.job(job["id"]) or entry

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
            language=language,  # type: ignore[arg-type]
            attention_starts_at=_starts(ticket.get("attention_starts_at"), tz))

    def job(self, job_id: str) -> dict[str, Any] | None:
        """A job's state: from memory while recent, else from the database (a job not
        printed and not owed any more, e.g. of a ticket already served, is "pending")."""
        with self._lock:
            found = self._jobs.get(job_id)
            if found:
                return dict(found)
        stored = print_jobs.get(self.store, job_id)
        if stored is None:
            return None
        return {"id": job_id, "printer": stored["printer"], "ticket": stored["ticket"],
                "label": stored["label"],
                "status": "printed" if stored["printed_at"] else "pending"}

    def states(self) -> list[dict[str, Any]]:
        """Each printer as staff see it, with the labels of the jobs it still owes."""
        out = []
        for name, worker in self.workers.items():
            state = worker.state()
            with self._lock:
                owed = [j for j in self._jobs.values()
                        if j["printer"] == name and j["status"] != "printed"]
            watch = self._paper.get(name)
            out.append({"name": name, "state": state.state, "message": state.message,
                        "paper": str(watch.paper if watch else PaperStatus.UNKNOWN),
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

    def paper_low(self) -> list[str]:
        """The printers that work but report their roll nearly out."""
        return [s["name"] for s in self.states()
                if s["state"] == "ok" and s["paper"] == PaperStatus.NEAR_END]

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
        if printed and not self.store.closed:
            try:
                print_jobs.mark_printed(self.store, job_id)
            except Exception as exc:  # the paper is out; at worst it prints again after a
                # restart. No traceback on this thread (see appliance.announcing).
                log.warning("could not mark print job %s as printed: %r", job_id, exc)


def _starts(text: str | None, tz: ZoneInfo) -> datetime | None:
    """The ticket's attention start (ISO text with offset) in the centre's zone."""
    return None if not text else datetime.fromisoformat(text).astimezone(tz)
