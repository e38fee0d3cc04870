"""The indicators per centre and entity, and what they mean (the aggregates keep them as
events arrive; ``tests/central_oracle.py`` computes them from the stored events alone, the
reference the aggregates are tested against).

Waiting time is measured per attention (one passage of a ticket through one queue): from the
moment it entered the queue (``ticket.issued`` for the first step, ``ticket.transferred`` or
``ticket.next_step`` for the next) to its first ``ticket.called``. The share within the ANS
uses the queue's maximum wait that the centre sends with its batches (a target of 0 means
none, and such waits are left out of the share).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported by the database module's migrations, through the aggregates
    from sync.central.db import Database

KINDS = ("ticket.issued", "ticket.called", "ticket.finished", "ticket.no_show",
         "ticket.cancelled", "ticket.expired", "ticket.transferred", "ticket.next_step",
         "ticket.started", "ticket.rated")
SATISFIED = 4  # a rating of 4 or 5 (of 5) counts as satisfied
COUNTED = {"ticket.issued": "issued", "ticket.finished": "served", "ticket.no_show": "no_show",
           "ticket.cancelled": "cancelled", "ticket.expired": "expired"}
COLUMNS = ("issued", "served", "no_show", "cancelled", "expired", "waits",
           "mean_wait_minutes", "median_wait_minutes", "within_ans_share", "attentions",
           "mean_attention_minutes", "attention_within_ans_share", "ratings", "mean_rating",
           "satisfied_share")

# The figures a cell keeps as plain sums (besides its counts, wait count and distribution).
SUMMED = ("wait_ms", "within", "judged", "attentions", "attention_ms", "attention_judged",
          "attention_within", "ratings", "rating_sum", "satisfied")


@dataclass
class Cell:
    """The figures of one centre and entity (or a whole centre). Waits are kept as their
    count, sum and distribution in tenths of a minute, which is what the aggregates
    (``aggregates.py``) can add up over days: both give the same figures."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED.values(), 0))
    wait_count: int = 0
    wait_ms: int = 0  # whole milliseconds: sums in any order give the same mean
    tenths: Counter[int] = field(default_factory=Counter)
    within: int = 0
    judged: int = 0
    attentions: int = 0
    attention_ms: int = 0
    attention_judged: int = 0
    attention_within: int = 0
    ratings: int = 0
    rating_sum: int = 0
    satisfied: int = 0

    @classmethod
    def from_sums(cls, row: dict[str, Any]) -> Cell:
        """A cell from a row of summed aggregates (``waits`` is the wait count; the other
        names are the cell's own)."""
        cell = cls(counts={name: int(row[name] or 0) for name in COUNTED.values()})
        cell.wait_count = int(row["waits"] or 0)
        for name in SUMMED:
            setattr(cell, name, int(row[name] or 0))
        return cell

    def merge(self, other: Cell) -> None:
        """Add ``other``'s figures to these (an entity over several centres)."""
        for name in self.counts:
            self.counts[name] += other.counts[name]
        self.tenths.update(other.tenths)
        for name in ("wait_count", *SUMMED):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def median(self) -> float | None:
        """The median wait to a tenth of a minute (each wait counted down to its tenth)."""
        if not self.wait_count:
            return None
        middle = ((self.wait_count - 1) // 2, self.wait_count // 2)
        found: list[int] = []
        seen = 0
        for tenth in sorted(self.tenths):
            seen += self.tenths[tenth]
            while len(found) < 2 and seen > middle[len(found)]:
                found.append(tenth)
            if len(found) == 2:
                break
        return round((found[0] + found[1]) / 20, 1)

    def figures(self) -> dict[str, Any]:
        mean = round(self.wait_ms / self.wait_count / 60_000, 1) if self.wait_count else None
        share = round(self.within / self.judged, 3) if self.judged else None
        return {**self.counts, "waits": self.wait_count, "mean_wait_minutes": mean,
                "median_wait_minutes": self.median(), "within_ans_share": share,
                "attentions": self.attentions,
                "mean_attention_minutes": _ratio(self.attention_ms, self.attentions * 60_000),
                "attention_within_ans_share": _ratio(self.attention_within,
                                                     self.attention_judged, 3),
                "ratings": self.ratings, "mean_rating": _ratio(self.rating_sum, self.ratings, 2),
                "satisfied_share": _ratio(self.satisfied, self.ratings, 3)}


def _ratio(part: int, whole: int, digits: int = 1) -> float | None:
    return round(part / whole, digits) if whole else None


def score_of(payload: dict[str, Any]) -> int | None:
    """A rating's score, 1 to 5, or None for anything else a centre might send."""
    score = payload.get("score")
    return score if isinstance(score, int) and not isinstance(score, bool) \
        and 1 <= score <= 5 else None


def centres(db: Database) -> list[dict[str, Any]]:
    """Every centre with its last contact, reported backlog and events received (counted
    as they arrive: never a count over the whole log)."""
    conn = db.conn()
    return [{**c, "events": c["events_received"]} for c in conn.query(
        "SELECT code, name, last_contact, backlog, revoked_at, held_seq, gap_after, gap_until, "
        "clock_skew_seconds, future_events, box_key, refused_box_key, refused_box_at, "
        "refused_box_count, events_received FROM centres ORDER BY code")]


def by_entity(cells: dict[tuple[str, str], Cell]) -> dict[str, Cell]:
    """Each entity over every centre (the centres' totals left out)."""
    found: dict[str, Cell] = defaultdict(Cell)
    for (_, entity), cell in cells.items():
        if entity:
            found[entity].merge(cell)
    return dict(found)
