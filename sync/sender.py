"""The sending loop: read the next batch after the watermark, send it, settle the answer.

The watermark moves only on the central's explicit, per-event answer (``accepted``,
``duplicates``, ``rejected`` by uid, for this ``batch_id``): a bare 200, a captive portal's
HTML, a 409 or a timeout move nothing, and the same events go again later (the central
deduplicates by uid, so a repeat is harmless). It moves to the end of the longest answered
prefix of the batch, so an event the central did not mention is sent again. Refused events
count as settled — retrying them forever would stall the log — and are kept with the reason
for a person to look at.

While the central fails, attempts back off exponentially (with jitter, up to a cap), and the
log gets one line when the uplink starts failing, one when the kind of failure changes and
one when it recovers — never one per attempt; refused events get one line per batch.

Each batch says which seq it continues (``after``: the watermark it was read from), and the
central answers how far it holds the centre's log without a gap (``held``). A central
restored from an older copy, or lost and registered again, holds less than the box has
sent: the watermark goes back to ``held`` and the rest is sent again (once more for what
the central still has, which it answers as duplicates), so a restore loses nothing.
"""

from __future__ import annotations

import gzip
import json
import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sync import pseudonym
from sync.transport import Answer, SendError, Transport
from turnero import outbox
from turnero.clock import to_iso
from turnero.store import Store

if TYPE_CHECKING:  # cryptography is loaded only by a box whose uplink is enabled
    from sync.identity import BoxIdentity

log = logging.getLogger("sync.uplink")
INGEST = "/api/v1/ingest"
CENTRAL_TIME_FRESH_S = 24 * 3600.0  # a central's time older than this is no opinion
BACKOFF_BASE_S = 1.0


@dataclass(frozen=True)
class Options:
    centre: str
    url: str
    token: str
    secret: bytes
    ca_file: str = ""
    batch_events: int = 500
    batch_bytes: int = 1_000_000
    timeout: float = 30.0
    backoff_cap: float = 300.0
    destination: str = "central"
    identity: BoxIdentity | None = None  # signs each batch (sync/identity.py)


class Sender:
    def __init__(self, store: Store, options: Options, *, transport: Transport | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 jitter: Callable[[], float] = random.random) -> None:
        self.store, self.options = store, options
        self.transport = transport or Transport(options.url, ca_file=options.ca_file,
                                                timeout=options.timeout)
        self.clock, self.jitter = clock, jitter
        self._conn = outbox.reader(store)  # its own connection: never a request thread's
        self.failures = 0
        self.next_attempt = 0.0
        self.failing_since: str | None = None
        self.last_attempt: str | None = None
        self._error_kind: str | None = None
        self._queues_sent: str | None = None
        self._pending_queues: str | None = None
        self._retry: tuple[int, list[bytes], list[outbox.Outgoing]] | None = None
        self.stopping = False
        self._central_time: tuple[datetime, float] | None = None  # its Date, our monotonic
        self.catalogue_offered: int | None = None  # the newest version the central has
        self.citas_offered: int | None = None  # the newest change of this centre's citas

    # ------------------------------------------------------------------ rounds

    def round(self, budget: float | None = None) -> str:
        """Send until the backlog is empty or the central fails: ``idle`` (all sent),
        ``failed``, ``waiting`` (still backing off), or ``sent`` (``budget`` seconds spent
        with more to send: the next round goes on, so a long drain never overlaps the next
        scheduled run)."""
        began = self.clock()
        if began < self.next_attempt:
            return "waiting"
        while True:
            outcome = self.send_batch()
            if outcome != "sent" or self.stopping or (
                    budget is not None and self.clock() - began > budget):
                return outcome

    def stop(self) -> None:
        """The box is stopping: cut the request in flight and write nothing more."""
        self.stopping = True
        self.transport.abort()

    def reset_backoff(self) -> None:
        """"Enviar ahora": the next round tries at once."""
        self.next_attempt = 0.0

    def send_batch(self) -> str:
        """One request: ``sent`` (events settled), ``idle`` (nothing was pending) or
        ``failed``."""
        acked = outbox.acked_seq(self._conn, self.options.destination)
        backlog = self._conn.execute("SELECT COUNT(*) FROM events WHERE seq > ?",
                                     (acked,)).fetchall()[0][0]
        batch_id = uuid.uuid4().hex
        if self._retry is not None and self._retry[0] == acked:
            # The same batch as the failed attempt: while the central is down, a retry costs
            # no reading and no encoding, so it takes no CPU from the request threads.
            parts, sent = self._retry[1], self._retry[2]
        else:
            parts, sent = self._encode(outbox.pending(self._conn, acked,
                                                      self.options.batch_events))
        self._retry = (acked, parts, sent)
        body = self._body(batch_id, acked, parts, backlog)
        self.last_attempt = to_iso(self.store.now())
        packed = gzip.compress(body, compresslevel=5)
        signed = self.options.identity.headers(packed) if self.options.identity else {}
        try:
            answer = self.transport.post(INGEST, packed, {
                "Content-Type": "application/json", "Content-Encoding": "gzip",
                "Authorization": f"Bearer {self.options.token}",
                "X-Backlog": str(backlog), "X-Batch-Id": batch_id, **signed})
            settled, refused, held = self._settle(answer, batch_id, sent)
            if answer.date is not None:
                self._central_time = (answer.date, time.monotonic())
        except SendError as exc:
            if self.stopping:
                return "stopped"  # cut on purpose: the store may be closing under us
            self._failed(exc)
            return "failed"
        self._retry = None
        new_acked = sent[settled - 1].seq if settled else acked
        outbox.acknowledge(self.store, self.options.destination, new_acked, refused)
        self._recovered()
        if held is not None and held < acked:
            self._rewind(held, new_acked)
            return "sent"
        return "sent" if sent else "idle"

    def _rewind(self, held: int, sent_up_to: int) -> None:
        """The central holds the log only up to ``held``: send again from there."""
        oldest = self._conn.execute("SELECT MIN(seq) FROM events").fetchone()[0]
        outbox.rewind(self.store, self.options.destination, held, sent_up_to)
        self._queues_sent = None  # a new copy of the central lacks the ANS targets too
        lost = (f"; the events up to seq {oldest - 1} were already deleted here by "
                f"retention and cannot be sent again" if oldest and oldest > held + 1 else "")
        log.warning("the central holds this centre's events only up to seq %d (sent up to "
                    "%d): sending again from seq %d%s", held, sent_up_to, held + 1, lost)

    # ------------------------------------------------------------------ the batch

    def _encode(self, events: list[outbox.Outgoing]
                ) -> tuple[list[bytes], list[outbox.Outgoing]]:
        """The events as they leave the box, within the byte cap (at least one event,
        however big)."""
        parts: list[bytes] = []
        size = 0
        for event in events:
            part = json.dumps(pseudonym.describe(self.options.secret, event),
                              ensure_ascii=False, separators=(",", ":")).encode("utf-8")
            if parts and size + len(part) + 1 > self.options.batch_bytes:
                break
            parts.append(part)
            size += len(part) + 1
        return parts, events[:len(parts)]

    def _body(self, batch_id: str, after: int, parts: list[bytes], backlog: int) -> bytes:
        head: dict[str, Any] = {"centre": self.options.centre, "batch_id": batch_id,
                                "after": after, "backlog": backlog,
                                "sent_at": to_iso(self.store.now())}
        queues = json.dumps(outbox.queue_targets(self._conn), ensure_ascii=False,
                            sort_keys=True)
        if queues != self._queues_sent:
            head["queues"] = json.loads(queues)
            self._pending_queues = queues
        else:
            self._pending_queues = None
        text = json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1]
        return (text + ',"events":[').encode("utf-8") + b",".join(parts) + b"]}"

    def _settle(self, answer: Answer, batch_id: str, sent: list[outbox.Outgoing]
                ) -> tuple[int, list[tuple[int, str, str]], int | None]:
        """(length of the answered prefix of ``sent``, refused events in it, the seq up to
        which the central holds the log if it says) — or SendError if this is not the
        central's answer to this batch."""
        if answer.status != 200:
            raise SendError(f"http_{answer.status}", _snippet(answer.body))
        if "json" not in answer.content_type.lower():
            raise SendError("bad_answer", f"no es la respuesta del central "
                                          f"({answer.content_type or 'sin tipo'})")
        try:
            data = json.loads(answer.body)
            if data.get("batch_id") != batch_id:
                raise ValueError("batch_id distinto")
            accepted = set(data["accepted"]) | set(data["duplicates"])
            refused = {r["uid"]: str(r["reason"]) for r in data["rejected"]}
            held = data.get("held")
            offered = data.get("catalogue")  # the newest catalogue version at the central
            if isinstance(offered, int) and not isinstance(offered, bool):
                self.catalogue_offered = offered
            citas = data.get("citas")  # the newest change of this centre's citas there
            if isinstance(citas, int) and not isinstance(citas, bool):
                self.citas_offered = citas
            if held is not None and (not isinstance(held, int) or isinstance(held, bool)
                                     or held < 0):
                raise ValueError(f"held inválido: {held!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SendError("bad_answer", f"respuesta no válida: {exc}") from None
        settled = 0
        for event in sent:
            if event.uid not in accepted and event.uid not in refused:
                break
            settled += 1
        if sent and not settled:
            raise SendError("bad_answer", "el central no respondió por ningún evento")
        if self._pending_queues is not None:
            self._queues_sent = self._pending_queues
        rejects = [(e.seq, e.uid, refused[e.uid]) for e in sent[:settled] if e.uid in refused]
        if rejects:  # one line per batch: each event and its reason are in sync_rejects
            reasons = Counter(reason for _, _, reason in rejects)
            log.warning("the central refused %d event(s) (seq %d to %d): %s", len(rejects),
                        rejects[0][0], rejects[-1][0],
                        "; ".join(f"{n} × {reason}" for reason, n in reasons.most_common(3)))
        return settled, rejects, held

    # ------------------------------------------------------------------ state changes

    def _failed(self, exc: SendError) -> None:
        self.failures += 1
        delay = min(self.options.backoff_cap, BACKOFF_BASE_S * 2 ** min(self.failures - 1, 30))
        self.next_attempt = self.clock() + delay * (0.5 + 0.5 * self.jitter())
        if self.failures == 1 or exc.kind != self._error_kind:
            if self.failures == 1:
                self.failing_since = self.last_attempt
                log.warning("uplink failing: %s; retrying with backoff up to %g s",
                            exc, self.options.backoff_cap)
            else:
                log.warning("uplink still failing, now: %s", exc)
            self._error_kind = exc.kind
            outbox.record_error(self.store, self.options.destination, str(exc))
        else:
            log.debug("uplink attempt %d failed: %s", self.failures, exc)

    def _recovered(self) -> None:
        if self.failures:
            log.info("uplink recovered after %d failed attempts (failing since %s)",
                     self.failures, self.failing_since)
        self.failures, self.next_attempt = 0, 0.0
        self.failing_since = self._error_kind = None

    def central_time(self) -> datetime | None:
        """The central's time now, from the Date of its last answer and the monotonic time
        since (a jump of the box's clock does not move it); None until the central answered
        or when that answer is too old to say much."""
        if self._central_time is None:
            return None
        said, at = self._central_time
        elapsed = time.monotonic() - at
        return said + timedelta(seconds=elapsed) if elapsed < CENTRAL_TIME_FRESH_S else None

    def state(self) -> dict[str, Any]:
        """What only this process knows (the rest is in the database)."""
        wait = max(0.0, self.next_attempt - self.clock()) if self.failures else 0.0
        return {"failures": self.failures, "failing_since": self.failing_since,
                "last_attempt": self.last_attempt, "next_attempt_in_seconds": round(wait, 1)}

    def close(self) -> None:
        self._conn.close()


def _snippet(body: bytes) -> str:
    text = body[:200].decode("utf-8", "replace").strip()
    return " ".join(text.split()) or "sin cuerpo"
