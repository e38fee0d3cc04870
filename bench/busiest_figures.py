"""The busiest day's figures, from what its clients timed and saw and from the server's
event log: latencies, the calls' way to the TVs and to their voice (also as the TVs' voice
planner would play it), errors, CPU and memory; the human summary; the figure records."""

from __future__ import annotations

import math
import os
from collections import defaultdict
from typing import Any

from bench.busiest_clients import PhoneBank, StreamHub
from bench.busiest_setup import BusyOptions, Run
from bench.common import Figure, ms, percentile
from bench.day_checks import DayEvidence
from bench.day_people import Floor
from bench.day_plan import Plan
from hardware.speaker.planner import Item, Rules, Speaker

DESK_ACTIONS = ("call-next", "start", "finish", "no-show")
VOICE_BOUND = 30.0  # seconds: the TVs' voice_max_delay_seconds by default
MIB = 1024 * 1024


def planned_starts(heard: list[tuple[float, dict[str, Any]]], shown: dict[int, float]
                   ) -> Speaker:
    """One TV's voice as its planner (``hardware/speaker/planner.py``, the same decisions as
    ``display/static/voiceplan.js``) would play what arrived on its announcement stream:
    each call from when it arrived, made when the TV showed it."""
    speaker = Speaker(Rules(bound=VOICE_BOUND))
    for arrived, a in sorted(heard, key=lambda x: x[0]):
        if len(a.get("seconds") or ()) < 2:
            continue  # no voice for it (an error): the TV shows it silently
        speaker.advance(arrived)
        speaker.free_at = max(speaker.free_at, arrived)
        made = min(shown.get(int(a["event"]), arrived), arrived)
        speaker.add(Item(int(a["seq"]), str(a["ticket"]), str(a["counter"]), made,
                         tuple(float(x) for x in a["seconds"])))
    speaker.advance(math.inf)
    return speaker


def _answers(ev: DayEvidence, floor: Floor) -> dict[int, tuple[float, int]]:
    """Each call event's seq → (when the asesor had the call-next answer, módulo): the
    answers of one ticket in order are its calls in the log in order."""
    mine: dict[str, list[float]] = defaultdict(list)
    for uid, at in floor.calls:
        mine[uid].append(at)
    out = {}
    with ev.connect() as conn:
        rows = conn.execute("SELECT seq, ticket, counter FROM events WHERE kind = "
                            "'ticket.called' ORDER BY seq").fetchall()
    taken: dict[str, int] = defaultdict(int)
    for seq, uid, counter in rows:
        k = taken[uid]
        taken[uid] += 1
        if k < len(mine.get(uid, ())):
            out[seq] = (mine[uid][k], counter)
    return out


def _voice(hub: StreamHub, answers: dict[int, tuple[float, int]]
           ) -> tuple[list[float], list[float], dict[str, int]]:
    """(call → announcement at the TV, call → the planner's start, the planner's fates)."""
    delivered: list[float] = []
    started: list[float] = []
    fates: defaultdict[str, int] = defaultdict(int)
    for i, heard in enumerate(hub.voice):
        for arrived, a in heard:
            if not a.get("recall") and int(a["event"]) in answers:
                delivered.append(arrived - answers[int(a["event"])][0])
        event_of = {int(a["seq"]): (int(a["event"]), bool(a.get("recall"))) for _, a in heard}
        for seq, outcome in planned_starts(heard, hub.tv_seen[i]).outcomes.items():
            fates[outcome.fate] += 1
            event, recall = event_of[seq]
            if outcome.spoken_at is not None and not recall and event in answers:
                started.append(outcome.spoken_at - answers[event][0])
    return delivered, started, dict(fates)


def measure(o: BusyOptions, plan: Plan, ev: DayEvidence, floor: Floor, hub: StreamHub,
            bank: PhoneBank, checks: dict[str, list[str]], zones: dict[int, str],
            raw: dict[str, Any]) -> Run:
    """The day's figures and its human summary."""
    answers = _answers(ev, floor)
    tv_zones = {s.index: s.zone for s in hub.streams if s.kind == "voice"}
    rush = raw.get("rush") or {"at": math.inf, "marks": {}}
    to_tv = [(at, seen[seq] - at) for seq, (at, counter) in answers.items()
             for i, seen in enumerate(hub.tv_seen)
             if tv_zones.get(i) == zones.get(counter) and seq in seen]
    delivered, started, fates = _voice(hub, answers)
    timings = floor.timings
    desk = [x for a in DESK_ACTIONS for x in timings.get(a, [])]
    marks = rush["marks"]  # how many of each timing the rush had (they are in order)
    issue_rush = timings.get("issue", [])[:marks.get("issue", 0)]
    desk_rush = [x for a in DESK_ACTIONS for x in timings.get(a, [])[:marks.get(a, 0)]]
    tv_rush = [d for at, d in to_tv if at < rush["at"]]
    statuses = floor.statuses
    errors = sum(n for s, n in statuses.items() if s == 0 or s >= 500)
    unexpected = sum(n for s, n in statuses.items() if 400 <= s < 500)
    staff_refused = sum(n for (kind, _), n in hub.refused.items()
                        if kind in ("desk", "supervisor"))
    figures = {
        "violations": float(sum(len(v) for v in checks.values())),
        "kiosk_issue_p50": ms(timings.get("issue", []), 50),
        "kiosk_issue_p99": ms(timings.get("issue", []), 99),
        "desk_action_p50": ms(desk, 50), "desk_action_p99": ms(desk, 99),
        "call_to_tv_p50": ms([d for _, d in to_tv], 50),
        "call_to_tv_p99": ms([d for _, d in to_tv], 99),
        "kiosk_issue_rush_p99": ms(issue_rush, 99), "desk_action_rush_p99": ms(desk_rush, 99),
        "call_to_tv_rush_p99": ms(tv_rush, 99),
        "voice_delivery_p99": percentile(delivered, 99),
        "voice_start_p99": percentile(started, 99),
        "login_p99": ms(timings.get("login", []), 99),
        "phone_poll_p99": ms(timings.get("phone_poll", []), 99),
        "errors_5xx": float(errors), "unexpected_4xx": float(unexpected),
        "http_503": float(statuses.get(503, 0)),
        "refused_staff_streams": float(staff_refused),
        "server_cpu_cores": raw["server_cpu"] / max(1e-9, raw["server_wall"]),
        "generator_cpu_cores": raw["generator_cpu"] / max(1e-9, raw["wall"]),
        # the machine's other load meanwhile (the central and PostgreSQL included)
        "other_cpu_cores": max(0.0, raw["machine_busy"] - raw["server_cpu"]
                               - raw["generator_cpu"]) / max(1e-9, raw["server_wall"]),
        "peak_rss_mib": raw["peak_kib"] / 1024,
        "cgroup_peak_mib": raw["cgroup_peak"] / MIB if raw["cgroup_peak"] else math.nan,
        "wall": raw["wall"],
        "day_close_s": raw["close_seconds"] if raw.get("close_seconds") is not None
        else math.nan,
        # the machine's speed during the run, in Pi 4 cores per core of it (the budget's
        # quota was set from the first reading): a spread says how far the budget drifted
        "speed_min": min(raw["speeds"]) if raw.get("speeds") else math.nan,
        "speed_max": max(raw["speeds"]) if raw.get("speeds") else math.nan,
    }
    with ev.connect() as conn:
        final = dict(conn.execute(
            "SELECT a.status, COUNT(*) FROM attentions a JOIN tickets t ON t.id = a.ticket "
            "WHERE t.day = ? AND a.step = (SELECT MAX(step) FROM attentions WHERE "
            "ticket = a.ticket) GROUP BY a.status", (ev.day,)).fetchall())
    counts: dict[str, Any] = {
        "tickets": len(floor.issued), "final": final, "calls": len(answers),
        "statuses": dict(statuses), "refused": {f"{k} {s}": n for (k, s), n in
                                                hub.refused.items()},
        "dropped_streams": dict(hub.dropped), "phones": dict(bank.counts),
        "phones_peak": bank.peak, "tv_calls": list(hub.tv_calls),
        "voice_heard": [len(v) for v in hub.voice], "voice_fates": fates,
        "desk_stream_events": hub.events("desk"),
        "supervisor_stream_events": hub.events("supervisor"),
        "central_events": raw["central_events"], "announced": raw["announced"],
        "floor": dict(floor.counts),
        "kiosk_behind_p99_minutes": percentile(timings.get("kiosk_behind", []), 99) / 60,
        **{f"timed_{k}": len(v) for k, v in timings.items()},
    }
    lines = _summary(o, figures, counts, timings, raw, checks)
    return Run(figures, checks, counts, lines)


def _summary(o: BusyOptions, f: dict[str, float], c: dict[str, Any],
             timings: dict[str, list[float]], raw: dict[str, Any],
             checks: dict[str, list[str]]) -> list[str]:
    final, phones, on_floor = c["final"], c["phones"], c["floor"]
    lines = [
        f"{c['tickets']} tickets: {final.get('done', 0)} served, {final.get('no_show', 0)} "
        f"no-show, {final.get('expired', 0)} expired; {c['calls']} calls",
        f"kiosks behind their citizens p99 {c['kiosk_behind_p99_minutes']:.1f} simulated min"
        f"; {on_floor.get('refused_at_kiosk', 0)} refused near closing (the orientador "
        f"issued them), {on_floor.get('turned_away_after_hours', 0)} turned away after hours",
        f"over the day: kiosk tap → ticket p50 {f['kiosk_issue_p50']:.0f} ms p99 "
        f"{f['kiosk_issue_p99']:.0f} ms; desk click → answer p50 {f['desk_action_p50']:.0f} "
        f"ms p99 {f['desk_action_p99']:.0f} ms; login p99 {f['login_p99']:.0f} ms "
        f"({len(timings.get('login', []))} logins)",
        f"call → TV p50 {f['call_to_tv_p50']:.0f} ms p99 {f['call_to_tv_p99']:.0f} ms; "
        f"call → voice at the TV p99 {f['voice_delivery_p99']:.1f} s, → the planner's start "
        f"p99 {f['voice_start_p99']:.1f} s ({c['voice_fates']})",
        f"phones: {phones.get('phones', 0)} (at most {c['phones_peak']} at once, "
        f"{phones.get('waited_for_a_phone', 0)} waited for one), {phones.get('pages', 0)} "
        f"pages, {phones.get('polls', 0)} polls (p99 {f['phone_poll_p99']:.0f} ms, "
        f"{phones.get('late', 0)} late), {phones.get('saw_called', 0)} saw their call",
        f"TVs heard {min(c['tv_calls'], default=0)}–{max(c['tv_calls'], default=0)} calls, "
        f"voice {min(c['voice_heard'], default=0)}–{max(c['voice_heard'], default=0)} "
        f"announcements; desks' streams {c['desk_stream_events']} events, supervisor's "
        f"{c['supervisor_stream_events']}; central {c['central_events']} events",
        f"errors: {f['errors_5xx']:.0f} 5xx or dropped ({f['http_503']:.0f} 503), "
        f"{f['unexpected_4xx']:.0f} unexpected 4xx, streams refused {c['refused'] or 0}, "
        f"ended by the server {c['dropped_streams'] or 0}",
        f"server CPU {f['server_cpu_cores']:.2f} cores, peak RSS {f['peak_rss_mib']:.0f} MiB"
        + (f", cgroup peak {f['cgroup_peak_mib']:.0f} MiB (page cache included)"
           if not math.isnan(f["cgroup_peak_mib"]) else "")
        + f"; the load generator {f['generator_cpu_cores']:.2f} cores, other processes "
        f"{f['other_cpu_cores']:.2f} cores (of {os.cpu_count()})",
        "over the day, p50/p99 ms: " + ", ".join(
            f"{what} {ms(timings.get(what, []), 50):.0f}/{ms(timings.get(what, []), 99):.0f}"
            for what in (*DESK_ACTIONS, "recall", "pause", "issue_at_reception", "login",
                         "phone_page", "phone_poll", "dashboard") if timings.get(what)),
    ]
    rush = raw.get("rush")
    if rush:
        cores = (rush["cpu"] - raw["cpu_began"]) / max(1e-9, rush["at"] - raw["cpu_at"])
        lines.append(f"in the rush ({o.rush_start}–{o.rush_end} at {o.rush_speed:g}x): kiosk "
                     f"p99 {f['kiosk_issue_rush_p99']:.0f} ms, desk p99 "
                     f"{f['desk_action_rush_p99']:.0f} ms, call → TV p99 "
                     f"{f['call_to_tv_rush_p99']:.0f} ms, server CPU {cores:.2f} cores")
    lines.append(f"real duration {f['wall'] / 60:.1f} min")
    for name, found in checks.items():
        lines.append(f"check {name}: " + ("ok" if not found else
                                          f"{len(found)} violations: {found[:3]}"))
    return lines


def figures_of(runs: list[Run], o: BusyOptions, cmd: str) -> list[Figure]:
    """The figure records of the runs, with the targets of issue 20 (Pi 4 budget) on the
    rush's latencies (the rush runs at ``--rush-speed``, real time in a full run; after it
    the load comes ``--speed-after`` times denser than a real afternoon's, so the whole
    day's latencies are shown without a target): at ten times the rush's rate the
    latencies' target is 1 s."""
    surge = o.rate_factor > 1
    fast = 1000.0 if surge else 300.0
    rows = [
        ("violations", "invariant violations (post-day checks)", "", ("<=", 0)),
        ("kiosk_issue_rush_p99", "kiosk tap → ticket in the rush, p99", "ms", ("<=", fast)),
        ("desk_action_rush_p99", "desk click → answer (call-next, start, finish, no-show) "
                                 "in the rush, p99", "ms", ("<=", fast)),
        ("call_to_tv_rush_p99", "call → on the TVs of its zone in the rush, p99", "ms",
         ("<=", 1000.0 if surge else 500.0)),
        ("kiosk_issue_p50", "kiosk tap → ticket over the day, p50", "ms", None),
        ("kiosk_issue_p99", "kiosk tap → ticket over the day, p99", "ms", None),
        ("desk_action_p50", "desk click → answer over the day, p50", "ms", None),
        ("desk_action_p99", "desk click → answer over the day, p99", "ms", None),
        ("call_to_tv_p50", "call → on the TVs of its zone over the day, p50", "ms", None),
        ("call_to_tv_p99", "call → on the TVs of its zone over the day, p99", "ms", None),
        ("voice_delivery_p99", "call → its announcement at the TVs, p99", "s", None),
        ("voice_start_p99", "call → the TV's voice planner starts it, p99", "s", None),
        ("login_p99", "staff login over HTTP, p99", "ms", ("<=", 1500.0)),
        ("phone_poll_p99", "phone status poll, p99", "ms", None),
        ("errors_5xx", "5xx answers and dropped connections", "", ("<=", 0)),
        ("unexpected_4xx", "unexpected 4xx answers", "", ("<=", 0)),
        ("http_503", "503 answers", "", None),
        ("refused_staff_streams", "staff live streams refused", "", ("<=", 0)),
        ("server_cpu_cores", "server CPU", "cores", None),
        ("generator_cpu_cores", "load generator CPU", "cores", None),
        ("other_cpu_cores", "other processes' CPU meanwhile (central and PostgreSQL "
                            "included)", "cores", None),
        ("peak_rss_mib", "server peak RSS", "MiB", ("<=", 400.0)),
        ("cgroup_peak_mib", "budget cgroup's peak memory (page cache included)", "MiB",
         None),
        ("wall", "real duration", "s", None),
        ("day_close_s", "the supervisor's end-of-day close (expiring what still waits), time "
                        "to its answer", "s", None),
        ("speed_min", "this machine's core in Pi 4 cores, lowest reading during the run",
         "", None),
        ("speed_max", "this machine's core in Pi 4 cores, highest reading during the run",
         "", None),
    ]
    parts = [f"{o.budget} budget"] if o.budget != "none" else []
    if o.rate_factor != 1:
        parts.append(f"the rush at {o.rate_factor:g}× its rate")
    where = f" ({', '.join(parts)})" if parts else ""
    out = []
    for key, label, unit, target in rows:
        figure = Figure(f"busiest_day.{key}", f"Busiest day{where}: {label}", unit, target,
                        cmd)
        for r in runs:
            figure.add(r.figures[key])
        if key == "violations":
            figure.notes += ["; ".join(f"{k}: {v[:3]}" for k, v in r.checks.items() if v)
                             for r in runs if r.violations]
        out.append(figure)
    return out
