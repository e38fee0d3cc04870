"""The floor as a supervisor watches it: every queue against its ANS target, every módulo
with how long it has been in its state, today's jornada with its opening checks, and the
service-level alerts (a queue past its ANS, people waiting with no módulo open).

Durations are computed here, with the store's clock, rather than in the browser: the
supervisor's laptop may have a wrong clock, and the box's clock is the one the records use.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from turnero import accounts, messages, views
from turnero.clock import from_iso, to_iso
from turnero.store import Store

NO_COUNTER_GRACE_MINUTES = 10  # a módulo may close and another open in between


def _seconds_since(text: str | None, now_ts: float) -> int | None:
    return None if text is None else max(0, int(now_ts - from_iso(text).timestamp()))


def queues(store: Store) -> list[dict[str, Any]]:
    """Each queue with ``ans_breach``: someone has waited longer than its target."""
    out = views.queue_stats(store)
    for q in out:
        q["ans_breach"] = bool(q["waiting"]) and q["oldest_wait_minutes"] > q["max_wait_minutes"]
    return out


def counters(store: Store) -> list[dict[str, Any]]:
    """Each módulo with the seconds in its state and, if it holds a ticket, since the call."""
    now_ts = store.now().timestamp()
    served: dict[int, list[str]] = {}
    for r in store.reader().execute("SELECT counter, queue FROM counter_queues "
                                    "ORDER BY counter, weight DESC, queue"):
        served.setdefault(r["counter"], []).append(r["queue"])
    out = views.counter_views(store, staff=True)
    for c in out:
        c["seconds_in_state"] = _seconds_since(c["since"], now_ts)
        c["queues"] = served.get(c["id"], [])
        if c["current"]:
            c["current"]["seconds"] = _seconds_since(
                c["current"]["started_at"] or c["current"]["called_at"], now_ts)
    return out


def day(store: Store) -> dict[str, Any]:
    """Today's jornada, with who opened it (and opened it again after a closing) and the
    opening check list as recorded."""
    view = views.day_view(store)
    row = store.reader().execute("SELECT opened_by, reopened_at, reopened_by, checks "
                                 "FROM days WHERE day = ?", (view["date"],)).fetchone()
    view["opened_by"] = row["opened_by"] if row else None
    view["reopened_at"] = row["reopened_at"] if row else None
    view["reopened_by"] = row["reopened_by"] if row else None
    view["checks"] = json.loads(row["checks"]) if row else {}
    return view


def ans_alerts(queue_list: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"kind": "ans", "queue": q["code"], "severity": "error",
             "message": f"{q['name']}: la espera más larga ({round(q['oldest_wait_minutes'])} "
                        f"min) supera el ANS de {q['max_wait_minutes']} min."}
            for q in queue_list if q["ans_breach"]]


def _people(count: int) -> str:
    return "1 persona espera" if count == 1 else f"{count} personas esperan"


def no_counter_alerts(store: Store, queue_list: list[dict[str, Any]], today: dict[str, Any],
                      hours: tuple[datetime | None, datetime | None] | None = None
                      ) -> list[dict[str, Any]]:
    """Queues with people waiting and no módulo open for ``NO_COUNTER_GRACE_MINUTES``,
    counted from the latest of: the jornada's opening, the centre's opening hour, and the
    last change of a módulo serving the queue. Only while the jornada is open and, with
    ``hours`` (today's opening and closing), the centre too: before opening nobody is due."""
    now = store.now()
    if not today["open"] or not today["opened_at"]:
        return []
    opens, closes = hours or (None, None)
    if hours is not None and (opens is None or closes is None or not opens <= now < closes):
        return []
    last_change = {r["queue"]: r["since"] for r in store.reader().execute(
        "SELECT cq.queue, MAX(c.status_since) AS since FROM counter_queues cq "
        "JOIN counters c ON c.id = cq.counter WHERE c.active GROUP BY cq.queue")}
    out = []
    for q in queue_list:
        if not q["waiting"] or q["open_counters"] or not q["is_open"]:
            continue
        since = max([from_iso(today["opened_at"])] + ([opens] if opens else [])
                    + ([from_iso(last_change[q["code"]])] if last_change.get(q["code"])
                       else []))
        if now - since >= timedelta(minutes=NO_COUNTER_GRACE_MINUTES):
            out.append({"kind": "no_counter", "queue": q["code"], "severity": "error",
                        "message": f"{q['name']}: {_people(q['waiting'])} y no hay ningún "
                                   "módulo abierto para esta cola."})
    return out


def floor(store: Store, hours: tuple[datetime | None, datetime | None] | None = None
          ) -> dict[str, Any]:
    """Everything the supervision page shows, read at one instant; ``hours`` are today's
    opening and closing times (for the alerts that only hold while the centre is open)."""
    queue_list = queues(store)
    today = day(store)
    return {"now": to_iso(store.now()), "timezone": str(store.tz), "day": today,
            "queues": queue_list, "counters": counters(store),
            "message": messages.current(store),
            "alerts": ans_alerts(queue_list) + no_counter_alerts(store, queue_list, today, hours)
            + accounts.login_alerts(store)}
