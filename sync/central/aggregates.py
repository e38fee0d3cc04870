"""The indicators kept up to date as events arrive, so that a page reads a year of a
national network from a few thousand rows instead of millions of events.

For each centre, service day and entity, ``daily_figures`` holds the counts (issued,
served, no-show, cancelled, expired), the waits and the attention times (how many, their
sum, how many were judged against the queue's ANS target and how many were within it) and
the ratings (how many, their sum, how many satisfied); ``wait_tenths`` holds the waits'
distribution in tenths of a minute, for the median. An attention is timed from its first
start to its first end, waiting in ``open_attentions`` meanwhile. A wait is measured as
``indicators`` measures it — from the passage's entry into its queue to its first call — and
counted on the day of the call. An entry waits for its first call in ``open_entries``; it
leaves at that call, or when its ticket is cancelled or expires.

Only events stored for the first time are aggregated (``ingest`` passes its fresh ones), in
the batch's transaction: a repeat adds nothing, and a central restored from a copy holds
the aggregates of that copy, which the resent events then complete. They are read as they
are stored (``ingest._row``: the step, day and queue taken once, by one rule), so the
aggregates kept live and those made again from the table (``rebuild``) are the same.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sync.central import periods, rollups
from sync.central.indicators import COUNTED, SATISFIED, Cell, score_of
from sync.central.indicators import KINDS as INDICATOR_KINDS
from sync.central.rollups import FIGURES, refill_months
from sync.central.times import moment

if TYPE_CHECKING:  # the database module runs ``refill`` as a step of its migrations
    from sync.central.db import Conn, Database

ENTRY_KINDS = ("ticket.issued", "ticket.transferred", "ticket.next_step")
ENDS = ("ticket.cancelled", "ticket.expired")
KINDS = frozenset(INDICATOR_KINDS) | set(ENDS)
CHUNK = 400


@dataclass
class Delta:
    """What one batch adds to one (day, entity)."""

    counts: Counter[str] = field(default_factory=Counter)
    tenths: Counter[int] = field(default_factory=Counter)


def add(tx: Conn, centre: str, events: Iterable[dict[str, Any]], *,
        months: bool = True) -> None:
    """Fold ``events`` (first stored now, in the centre's log order) into the aggregates:
    rows as stored (``kind``, ``at``, ``day``, ``queue``, ``ticket``, ``step`` and the
    ``payload`` as an object), not as a centre sends them. ``months``: the monthly rollups
    too (not while the migration that makes the daily ones runs: they come later)."""
    events = [e for e in events if e["kind"] in KINDS]
    if not events:
        return
    targets = {q["code"]: q for q in tx.query(
        "SELECT code, entity, max_wait_minutes, max_attention_minutes FROM queues "
        "WHERE centre = ?", (centre,))}
    entries = _entries(tx, centre, [e for e in events if e["kind"] == "ticket.called"])
    starts = _starts(tx, centre, [e for e in events if e["kind"] == "ticket.finished"])
    new_entries: dict[tuple[str, int], tuple[str, str]] = {}
    new_starts: dict[tuple[str, int], str] = {}
    gone: set[tuple[str, int]] = set()
    over: set[str] = set()  # tickets cancelled or expired: none of their entries is called
    ended: set[tuple[str, int]] = set()
    deltas: dict[tuple[str, str], Delta] = defaultdict(Delta)
    for e in events:
        kind, ticket, step = e["kind"], e["ticket"] or "", e["step"] or 1
        queue = e["queue"] or ""
        target = targets.get(queue)
        entity = str(e["payload"].get("entity") or (target["entity"] if target else queue))
        delta = deltas[(e["day"], entity)]
        if kind in COUNTED:
            delta.counts[COUNTED[kind]] += 1
        if kind == "ticket.issued":
            new_entries[(ticket, step)] = (e["at"], queue)
        elif kind in ("ticket.transferred", "ticket.next_step"):
            new_entries[(ticket, step + 1)] = (e["at"], queue)
        elif kind in ENDS:  # its stored entries go too, whichever batch they came in
            gone.update(k for k in new_entries if k[0] == ticket)
            over.add(ticket)
        elif kind == "ticket.called":
            key = (ticket, step)
            entered = new_entries.pop(key, None) or entries.pop(key, None)
            if entered is None:
                continue  # a later call of the same passage, or its entry never came
            gone.add(key)
            minutes = max(0.0, (moment(e["at"]) - moment(entered[0])).total_seconds() / 60)
            delta.counts["waits"] += 1
            delta.counts["wait_ms"] += round(minutes * 60_000)  # as Cell.add_wait counts it
            delta.tenths[int(minutes * 10)] += 1
            limit = target["max_wait_minutes"] if target else 0
            if limit:
                delta.counts["judged"] += 1
                delta.counts["within"] += minutes <= limit
        elif kind == "ticket.started":
            key = (ticket, step)
            if key not in starts and key not in new_starts and key not in ended:
                new_starts[key] = e["at"]
        elif kind == "ticket.rated" and (score := score_of(e["payload"])) is not None:
            delta.counts["ratings"] += 1
            delta.counts["rating_sum"] += score
            delta.counts["satisfied"] += score >= SATISFIED
        if kind == "ticket.finished":
            _finish(delta, (ticket, step), e["at"], starts, new_starts, ended,
                    target["max_attention_minutes"] if target else 0)
    _write(tx, centre, deltas, new_entries, gone, over)
    if months:
        rollups.write(tx, centre, deltas)
    _write_starts(tx, centre, new_starts, ended)


def _finish(delta: Delta, key: tuple[str, int], at: str, starts: dict[tuple[str, int], str],
            new_starts: dict[tuple[str, int], str], ended: set[tuple[str, int]],
            limit: int) -> None:
    """An attention's first end, timed from its first start (as ``indicators`` does)."""
    began = new_starts.pop(key, None) or starts.pop(key, None)
    if began is None:
        return
    ended.add(key)
    minutes = max(0.0, (moment(at) - moment(began)).total_seconds() / 60)
    delta.counts["attentions"] += 1
    delta.counts["attention_ms"] += round(minutes * 60_000)
    if limit:
        delta.counts["attention_judged"] += 1
        delta.counts["attention_within"] += minutes <= limit


def _starts(tx: Conn, centre: str, ends: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """The stored starts the ends of a batch may close."""
    tickets = sorted({e.get("ticket") or "" for e in ends})
    found: dict[tuple[str, int], str] = {}
    for i in range(0, len(tickets), CHUNK):
        part = tickets[i:i + CHUNK]
        marks = ",".join("?" * len(part))
        for r in tx.query(f"SELECT ticket, step, started_at FROM open_attentions "
                          f"WHERE centre = ? AND ticket IN ({marks})", (centre, *part)):
            found[(r["ticket"], r["step"])] = r["started_at"]
    return found


def _write_starts(tx: Conn, centre: str, new_starts: dict[tuple[str, int], str],
                  ended: set[tuple[str, int]]) -> None:
    tx.executemany("DELETE FROM open_attentions WHERE centre = ? AND ticket = ? AND step = ?",
                   [(centre, t, s) for t, s in ended])
    tx.executemany(
        "INSERT INTO open_attentions(centre, ticket, step, started_at) VALUES (?,?,?,?) "
        "ON CONFLICT (centre, ticket, step) DO NOTHING",
        [(centre, t, s, at) for (t, s), at in new_starts.items()])


def _entries(tx: Conn, centre: str, calls: list[dict[str, Any]]
             ) -> dict[tuple[str, int], tuple[str, str]]:
    """The stored entries the calls of a batch may close."""
    tickets = sorted({e.get("ticket") or "" for e in calls})
    found: dict[tuple[str, int], tuple[str, str]] = {}
    for i in range(0, len(tickets), CHUNK):
        part = tickets[i:i + CHUNK]
        marks = ",".join("?" * len(part))
        for r in tx.query(f"SELECT ticket, step, entered_at, queue FROM open_entries "
                          f"WHERE centre = ? AND ticket IN ({marks})", (centre, *part)):
            found[(r["ticket"], r["step"])] = (r["entered_at"], r["queue"])
    return found


def _write(tx: Conn, centre: str, deltas: dict[tuple[str, str], Delta],
           new_entries: dict[tuple[str, int], tuple[str, str]],
           gone: set[tuple[str, int]], over: set[str]) -> None:
    rollups.add_figures(tx, "daily_figures", "day", [
        (centre, day, entity, *(d.counts.get(f, 0) for f in FIGURES))
        for (day, entity), d in deltas.items()])
    tx.executemany(
        "INSERT INTO wait_tenths(centre, day, entity, tenth, n) VALUES (?,?,?,?,?) "
        "ON CONFLICT (centre, day, entity, tenth) DO UPDATE SET n = wait_tenths.n + excluded.n",
        [(centre, day, entity, tenth, n) for (day, entity), d in deltas.items()
         for tenth, n in d.tenths.items()])
    tx.executemany("DELETE FROM open_entries WHERE centre = ? AND ticket = ?",
                   [(centre, t) for t in sorted(over)])
    tx.executemany("DELETE FROM open_entries WHERE centre = ? AND ticket = ? AND step = ?",
                   [(centre, t, s) for t, s in gone])
    tx.executemany(
        "INSERT INTO open_entries(centre, ticket, step, entered_at, queue) VALUES (?,?,?,?,?) "
        "ON CONFLICT (centre, ticket, step) DO NOTHING",
        [(centre, t, s, at, q) for (t, s), (at, q) in new_entries.items()
         if (t, s) not in gone])


def read(db: Database, day_from: str, day_to: str) -> dict[tuple[str, str], Cell]:
    """``(centre, entity) -> Cell`` over the days, plus ``(centre, "")`` for each centre's
    total. Whole calendar years are read from the yearly rollups, whole months around them
    from the monthly ones and only the other days from the daily aggregates: the same
    figures (the median of whole months and years to the minute) from far fewer rows."""
    pieces = periods.split(day_from, day_to)
    if pieces == [("daily", day_from, day_to)]:
        return _read_days(db, day_from, day_to)
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    for grain, low, high in pieces:
        _add_rows(db, cells, grain, low, high)
    return dict(cells)


def _read_days(db: Database, day_from: str, day_to: str) -> dict[tuple[str, str], Cell]:
    """``(centre, entity) -> Cell`` over the days, plus ``(centre, "")`` for each centre's
    total: what computing them from the stored events gives (tests/central_oracle.py),
    read from the aggregates."""
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    _add_rows(db, cells, "daily", day_from, day_to)
    return dict(cells)


# The tables of each grain: (figures, waits' distribution, the column of its period, its
# bucket as tenths). A month and a year keep their waits by whole minute, each counted at
# the middle of its minute: the median of whole months is to the minute (the mean and the
# ANS share stay exact).
_TABLES = {"daily": ("daily_figures", "wait_tenths", "day", "tenth"),
           "monthly": ("monthly_figures", "monthly_minutes", "month", "minute * 10 + 5"),
           "yearly": ("yearly_figures", "yearly_minutes", "year", "minute * 10 + 5")}


def _add_rows(db: Database, cells: dict[tuple[str, str], Cell], grain: str,
              low: str, high: str) -> None:
    """Add to ``cells`` the ``grain``'s rows whose period (day, month or year) is in
    [low, high]: each centre and entity, and each centre's total."""
    figures, tenths, column, bucket = _TABLES[grain]
    conn = db.conn()
    sums = ", ".join(f"SUM({f}) AS {f}" for f in FIGURES)
    for r in conn.query(f"SELECT centre, entity, {sums} FROM {figures} WHERE {column} >= ? "
                        f"AND {column} <= ? GROUP BY centre, entity", (low, high)):
        summed = Cell.from_sums(r)
        for key in ((r["centre"], r["entity"]), (r["centre"], "")):
            cells[key].merge(summed)
    # The waits' distribution: a year of the network is a hundred thousand rows, read as
    # tuples and added to each cell at once; each centre's total summed by the database.
    where = f"FROM {tenths} WHERE {column} >= ? AND {column} <= ?"
    found: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    for centre, entity, tenth, n in conn.tuples(
            f"SELECT centre, entity, {bucket}, CAST(SUM(n) AS BIGINT) {where} "
            f"GROUP BY centre, entity, {bucket}", (low, high)):
        found[(centre, entity)][tenth] = n
    for centre, tenth, n in conn.tuples(
            f"SELECT centre, {bucket}, CAST(SUM(n) AS BIGINT) {where} "
            f"GROUP BY centre, {bucket}", (low, high)):
        found[(centre, "")][tenth] = n
    for key, distribution in found.items():
        cells[key].tenths.update(distribution)


def rebuild(db: Database) -> int:
    """The aggregates made again from every stored event; returns how many were read."""
    with db.transaction() as tx:
        refill(tx)
        refill_months(tx)
        return int(tx.query("SELECT COALESCE(SUM(events_received), 0) AS n "
                            "FROM centres")[0]["n"])


def refill(tx: Conn) -> None:
    """The aggregates made again from every stored event, in ``tx``: a step of the migration
    that makes them, so a central that held events before is filled with it or, if it dies
    meanwhile, not at all and then again at its next start."""
    for table in ("daily_figures", "wait_tenths", "open_entries", "open_attentions"):
        tx.execute(f"DELETE FROM {table}")
    tx.execute("UPDATE centres SET events_received = 0")
    centres = [r["centre"] for r in tx.query("SELECT DISTINCT centre FROM events")]
    for centre in centres:
        rows = tx.query("SELECT uid, seq, kind, at, day, queue, ticket, step, payload "
                        "FROM events WHERE centre = ? ORDER BY seq", (centre,))
        for i in range(0, len(rows), 5000):
            add(tx, centre, [{**r, "day": r["day"] or r["at"][:10],
                              "payload": json.loads(r["payload"])}
                             for r in rows[i:i + 5000]], months=False)
        tx.execute("UPDATE centres SET events_received = ? WHERE code = ?",
                   (len(rows), centre))
