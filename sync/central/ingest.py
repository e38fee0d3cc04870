"""Receiving a batch: authenticate the centre, check each event, store the good ones once.

Idempotent by event uid: an event already stored is answered as a duplicate, so a centre may
send the same batch again after a timeout or a crash without anything being counted twice.
Each event is judged on its own: a bad one is refused with a reason and the rest of the batch
is stored. The whole batch is one transaction, committed before the answer: if the receiver
dies before the commit nothing was stored and the centre sends again; if it dies after, the
events come back as duplicates.

A batch says which seq of the centre's log it continues (``after``); the central keeps how
far it holds that log without a gap (``held_seq``) and answers it (``held``). A batch that
continues past ``held`` reveals a gap — this copy was restored from an older one, or lost
and the centre registered again — which is kept (``gap_after``, ``gap_until``) until the
centre has sent the missing part again.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import date, datetime, timedelta
from typing import Any

from sync.central import aggregates, catalogue, citas, partitions
from sync.central.db import Conn, Database, now_iso
from sync.central.times import moment

MAX_EVENTS = 10_000
MAX_EVENT_BYTES = 64 * 1024
UID = re.compile(r"^[0-9a-fA-F-]{8,64}$")
KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
CODE = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
ISO_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
PERSONAL = ("document", "name", "full_name", "document_number")
CHUNK = 500
CLOCK_SKEW = timedelta(minutes=10)  # a centre's clock further than this is flagged
COLUMNS = ("centre", "uid", "seq", "kind", "at", "day", "queue", "ticket", "step", "actor",
           "counter", "payload", "received_at")


class BadBatch(Exception):
    """The request as a whole cannot be read (not one event of it is judged)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_centre(db: Database, code: str, name: str = "") -> str:
    """Register a centre and return its bearer token (only its digest is kept)."""
    if not CODE.match(code):
        raise ValueError("el código del centro debe tener 1 a 40 letras, dígitos, - o _")
    token = secrets.token_urlsafe(32)
    with db.transaction() as tx:
        if tx.query("SELECT code FROM centres WHERE code = ?", (code,)):
            # A new token frees the box binding: the next box to sign with it is the centre's.
            tx.execute("UPDATE centres SET token_hash = ?, revoked_at = NULL, box_key = NULL, "
                       "box_bound_at = NULL WHERE code = ?", (digest(token), code))
        else:
            tx.execute("INSERT INTO centres(code, name, token_hash, created_at, held_seq) "
                       "VALUES (?,?,?,?,0)", (code, name, digest(token), now_iso()))
    return token


def centre_for(db: Database, authorization: str) -> str | None:
    if not authorization.startswith("Bearer "):
        return None
    rows = db.conn().query("SELECT code FROM centres WHERE token_hash = ? AND revoked_at IS "
                           "NULL", (digest(authorization[7:].strip()),))
    return rows[0]["code"] if rows else None


def _is_time(value: Any) -> bool:
    if not isinstance(value, str) or len(value) != 27:
        return False
    try:
        moment(value)
    except ValueError:
        return False
    return True


def problem(event: Any) -> str | None:
    """Why an event cannot be stored, in Spanish for the person who reads the rejects."""
    if not isinstance(event, dict):
        return "el evento no es un objeto"
    checks = (
        (isinstance(event.get("seq"), int) and not isinstance(event.get("seq"), bool)
         and event["seq"] > 0, "seq debe ser un entero positivo"),
        (isinstance(event.get("kind"), str) and len(event["kind"]) <= 64
         and bool(KIND.match(event["kind"])), "kind inválido"),
        (_is_time(event.get("at")), "at debe ser una hora UTC AAAA-MM-DDTHH:MM:SS.ffffffZ"),
        (event.get("actor") is None or (isinstance(event["actor"], str)
                                        and len(event["actor"]) <= 200), "actor inválido"),
        (event.get("counter") is None or (isinstance(event["counter"], int)
                                          and not isinstance(event["counter"], bool)),
         "counter debe ser un entero"),
        (event.get("ticket") is None or (isinstance(event["ticket"], str)
                                         and len(event["ticket"]) <= 64), "ticket inválido"),
        (isinstance(event.get("payload"), dict), "payload debe ser un objeto"),
    )
    for ok, reason in checks:
        if not ok:
            return reason
    payload = event["payload"]
    if any(k in payload and payload[k] not in (None, "") and not str(payload[k]).startswith("h:")
           for k in PERSONAL):
        return "contiene datos personales sin seudonimizar"
    if len(json.dumps(payload)) > MAX_EVENT_BYTES:
        return "payload demasiado grande"
    return None


def _day(event: dict[str, Any]) -> str:
    """The service day an event is stored, partitioned and aggregated under: its payload's
    ``day`` when that is a real date (``YYYY-MM-DD``), else the date of its ``at`` (which
    ``problem`` has checked). The one rule: a day that is not a date would put the event
    out of every month's partition and count it on no day."""
    day = event["payload"].get("day")
    if isinstance(day, str) and ISO_DAY.match(day):
        try:
            date.fromisoformat(day)
        except ValueError:
            pass
        else:
            return day
    return str(event["at"][:10])


def _row(centre: str, event: dict[str, Any], received: str) -> dict[str, Any]:
    """The event as it is stored (``payload`` still an object): what the aggregates read
    too, live or rebuilt from the table, so both take its step, day and queue alike."""
    p = event["payload"]
    step = p.get("step")
    return {"centre": centre, "uid": event["uid"], "seq": event["seq"], "kind": event["kind"],
            "at": event["at"], "day": _day(event),
            "queue": str(p["queue"])[:40] if p.get("queue") is not None else None,
            "ticket": event.get("ticket"),
            "step": step if isinstance(step, int) and not isinstance(step, bool) else None,
            "actor": event.get("actor"), "counter": event.get("counter"), "payload": p,
            "received_at": received}


def _values(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(json.dumps(row[c], ensure_ascii=False, sort_keys=True) if c == "payload"
                 else row[c] for c in COLUMNS)


def ingest(db: Database, centre: str, batch: Any,
           citas_retention_days: int = citas.DEFAULT_RETENTION_DAYS) -> dict[str, Any]:
    """Store a batch for ``centre``; the per-event answer the sender moves its watermark on.
    Once a day it also erases the personal data of citas past ``citas_retention_days``."""
    if not isinstance(batch, dict) or not isinstance(batch.get("events"), list):
        raise BadBatch(400, "invalid_batch", "Se esperaba {centre, batch_id, events: [...]}.")
    if batch.get("centre") != centre:
        raise BadBatch(403, "centre_mismatch", "El token no es del centro indicado.")
    batch_id = batch.get("batch_id")
    if not isinstance(batch_id, str) or not 1 <= len(batch_id) <= 64:
        raise BadBatch(400, "invalid_batch", "Falta batch_id.")
    if len(batch["events"]) > MAX_EVENTS:
        raise BadBatch(413, "too_many_events", f"Más de {MAX_EVENTS} eventos en un envío.")
    rejected: list[dict[str, str]] = []
    candidates: dict[str, dict[str, Any]] = {}
    repeated: list[str] = []
    answered_up_to, prefix = 0, True  # the last seq of the prefix answered by uid
    for event in batch["events"]:
        uid = event.get("uid") if isinstance(event, dict) else None
        if not isinstance(uid, str) or not UID.match(uid):
            prefix = False
            continue  # nothing to answer by: the sender will send it again and see it stall
        seq = event.get("seq")
        if prefix and isinstance(seq, int) and not isinstance(seq, bool) and seq > 0:
            answered_up_to = max(seq, answered_up_to)
        reason = problem(event)
        if reason:
            rejected.append({"uid": uid, "reason": reason})
        elif uid in candidates:
            repeated.append(uid)
        else:
            candidates[uid] = event
    received = now_iso()
    rows = {uid: _row(centre, e, received) for uid, e in candidates.items()}
    partitions.ensure(db, {r["day"] for r in rows.values()})
    with db.transaction() as tx:
        _lock(tx, centre)  # a centre's batches one at a time: a repeat sees what is stored
        existing = _existing(tx, centre, list(rows))
        fresh = [r for uid, r in rows.items() if uid not in existing]
        tx.executemany(
            f"INSERT INTO events({', '.join(COLUMNS)}) VALUES ({','.join('?' * len(COLUMNS))}) "
            "ON CONFLICT DO NOTHING", [_values(r) for r in fresh])
        _queues(tx, centre, batch.get("queues"))
        aggregates.add(tx, centre, fresh)
        backlog = batch.get("backlog")
        left = (max(0, backlog - len(batch["events"]))
                if isinstance(backlog, int) and not isinstance(backlog, bool) else None)
        tx.execute("UPDATE centres SET last_contact = ?, last_batch = ?, backlog = ?, "
                   "events_received = events_received + ? WHERE code = ?",
                   (received, batch_id, left, len(fresh), centre))
        held = _hold(tx, centre, batch.get("after"), _first_seq(batch["events"]),
                     answered_up_to, received)
        _clock(tx, centre, batch.get("sent_at"), fresh, received)
        # what the box says it runs, and the newest version it should fetch if it does not
        catalogue.note_reports(tx, centre, [r for r in fresh
                                            if r["kind"].startswith("catalogue.")])
        newest = catalogue.newest(tx)
        # what the box says of its citas, and the newest change of them it should hold
        citas.note_events(tx, centre, [r for r in fresh if r["kind"].startswith("cita.")])
        newest_cita = citas.newest(tx, centre)
    citas.forget_daily(db, citas_retention_days)
    answer: dict[str, Any] = {"batch_id": batch_id, "accepted": [r["uid"] for r in fresh],
                              "duplicates": sorted(existing) + repeated, "rejected": rejected,
                              "catalogue": newest, "citas": newest_cita}
    if held is not None:
        answer["held"] = held
    return answer


def _lock(tx: Conn, centre: str) -> None:
    """Lock the centre's row for the batch's transaction, before anything is read: the same
    batch received twice at once (a retry racing its first try) is then judged the second
    time against what the first stored, and counted once. SQLite needs nothing: its
    transactions begin with ``BEGIN IMMEDIATE``, one writer at a time."""
    if tx.postgres:
        tx.query("SELECT code FROM centres WHERE code = ? FOR UPDATE", (centre,))


def _first_seq(events: list[Any]) -> int | None:
    """The seq the batch begins with (where a box that does not send ``after`` reads from)."""
    seq = events[0].get("seq") if events and isinstance(events[0], dict) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 else None


def _clock(tx: Conn, centre: str, sent_at: Any, fresh: list[dict[str, Any]],
           received: str) -> None:
    """Flag a centre whose clock is far from the central's: the batch's ``sent_at`` against
    the receipt (kept while it lasts, cleared when it is right again), and events dated
    in the central's future (counted; they are stored, being the centre's record)."""
    now = _parse(received)
    assert now is not None
    sent = _parse(sent_at) if _is_time(sent_at) else None
    skew = round((sent - now).total_seconds()) if sent is not None else None
    limit = CLOCK_SKEW.total_seconds()
    future = sum(1 for e in fresh if (_parse(e["at"]) or now) - now > CLOCK_SKEW)
    if skew is not None and abs(skew) > limit:
        tx.execute("UPDATE centres SET clock_skew_seconds = ?, clock_skew_seen_at = ?, "
                   "future_events = future_events + ? WHERE code = ?",
                   (skew, received, future, centre))
    elif skew is not None or future:
        tx.execute("UPDATE centres SET clock_skew_seconds = CASE WHEN ? THEN NULL ELSE "
                   "clock_skew_seconds END, future_events = future_events + ? WHERE code = ?",
                   (skew is not None, future, centre))


def _parse(value: str) -> datetime | None:
    try:
        return moment(value)
    except (TypeError, ValueError):
        return None


def _hold(tx: Conn, centre: str, after: Any, first: int | None, answered_up_to: int,
          received: str) -> int | None:
    """How far the central now holds ``centre``'s log without a gap (None when the batch
    does not say which seq it continues: a box from before this, whose batches still move
    the held log on while they continue it, so that once upgraded it is not taken for a
    box whose central lost part of its log)."""
    row = tx.query("SELECT held_seq, gap_until FROM centres WHERE code = ?", (centre,))[0]
    held, gap_until = row["held_seq"], row["gap_until"]
    if not isinstance(after, int) or isinstance(after, bool) or after < 0:
        if held is not None and first is not None and first <= held + 1 \
                and answered_up_to > held:  # it continues the held log: no gap in between
            _held(tx, centre, answered_up_to, gap_until)
        return None
    if held is None:
        held = after  # a centre from before the held log: its box is believed once
    if after > held:  # this copy lacks (held, after]: the box will send it again
        tx.execute("UPDATE centres SET held_seq = ?, gap_after = ?, gap_until = ?, "
                   "gap_seen_at = ? WHERE code = ?",
                   (held, held, max(after, gap_until or 0), received, centre))
        return int(held)
    return _held(tx, centre, max(held, answered_up_to), gap_until)


def _held(tx: Conn, centre: str, held: int, gap_until: int | None) -> int:
    if gap_until is not None and held >= gap_until:
        gap_until = None  # what was missing has come again
    tx.execute("UPDATE centres SET held_seq = ?, gap_until = ? WHERE code = ?",
               (held, gap_until, centre))
    return int(held)


def _existing(tx: Conn, centre: str, uids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(uids), CHUNK):
        part = uids[i:i + CHUNK]
        marks = ",".join("?" * len(part))
        found.update(r["uid"] for r in tx.query(
            f"SELECT uid FROM events WHERE centre = ? AND uid IN ({marks})", (centre, *part)))
    return found


def _queues(tx: Conn, centre: str, queues: Any) -> None:
    """The centre's ANS targets per queue, sent when they change."""
    if not isinstance(queues, list):
        return
    rows = []
    for q in queues:
        if not isinstance(q, dict) or not isinstance(q.get("code"), str):
            continue
        wait, attention = q.get("max_wait_minutes"), q.get("max_attention_minutes")
        if not isinstance(wait, int) or not isinstance(attention, int):
            continue
        rows.append((centre, q["code"][:40], str(q.get("entity", ""))[:40],
                     str(q.get("name", ""))[:200], wait, attention))
    tx.executemany(
        "INSERT INTO queues(centre, code, entity, name, max_wait_minutes, "
        "max_attention_minutes) VALUES (?,?,?,?,?,?) ON CONFLICT (centre, code) DO UPDATE SET "
        "entity = excluded.entity, name = excluded.name, "
        "max_wait_minutes = excluded.max_wait_minutes, "
        "max_attention_minutes = excluded.max_attention_minutes", rows)
