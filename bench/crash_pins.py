"""The crash drill's last kill, with the load stopped: do the print jobs and the
announcements pending at a power cut resume after the restart?

* Print jobs: the offline printer (a file printer whose folder is missing) owes jobs at the
  kill. After the restart it must owe the same jobs again (those whose ticket still awaits
  its citizen); then the technician repairs it (the folder appears, "retry" is pressed) and
  every owed job must print: its status says so and its label is on the paper. Afterwards no
  printer owes anything, across all the drill's kills.
* Announcements: a TV listens to its announcement stream all along. Every módulo calls at
  once and the box is killed as soon as the answers are in, while the voice is still busy.
  After the restart every one of those calls must reach the TV (before the kill or after).
  If the voice happened to keep up (nothing was pending at the kill), the burst is repeated.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hardware.printer import decode_text

BURSTS = 3  # tries at a kill with announcements pending
LIVE = ("waiting", "called", "serving")


@dataclass
class Pins:
    """What the last kill showed."""

    jobs_pending_at_kill: list[str] = field(default_factory=list)  # offline printer's
    jobs_live_at_kill: list[str] = field(default_factory=list)  # … whose ticket is live
    jobs_owed_after_restart: list[str] = field(default_factory=list)
    jobs_printed_after_repair: list[str] = field(default_factory=list)
    labels_missing_on_paper: list[str] = field(default_factory=list)
    jobs_owed_at_end: list[str] = field(default_factory=list)  # any printer, from the db
    burst_calls: list[str] = field(default_factory=list)  # ticket uids called in the burst
    heard_before_kill: list[str] = field(default_factory=list)
    heard_after_restart: list[str] = field(default_factory=list)
    bursts: int = 0
    screen_calls: list[str] = field(default_factory=list)  # recent calls in the snapshot
    logged_calls: list[str] = field(default_factory=list)  # the last calls in the events

    @property
    def pending_announcements(self) -> list[str]:
        return [t for t in self.burst_calls if t not in self.heard_before_kill]


class Tv:
    """A TV on its announcement stream, reconnecting like EventSource (with the id of the
    last announcement it had); records the tickets it heard, in order."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.heard: list[str] = []
        self.last_id = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="drill-tv", daemon=True)

    def start(self) -> Tv:
        self._thread.start()
        return self

    def snapshot(self) -> list[str]:
        with self._lock:
            return list(self.heard)

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._listen()
            except (OSError, http.client.HTTPException, ValueError):
                pass
            self._stop.wait(0.2)

    def _listen(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            conn.request("GET", f"/display/sala-1/announcements?after={self.last_id}",
                         headers={"Authorization": f"Bearer {self.token}"})
            response = conn.getresponse()
            if response.status != 200:
                return
            kind, event_id = "", ""
            while not self._stop.is_set():
                line = response.fp.readline().decode("utf-8")
                if not line:
                    return
                line = line.rstrip("\n")
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("id: "):
                    event_id = line[4:]
                elif line.startswith("data: ") and kind == "announcement":
                    with self._lock:
                        self.heard.append(json.loads(line[6:])["ticket"])
                        self.last_id = event_id
        finally:
            conn.close()


@dataclass
class Box:
    """What the pins need of the drill: requests as staff, the kill and the restart (apart,
    so that what the TV heard before the restart is known), the live snapshot, the state."""

    request: Callable[..., tuple[int, Any]]
    kill: Callable[[], None]
    start: Callable[[], float]
    snapshot: Callable[[], dict[str, Any]]
    db: Path
    offline: str  # the offline printer's name
    offline_paper: Path
    counters: int


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _owed_ids(box: Box, printer: str | None = None) -> list[str]:
    status, data = box.request("GET", "/api/v1/printers")
    assert status == 200 and isinstance(data, dict), (status, data)
    return [j["id"] for p in data["printers"] if printer in (None, p["name"])
            for j in p["pending_jobs"]]


def _job(box: Box, job_id: str) -> dict[str, Any]:
    status, data = box.request("GET", f"/api/v1/print-jobs/{job_id}")
    return data if status == 200 and isinstance(data, dict) else {}


def _ticket_status(box: Box, uid: str) -> str | None:
    status, data = box.request("GET", f"/api/v1/tickets/{uid}")
    return data.get("status") if status == 200 and isinstance(data, dict) else None


def _free_counters(box: Box) -> None:
    """Every módulo ends what it holds (finished, or a no-show), ready to call."""
    for n in range(1, box.counters + 1):
        for action in ("finish", "no-show"):
            box.request("POST", f"/api/v1/counters/{n}/{action}", {})


def _burst(box: Box) -> list[str]:
    """Every módulo calls next at once; the tickets called."""
    called: list[str] = []
    gate = threading.Barrier(box.counters)

    def call(n: int) -> None:
        gate.wait(5)
        status, data = box.request("POST", f"/api/v1/counters/{n}/call-next", {})
        if status == 200 and isinstance(data, dict):
            called.append(data["uid"])
    threads = [threading.Thread(target=call, args=(n,)) for n in range(1, box.counters + 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return called


def pin(box: Box, tv: Tv) -> Pins:
    """The last kill (or kills, until one finds announcements pending); see the docstring."""
    pins = Pins()
    for _ in range(BURSTS):
        _free_counters(box)
        _wait(lambda: bool(_owed_ids(box, box.offline)), 10)
        pins.jobs_pending_at_kill = _owed_ids(box, box.offline)
        pins.burst_calls = _burst(box)
        box.kill()
        time.sleep(0.3)  # the TV's connection is gone: it heard what it will hear
        pins.heard_before_kill = tv.snapshot()
        box.start()
        pins.bursts += 1
        if pins.pending_announcements:
            break
    _wait(lambda: all(t in tv.snapshot() for t in pins.burst_calls), 10)
    pins.heard_after_restart = tv.snapshot()[len(pins.heard_before_kill):]
    pins.screen_calls = [c["ticket"] for c in box.snapshot()["recent_calls"]]
    with closing(sqlite3.connect(f"file:{box.db}?mode=ro", uri=True)) as conn:
        pins.logged_calls = [r[0] for r in conn.execute(
            "SELECT ticket FROM events WHERE kind IN ('ticket.called', 'ticket.recalled') "
            "ORDER BY seq DESC LIMIT 10") if r[0]]
    _pin_print_jobs(box, pins)
    return pins


def _pin_print_jobs(box: Box, pins: Pins) -> None:
    tickets = {job: job.rsplit("-", 1)[0] for job in pins.jobs_pending_at_kill}
    pins.jobs_live_at_kill = [j for j, uid in tickets.items()
                              if _ticket_status(box, uid) in LIVE]
    pins.jobs_owed_after_restart = _owed_ids(box, box.offline)
    box.offline_paper.parent.mkdir(parents=True, exist_ok=True)  # the repair
    box.request("POST", f"/api/v1/printers/{box.offline}/retry", {})

    def printed() -> list[str]:
        return [j for j in pins.jobs_owed_after_restart
                if _job(box, j).get("status") == "printed"]
    _wait(lambda: len(printed()) == len(pins.jobs_owed_after_restart), 30)
    pins.jobs_printed_after_repair = printed()
    paper = (decode_text(box.offline_paper.read_bytes(), "CP858")
             if box.offline_paper.exists() else "")
    for job in pins.jobs_owed_after_restart:
        if _job(box, job).get("label", "?") not in paper:
            pins.labels_missing_on_paper.append(job)
    _wait(lambda: not _owed_in_db(box.db), 10)
    pins.jobs_owed_at_end = _owed_in_db(box.db)


def _owed_in_db(db: Path) -> list[str]:
    """Jobs not printed whose ticket still awaits its citizen, read from the database."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return [r[0] for r in conn.execute(
            "SELECT j.id FROM print_jobs j JOIN tickets t ON t.uid = j.ticket "
            "WHERE j.printed_at IS NULL AND EXISTS (SELECT 1 FROM attentions a "
            "WHERE a.ticket = t.id AND a.status IN (?, ?, ?))", LIVE)]


def problems(pins: Pins) -> list[str]:
    """What the pins must show, as violations."""
    found = []
    if not pins.jobs_live_at_kill:
        found.append("no print job of a waiting ticket was pending at the kill: "
                     "nothing was tested")
    lost = sorted(set(pins.jobs_live_at_kill) - set(pins.jobs_owed_after_restart))
    if lost:
        found.append(f"{len(lost)} print jobs pending at the kill not owed after the "
                     f"restart: {lost[:3]}")
    unprinted = sorted(set(pins.jobs_owed_after_restart) - set(pins.jobs_printed_after_repair))
    if unprinted:
        found.append(f"{len(unprinted)} owed jobs not printed after the repair: "
                     f"{unprinted[:3]}")
    if pins.labels_missing_on_paper:
        found.append(f"{len(pins.labels_missing_on_paper)} printed jobs whose label is not "
                     f"on the paper: {pins.labels_missing_on_paper[:3]}")
    if pins.jobs_owed_at_end:
        found.append(f"{len(pins.jobs_owed_at_end)} jobs still owed at the end: "
                     f"{pins.jobs_owed_at_end[:3]}")
    if not pins.pending_announcements:
        found.append(f"no announcement was pending at any of {pins.bursts} kills: "
                     "nothing was tested")
    unheard = [t for t in pins.burst_calls
               if t not in pins.heard_before_kill and t not in pins.heard_after_restart]
    if unheard:
        found.append(f"{len(unheard)} of {len(pins.burst_calls)} calls made before the kill "
                     f"never reached the TV: {unheard[:3]}")
    if not pins.screen_calls or pins.screen_calls != pins.logged_calls:
        found.append(f"the live snapshot's recent calls {pins.screen_calls[:3]} are not the "
                     f"last calls of the event log {pins.logged_calls[:3]}")
    return found
