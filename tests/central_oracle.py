"""The central's indicators computed from the stored events one by one: the reference the
aggregates kept as events arrive (``sync/central/aggregates.py``) are tested against, in the
plainest form the rules take (docs/indicators.md)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime

from sync.central.db import Database
from sync.central.indicators import COUNTED, KINDS, SATISFIED, Cell, score_of
from sync.central.times import moment


def add_wait(cell: Cell, minutes: float) -> None:
    cell.wait_count += 1
    cell.wait_ms += round(minutes * 60_000)
    cell.tenths[int(minutes * 10)] += 1


def add_attention(cell: Cell, minutes: float, limit: int) -> None:
    cell.attentions += 1
    cell.attention_ms += round(minutes * 60_000)
    if limit:
        cell.attention_judged += 1
        cell.attention_within += minutes <= limit


def add_rating(cell: Cell, score: int) -> None:
    cell.ratings += 1
    cell.rating_sum += score
    cell.satisfied += score >= SATISFIED


def compute(db: Database, day_from: str, day_to: str) -> dict[tuple[str, str], Cell]:
    """``(centre, entity) -> Cell``, plus ``(centre, "")`` for each centre's total."""
    conn = db.conn()
    marks = ",".join("?" * len(KINDS))
    rows = conn.query(f"SELECT centre, kind, at, queue, ticket, step, payload FROM events "
                      f"WHERE day >= ? AND day <= ? AND kind IN ({marks}) "
                      f"ORDER BY centre, seq", (day_from, day_to, *KINDS))
    targets = {(q["centre"], q["code"]): q for q in conn.query(
        "SELECT centre, code, entity, max_wait_minutes, max_attention_minutes FROM queues")}
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    entered: dict[tuple[str, str, int], datetime] = {}
    called: set[tuple[str, str, int]] = set()
    started: dict[tuple[str, str, int], datetime] = {}
    finished: set[tuple[str, str, int]] = set()
    for r in rows:
        centre, kind, queue = r["centre"], r["kind"], r["queue"] or ""
        payload = json.loads(r["payload"])
        target = targets.get((centre, queue))
        entity = str(payload.get("entity") or (target["entity"] if target else queue))
        step = r["step"] or 1
        key = (centre, r["ticket"] or "", step)
        if kind in COUNTED:
            for cell in (cells[(centre, entity)], cells[(centre, "")]):
                cell.counts[COUNTED[kind]] += 1
        if kind == "ticket.issued":
            entered[key] = moment(r["at"])
        elif kind in ("ticket.transferred", "ticket.next_step"):
            entered[(centre, r["ticket"] or "", step + 1)] = moment(r["at"])
        elif kind == "ticket.called" and key not in called and key in entered:
            called.add(key)
            minutes = max(0.0, (moment(r["at"]) - entered[key]).total_seconds() / 60)
            limit = target["max_wait_minutes"] if target else 0
            for cell in (cells[(centre, entity)], cells[(centre, "")]):
                add_wait(cell, minutes)
                if limit:
                    cell.judged += 1
                    cell.within += minutes <= limit
        elif kind == "ticket.started" and key not in started:
            started[key] = moment(r["at"])
        if kind == "ticket.finished" and key in started and key not in finished:
            finished.add(key)
            minutes = max(0.0, (moment(r["at"]) - started[key]).total_seconds() / 60)
            limit = target["max_attention_minutes"] if target else 0
            for cell in (cells[(centre, entity)], cells[(centre, "")]):
                add_attention(cell, minutes, limit)
        elif kind == "ticket.rated" and (score := score_of(payload)) is not None:
            for cell in (cells[(centre, entity)], cells[(centre, "")]):
                add_rating(cell, score)
    return dict(cells)
