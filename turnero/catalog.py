"""The catalogue in the database: written from the centre's settings, read by everyone.

Applying settings is an upsert: rows that disappeared from the file are marked inactive,
never deleted, because tickets and events of earlier days still refer to them. Runtime state
(a queue closed by a supervisor, a módulo's status) is left as it is.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from config.keywords import keywords_for, normalise
from config.model import Settings
from turnero.ans import apply_config as apply_ans
from turnero.store import Store, Tx


def apply_settings(store: Store, settings: Settings) -> None:
    store.write(lambda tx: apply_in(tx, settings))


def apply_in(tx: Tx, s: Settings) -> None:
    """Apply the catalogue of ``s`` inside the caller's transaction ``tx``."""
    for table in ("entities", "queues", "services", "priorities", "counters"):
        tx.execute(f"UPDATE {table} SET active = 0")
    for e in s.entities:
        tx.execute(
            "INSERT INTO entities(code, name, short_name, colour, logo, active) "
            "VALUES (?,?,?,?,?,1) ON CONFLICT(code) DO UPDATE SET name=excluded.name, "
            "short_name=excluded.short_name, colour=excluded.colour, logo=excluded.logo, "
            "active=1", (e.code, e.name, e.short_name or e.code, e.colour, e.logo))
    shorts = {e.code: e.short_name or e.code for e in s.entities}
    p = s.policy
    for q in s.queues:
        tx.execute(
            "INSERT INTO queues(code, entity, prefix, name, number_start, daily_cap, "
            "max_wait_minutes, max_attention_minutes, max_preferential_in_row, "
            "max_normal_wait_minutes, active) VALUES (?,?,?,?,?,?,?,?,?,?,1) "
            "ON CONFLICT(code) DO UPDATE SET entity=excluded.entity, prefix=excluded.prefix, "
            "name=excluded.name, number_start=excluded.number_start, "
            "daily_cap=excluded.daily_cap, max_wait_minutes=excluded.max_wait_minutes, "
            "max_attention_minutes=excluded.max_attention_minutes, "
            "max_preferential_in_row=excluded.max_preferential_in_row, "
            "max_normal_wait_minutes=excluded.max_normal_wait_minutes, active=1",
            (q.code, q.entity, q.prefix, q.name or shorts[q.entity], q.number_start,
             q.daily_cap, q.max_wait_minutes, q.max_attention_minutes,
             q.max_preferential_in_row if q.max_preferential_in_row >= 0
             else p.max_preferential_in_row,
             q.max_normal_wait_minutes if q.max_normal_wait_minutes >= 0
             else p.max_normal_wait_minutes))
    queues = {q.code: q for q in s.queues}
    for svc in s.services:
        q = queues[svc.queue]
        tx.execute(
            "INSERT INTO services(id, queue, name, max_wait_minutes, max_attention_minutes, "
            "appointments, keywords, active) VALUES (?,?,?,?,?,?,?,1) ON CONFLICT(id) DO "
            "UPDATE SET queue=excluded.queue, name=excluded.name, "
            "max_wait_minutes=excluded.max_wait_minutes, "
            "max_attention_minutes=excluded.max_attention_minutes, "
            "appointments=excluded.appointments, keywords=excluded.keywords, active=1",
            (svc.id, svc.queue, svc.name,
             svc.max_wait_minutes if svc.max_wait_minutes >= 0 else q.max_wait_minutes,
             svc.max_attention_minutes if svc.max_attention_minutes >= 0
             else q.max_attention_minutes, int(svc.appointments),
             " ".join(normalise(w) for w in svc.keywords if normalise(w))))
    for pr in s.priorities:
        tx.execute(
            "INSERT INTO priorities(code, name_es, name_qu, name_en, preferential, "
            "appointment, ord, active) VALUES (?,?,?,?,?,?,?,1) ON CONFLICT(code) DO UPDATE "
            "SET name_es=excluded.name_es, name_qu=excluded.name_qu, "
            "name_en=excluded.name_en, preferential=excluded.preferential, "
            "appointment=excluded.appointment, ord=excluded.ord, active=1",
            (pr.code, pr.name_es, pr.name_qu, pr.name_en or pr.name_es,
             int(pr.preferential), int(pr.appointment), pr.order))
    tx.execute("DELETE FROM counter_queues")
    for c in s.counters:
        tx.execute(
            "INSERT INTO counters(id, name, entity, active) VALUES (?,?,?,1) "
            "ON CONFLICT(id) DO UPDATE SET name=excluded.name, entity=excluded.entity, "
            "active=1", (c.number, c.name or f"Módulo {c.number}", c.entity))
        for code in c.queues:
            tx.execute("INSERT INTO counter_queues(counter, queue, weight) VALUES (?,?,?)",
                       (c.number, code, c.weights.get(code, 1)))
    apply_ans(tx, s.ans)


def rows(conn: sqlite3.Connection, sql: str, params: Any = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(sql, params)]


def read_catalog(conn: sqlite3.Connection) -> dict[str, Any]:
    """Everything a device needs to draw its screens."""
    entities = rows(conn, "SELECT code, name, short_name, colour, logo FROM entities "
                          "WHERE active ORDER BY short_name")
    queues = rows(conn, "SELECT code, entity, prefix, name, max_wait_minutes, "
                        "max_attention_minutes, is_open, closed_reason FROM queues "
                        "WHERE active ORDER BY code")
    for q in queues:
        q["is_open"] = bool(q["is_open"])
    ranks = entity_ranks(conn)
    for e in entities:
        e["rank"] = ranks.get(e["code"], len(ranks))
    services = rows(conn, "SELECT s.id, s.queue, q.entity, s.name, s.max_wait_minutes, "
                          "s.max_attention_minutes, s.appointments, s.keywords AS own_words, "
                          "e.code || ' ' || e.short_name || ' ' || e.name AS entity_words "
                          "FROM services s JOIN queues q ON q.code = s.queue "
                          "JOIN entities e ON e.code = q.entity WHERE s.active ORDER BY s.id")
    for svc in services:
        svc["appointments"] = bool(svc["appointments"])
        built_in = keywords_for(svc.pop("entity_words"), svc["name"])
        svc["keywords"] = " ".join(filter(None, (built_in, svc.pop("own_words"))))
    priorities = rows(conn, "SELECT code, name_es, name_qu, name_en, preferential, "
                            "appointment FROM priorities WHERE active ORDER BY ord, code")
    for pr in priorities:
        pr["preferential"], pr["appointment"] = bool(pr["preferential"]), bool(pr["appointment"])
    counters = rows(conn, "SELECT id, name, entity FROM counters WHERE active ORDER BY id")
    served = conn.execute("SELECT counter, queue, weight FROM counter_queues "
                          "ORDER BY counter, weight DESC, queue").fetchall()
    by_counter: dict[int, list[dict[str, Any]]] = {}
    for r in served:
        by_counter.setdefault(r["counter"], []).append({"queue": r["queue"],
                                                        "weight": r["weight"]})
    for c in counters:
        c["queues"] = by_counter.get(c["id"], [])
    return {"entities": entities, "queues": queues, "services": services,
            "priorities": priorities, "counters": counters}


def entity_ranks(conn: sqlite3.Connection) -> dict[str, int]:
    """Each active entity's place on the kiosk, 0 = busiest: by tickets over the last seven
    days with tickets before the latest one (a stable order for the whole day), then by
    the latest day's tickets, then in the order of the settings file."""
    days = [r[0] for r in conn.execute("SELECT DISTINCT day FROM tickets ORDER BY day DESC "
                                       "LIMIT 8")]
    latest, earlier = (days[0], days[1:]) if days else ("", [])
    counts = rows(conn, "SELECT q.entity, "
                        "SUM(CASE WHEN t.day < :latest THEN 1 ELSE 0 END) AS earlier, "
                        "SUM(CASE WHEN t.day = :latest THEN 1 ELSE 0 END) AS latest "
                        "FROM tickets t JOIN queues q ON q.code = t.number_queue "
                        "WHERE t.day >= :since GROUP BY q.entity",
                  {"latest": latest, "since": earlier[-1] if earlier else latest})
    by_entity = {c["entity"]: (c["earlier"], c["latest"]) for c in counts}
    codes = [r[0] for r in conn.execute("SELECT code FROM entities WHERE active ORDER BY rowid")]
    ordered = sorted(codes, key=lambda c: tuple(-n for n in by_entity.get(c, (0, 0))))
    return {code: i for i, code in enumerate(ordered)}
