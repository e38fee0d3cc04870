"""Crash drill: ``kill -9`` of the whole server at random moments under load, each followed by
a restart on the same state dir, then the day's invariants.

The load runs all the time: kiosks issuing (each retrying with its Idempotency-Key until it
gets an answer, as the kiosk page does after a timeout), módulos calling, starting,
finishing and marking no-shows (each finding out from the server where its ticket stands
after a request whose answer was lost, as the desk page does after a reconnection). Half of
the kiosks print on a virtual printer, the other half on a printer that is offline (a file
printer whose folder is missing), so that its jobs are pending at every kill; the TVs'
voice is espeak-ng, as in a centre. Each kill models an independent power cut: the crash-loop
guard's record of early deaths (``start-attempts.json``) is removed before each restart, or
the fourth start would be in safe mode, without printers or voice (``appliance/startup.py``).

A TV follows its announcement stream all along. Afterwards, with the load stopped, one more
kill pins what must survive a power cut besides the tickets (``bench.crash_pins``):

* tickets: every ticket a kiosk was given (201, or 200 for a replayed key) exists with its
  label and its print job; numbers have no gap and no repeat; no ticket was called twice;
  preferential tickets came first; after closing the day every attention is terminal;
* print jobs: those the offline printer owed at the kill are owed again after the restart,
  and all print (labels on the paper) once the printer is repaired; then no printer owes
  anything, after all the kills;
* announcements: every call made just before the kill, while the voice was still busy,
  reaches the TV after the restart; the live stream's snapshot shows the last calls.

    .venv/bin/python -m bench.crash_drill            # 30 kills, about 2 minutes
    .venv/bin/python -m bench.crash_drill --kills 4 --min-gap 1 --max-gap 2.5   # the suite's
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from appliance.runtime import DB_NAME, open_store
from appliance.startup import ATTEMPTS_FILE
from bench import crash_pins
from bench.common import Client, Figure, arguments, cli, command, progress
from bench.day_checks import (
    DayEvidence,
    all_terminal_after_close,
    clients_saw_nothing_wrong,
    confirmed_tickets_kept,
    database_intact,
    labels_unique,
    preferential_first,
    run_checks,
    single_calls,
)
from bench.day_people import Floor
from bench.day_people import _code as error_code
from bench.day_people import _json as json_of
from config import load_settings
from harness.live_server import PIN, LiveServer, write_config
from turnero import accounts

VIRTUAL, OFFLINE = "kiosko-1", "kiosko-2"
OFFLINE_PAPER = Path("printer-offline") / "paper.bin"


@dataclass(frozen=True)
class Options:
    kills: int = 30
    kiosks: int = 4
    counters: int = 8
    queues: int = 4
    min_gap: float = 1.0  # real seconds of load between a restart and the next kill
    max_gap: float = 4.0
    seed: int = 1
    preferential: float = 0.2
    no_show: float = 0.05
    state_dir: Path | None = None


@dataclass
class DrillResult:
    kills: int
    restart_seconds: list[float]
    confirmed: int
    checks: dict[str, list[str]]
    counts: dict[str, int]
    pins: crash_pins.Pins
    wall_seconds: float

    @property
    def violations(self) -> int:
        return sum(len(v) for v in self.checks.values())


def numbers_without_gaps(ev: DayEvidence) -> list[str]:
    """Each queue's numbers of the day run 1, 2, 3… without a gap: a number is taken
    inside the transaction that issues the ticket, so a crash cannot burn one."""
    with ev.connect() as conn:
        found = []
        for (queue,) in conn.execute("SELECT DISTINCT number_queue FROM tickets WHERE day = ?",
                                     (ev.day,)).fetchall():
            numbers = [n for (n,) in conn.execute(
                "SELECT number FROM tickets WHERE day = ? AND number_queue = ? ORDER BY number",
                (ev.day, queue))]
            if numbers != list(range(1, len(numbers) + 1)):
                found.append(f"{queue}: {len(numbers)} tickets numbered up to {numbers[-1]}")
    return found


def print_jobs_written(ev: DayEvidence) -> list[str]:
    """Every ticket a kiosk was given has its print job (every kiosk here has a printer):
    the job is written in the ticket's own transaction."""
    with ev.connect() as conn:
        having = {r[0] for r in conn.execute("SELECT ticket FROM print_jobs WHERE day = ?",
                                             (ev.day,))}
    return [f"{uid} ({label}) has no print job" for uid, label in ev.confirmed.items()
            if uid not in having]


CHECKS = [("labels_unique", labels_unique), ("numbers_without_gaps", numbers_without_gaps),
          ("confirmed_tickets_kept", confirmed_tickets_kept),
          ("print_jobs_written", print_jobs_written), ("single_calls", single_calls),
          ("preferential_first", preferential_first),
          ("all_terminal_after_close", all_terminal_after_close),
          ("clients_saw_nothing_wrong", clients_saw_nothing_wrong),
          ("database_intact", database_intact)]


def centre(root: Path, o: Options) -> Path:
    """The bench centre (``harness.live_server.write_config``) with the two printers."""
    config = write_config(root / "centre.toml", queues=o.queues, counters=o.counters)
    odd = [f"kiosk-{k}" for k in range(1, o.kiosks + 1, 2)]
    even = [f"kiosk-{k}" for k in range(2, o.kiosks + 1, 2)]
    missing = root / OFFLINE_PAPER  # its folder is made only to repair it at the end
    with config.open("a", encoding="utf-8") as f:
        f.write(f'\n[[printers]]\nname = "{VIRTUAL}"\ntransport = "virtual"\n'
                f'devices = {json.dumps(odd)}\nreception = true\n\n'
                f'[[printers]]\nname = "{OFFLINE}"\ntransport = "file"\n'
                f'target = {json.dumps(str(missing))}\ndevices = {json.dumps(even)}\n')
    return config


@dataclass
class Drill:
    server: LiveServer
    options: Options
    floor: Floor
    kiosk_tokens: list[str]
    staff: dict[str, str]
    deadline: float
    confirmed: dict[str, str] = field(default_factory=dict)  # uid → label
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return self.server.port

    def running(self) -> bool:
        return not self.stop.is_set() and time.monotonic() < self.deadline


def kiosk(d: Drill, k: int, rng: random.Random) -> None:
    """Issue tickets one after another; a ticket is retried with its key until answered."""
    o, floor = d.options, d.floor
    headers = {"Authorization": f"Bearer {d.kiosk_tokens[k - 1]}"}
    with Client(d.port, headers, timeout=10) as client:
        while d.running():
            body: dict[str, Any] = {"service_id": rng.randint(1, o.queues)}
            if rng.random() < o.preferential:
                body["priority"] = rng.choice(("gestante", "adulto_mayor", "discapacidad"))
            key = {"Idempotency-Key": uuid.uuid4().hex}
            while d.running():
                status, raw, _ = client.post("/api/v1/tickets", body, key)
                if status in (200, 201):
                    t = json_of(raw)
                    with floor.lock:
                        d.confirmed[t["uid"]] = t["label"]
                    floor.count("replayed" if status == 200 else "issued")
                    break
                if status != 0:  # anything but a dead server is wrong
                    floor.answer("POST /tickets", status, raw, (201,))
                    break
                time.sleep(0.05)
            time.sleep(rng.uniform(0, 0.02))


def _status_of(client: Client, uid: str) -> str | None:
    """Where the ticket stands now, from the server; None while it cannot say."""
    status, raw, _ = client.get(f"/api/v1/tickets/{uid}")
    return json_of(raw).get("status") if status == 200 else None


def modulo(d: Drill, n: int, rng: random.Random) -> None:
    """A módulo's asesor: call, then start and finish (or no-show); after an answer lost
    in a crash, or refused because the last one did happen, asks the server."""
    floor, base = d.floor, f"/api/v1/counters/{n}"
    with Client(d.port, d.staff, timeout=10) as client:
        uid: str | None = None
        state: str | None = None
        while d.running():
            if uid is None:
                status, raw, _ = client.post(f"{base}/call-next", {})
                body = json_of(raw)
                if status == 200:
                    uid, state = body["uid"], "called"
                    floor.hold(n, uid, body["label"])
                elif status == 409 and error_code(raw) == "counter_busy":
                    uid, state = body["ticket"], None  # called before the crash: carry on
                    floor.count("recovered_call")
                    floor.hold(n, uid, uid)
                elif status == 204 or status == 0:
                    time.sleep(0.05)
                else:
                    floor.answer(f"call-next (módulo {n})", status, raw, (200, 204))
                    time.sleep(0.05)
                continue
            if state is None:
                state = _status_of(client, uid)
                if state is None:
                    time.sleep(0.05)
                    continue
            if state not in ("called", "serving"):
                floor.release(n)
                uid, state = None, None
                continue
            action = ("no-show" if rng.random() < d.options.no_show else "start") \
                if state == "called" else "finish"
            status, raw, _ = client.post(f"{base}/{action}", {})
            if status == 200:
                state = "serving" if action == "start" else "done"
            elif status == 0 or (status == 409 and error_code(raw) in (
                    "illegal_transition", "no_current_ticket")):
                state = None  # lost or already done before the crash: ask
                floor.count("recovered_action" if status == 409 else "lost_answer")
            else:
                floor.answer(f"{action} (módulo {n})", status, raw, (200,))
                state = None
            time.sleep(rng.uniform(0, 0.03))


def _snapshot(d: Drill) -> dict[str, Any]:
    """The live stream's first frame, as a TV or desk gets it after a reconnection."""
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    try:
        conn.request("GET", "/api/v1/stream", headers=d.staff)
        response = conn.getresponse()
        event = None
        for _ in range(100):
            line = response.fp.readline().decode("utf-8").rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "snapshot":
                return json.loads(line[6:])
        raise RuntimeError("no snapshot on the live stream")
    finally:
        conn.close()


def restart(d: Drill) -> float:
    """SIGKILL to the whole service, then start again; seconds to healthy."""
    d.server.kill()
    return start_again(d)


def start_again(d: Drill) -> float:
    """Forget the early death and start; seconds to healthy. Safe mode after it would mean
    the drill did not test printing or voice."""
    (d.server.state / ATTEMPTS_FILE).unlink(missing_ok=True)
    seconds = d.server.start(timeout=30)
    _, health = d.server.request("GET", "/api/v1/health")
    assert isinstance(health, dict)
    if "safe_mode" in health["components"]:
        d.floor.violation("the server restarted in safe mode")
    return seconds


def enrol(config: Path, state: Path, o: Options) -> list[str]:
    """The supervisor, the kiosks and the TV (its token last), written before the first
    start."""
    settings = load_settings(config)
    store = open_store(settings, state)
    try:
        accounts.create_user(store, "supervisor", "supervisor", PIN,
                             security=settings.security)
        return [*(accounts.enrol_device(store, f"kiosk-{k}", "kiosk")
                  for k in range(1, o.kiosks + 1)),
                accounts.enrol_device(store, "tv-1", "display")]
    finally:
        store.close()


def box(d: Drill, paper: Path) -> crash_pins.Box:
    return crash_pins.Box(
        request=lambda method, path, body=None: d.server.request(method, path, body, d.staff),
        kill=d.server.kill, start=lambda: start_again(d), snapshot=lambda: _snapshot(d),
        db=d.server.state / DB_NAME, offline=OFFLINE, offline_paper=paper,
        counters=d.options.counters)


def drill(o: Options, say: Callable[[str], None] = progress) -> DrillResult:
    """Run the drill on a fresh state dir; see the module's docstring."""
    if o.kills < 1 or o.kiosks < 2 or o.counters < 1 or not 0 < o.min_gap <= o.max_gap:
        raise ValueError("need kills ≥ 1, kiosks ≥ 2 (one per printer), counters ≥ 1 and "
                         "0 < min-gap ≤ max-gap")
    with tempfile.TemporaryDirectory(prefix="mt-crash-") as tmp:
        root = Path(o.state_dir or tmp)
        root.mkdir(parents=True, exist_ok=True)
        config = centre(root, o)
        state = root / "state"
        state.mkdir()
        *tokens, tv_token = enrol(config, state, o)
        server = LiveServer(state, config)
        return _run(o, server, tokens, tv_token, say)


def _run(o: Options, server: LiveServer, tokens: list[str], tv_token: str,
         say: Callable[[str], None]) -> DrillResult:
    began = time.monotonic()
    rng = random.Random(o.seed)
    server.start(timeout=30)
    threads: list[threading.Thread] = []
    restarts: list[float] = []
    tv = crash_pins.Tv(server.port, tv_token).start()
    try:
        staff = server.login()
        status, data = server.request("POST", "/api/v1/day/open", {}, staff)
        if status != 200:
            raise RuntimeError(f"day/open answered {status}: {data}")
        d = Drill(server, o, Floor({}), tokens, staff,
                  began + o.kills * (o.max_gap + 20) + 120)
        for n in range(1, o.counters + 1):
            server.request("POST", f"/api/v1/counters/{n}/open", {}, staff)
        threads = [threading.Thread(target=kiosk, args=(d, k, random.Random(rng.random())),
                                    daemon=True) for k in range(1, o.kiosks + 1)]
        threads += [threading.Thread(target=modulo, args=(d, n, random.Random(rng.random())),
                                     daemon=True) for n in range(1, o.counters + 1)]
        for t in threads:
            t.start()
        for i in range(1, o.kills + 1):
            time.sleep(rng.uniform(o.min_gap, o.max_gap))
            restarts.append(restart(d))
            say(f"kill {i}/{o.kills}: healthy again in {restarts[-1]:.2f} s, "
                f"{len(d.confirmed)} tickets confirmed so far")
        time.sleep(o.min_gap)
        d.stop.set()
        for t in threads:
            t.join(max(1.0, d.deadline - time.monotonic()))
        if any(t.is_alive() for t in threads):
            d.floor.violation("load threads still running at the deadline")
        pins = crash_pins.pin(box(d, server.state.parent / OFFLINE_PAPER), tv)
        status, data = server.request("POST", "/api/v1/day/close", {"expire_waiting": True}, staff)
        if status != 200:
            d.floor.violation(f"day/close answered {status}: {data}")
        status, day = server.request("GET", "/api/v1/day", headers=staff)
        assert isinstance(day, dict)
    finally:
        tv.stop()
        server.stop()
    evidence = DayEvidence(server.state / DB_NAME, day["date"], dict(d.confirmed),
                           d.floor.violations + [f"unexpected answers: {k} ×{n}" for k, n in
                                                 d.floor.unexpected.items()])
    checks = run_checks(evidence, CHECKS)
    checks["pending_work_resumes"] = crash_pins.problems(pins)
    with evidence.connect() as conn:
        calls = conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'ticket.called'"
                             ).fetchone()[0]
    counts = Counter({**d.floor.counts, "calls": calls})
    return DrillResult(o.kills, restarts, len(d.confirmed), checks, dict(counts), pins,
                       time.monotonic() - began)


def summary(r: DrillResult) -> list[str]:
    c, p = r.counts, r.pins
    lines = [
        f"{r.kills} kills in {r.wall_seconds:.0f} s: healthy again in median "
        f"{statistics.median(r.restart_seconds):.2f} s, max {max(r.restart_seconds):.2f} s",
        f"{r.confirmed} tickets confirmed ({c.get('replayed', 0)} by a replayed key after a "
        f"lost answer), {c.get('calls', 0)} calls; módulos carried on after "
        f"{c.get('lost_answer', 0)} lost answers, {c.get('recovered_call', 0)} calls and "
        f"{c.get('recovered_action', 0)} actions done before a crash",
        f"print jobs pending at the last kill: {len(p.jobs_pending_at_kill)} "
        f"({len(p.jobs_live_at_kill)} of tickets still waiting); owed after the restart: "
        f"{len(p.jobs_owed_after_restart)}, printed after the repair: "
        f"{len(p.jobs_printed_after_repair)}; owed at the end: {len(p.jobs_owed_at_end)}",
        f"announcements: {len(p.burst_calls)} calls just before the last kill "
        f"(try {p.bursts}), {len(p.pending_announcements)} not yet heard by the TV at the "
        f"kill, heard after the restart: "
        f"{sum(t in p.heard_after_restart for t in p.pending_announcements)}; "
        f"the TV heard {len(p.heard_before_kill) + len(p.heard_after_restart)} announcements "
        f"in all; the live snapshot shows the last {len(p.screen_calls)} calls from the "
        "events",
    ]
    for name, found in r.checks.items():
        lines.append(f"check {name}: " + ("ok" if not found else
                                          f"{len(found)} violations: {found[:3]}"))
    return lines


def parser() -> argparse.ArgumentParser:
    p = arguments(__doc__, runs=1)
    d = Options()
    p.add_argument("--kills", type=int, default=d.kills)
    p.add_argument("--kiosks", type=int, default=d.kiosks)
    p.add_argument("--counters", type=int, default=d.counters, help="módulos")
    p.add_argument("--queues", type=int, default=d.queues)
    p.add_argument("--min-gap", type=float, default=d.min_gap,
                   help="least real seconds of load before each kill")
    p.add_argument("--max-gap", type=float, default=d.max_gap)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--state-dir", type=Path, default=None,
                   help="keep the centre and the server's state here (a new folder)")
    return p


def run(args: argparse.Namespace, argv: list[str]) -> list[Figure]:
    cmd = command("crash_drill", argv)
    violations = Figure("crash_drill.violations", "Crash drill: invariant violations", "",
                        ("<=", 0), cmd)
    confirmed = Figure("crash_drill.confirmed", "Crash drill: tickets confirmed (all kept)",
                       "", None, cmd)
    restart_p50 = Figure("crash_drill.restart", "Crash drill: kill to healthy, median", "s",
                         None, cmd)
    restart_max = Figure("crash_drill.restart_max", "Crash drill: kill to healthy, max", "s",
                         None, cmd)
    options = Options(kills=args.kills, kiosks=args.kiosks, counters=args.counters,
                      queues=args.queues, min_gap=args.min_gap, max_gap=args.max_gap,
                      seed=args.seed, state_dir=args.state_dir)
    for n in range(args.runs):
        result = drill(replace(options, seed=options.seed + n))
        for line in summary(result):
            progress(line)
        violations.add(result.violations)
        confirmed.add(result.confirmed)
        restart_p50.add(statistics.median(result.restart_seconds))
        restart_max.add(max(result.restart_seconds))
        if result.violations:
            violations.notes.append("; ".join(f"{k}: {v[:3]}" for k, v in
                                              result.checks.items() if v))
    return [violations, confirmed, restart_p50, restart_max]


def main(argv: list[str] | None = None) -> list[Figure]:
    figures = cli(run, parser(), argv)
    if figures[0].met is False:
        sys.exit(1)
    return figures


if __name__ == "__main__":
    main()
