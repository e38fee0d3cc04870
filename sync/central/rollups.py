"""The aggregates rolled up by calendar month and by calendar year, kept as events arrive.

A page over a year would otherwise add 365 daily rows per centre and entity, and for the
median the waits' distribution of every one of those days. A month and a year keep the same
figures (counts and sums are exact) and their waits by whole minute, so that the year of the
whole national network is one row per centre, entity and minute of wait. Written in the
batch's transaction with the daily aggregates (``aggregates.add``), and made again from
them (``refill_months``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sync.central.db import Conn

FIGURES = ("issued", "served", "no_show", "cancelled", "expired", "waits", "wait_ms",
           "judged", "within", "attentions", "attention_ms", "attention_judged",
           "attention_within", "ratings", "rating_sum", "satisfied")
# grain: (figures table, waits table, period column, characters of a day that name it)
GRAINS = {"monthly": ("monthly_figures", "monthly_minutes", "month", 7),
          "yearly": ("yearly_figures", "yearly_minutes", "year", 4)}


def write(tx: Conn, centre: str, deltas: Mapping[tuple[str, str], Any]) -> None:
    """Add a batch's deltas (``(day, entity) -> .counts, .tenths``) to the month's and the
    year's rollups: their figures and their waits by minute."""
    for table, minutes_table, column, width in GRAINS.values():
        figures: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
        minutes: Counter[tuple[str, str, int]] = Counter()
        for (day, entity), d in deltas.items():
            figures[(day[:width], entity)].update(d.counts)
            for tenth, n in d.tenths.items():
                minutes[(day[:width], entity, tenth // 10)] += n
        add_figures(tx, table, column, [(centre, period, entity, *(c.get(f, 0) for f in FIGURES))
                                        for (period, entity), c in figures.items()])
        tx.executemany(
            f"INSERT INTO {minutes_table}(centre, {column}, entity, minute, n) "
            f"VALUES (?,?,?,?,?) ON CONFLICT (centre, {column}, entity, minute) DO UPDATE "
            f"SET n = {minutes_table}.n + excluded.n",
            [(centre, period, entity, minute, n)
             for (period, entity, minute), n in minutes.items()])


def add_figures(tx: Conn, table: str, column: str, rows: list[tuple[Any, ...]]) -> None:
    """Add ``rows`` (centre, period, entity, then each of FIGURES) to the figures of
    ``table``, whose period is ``column``."""
    cols = ", ".join(FIGURES)
    marks = ",".join("?" * len(FIGURES))
    updates = ", ".join(f"{f} = {table}.{f} + excluded.{f}" for f in FIGURES)
    tx.executemany(
        f"INSERT INTO {table}(centre, {column}, entity, {cols}) VALUES (?,?,?,{marks}) "
        f"ON CONFLICT (centre, {column}, entity) DO UPDATE SET {updates}", rows)


def refill_months(tx: Conn) -> None:
    """The monthly and yearly rollups made again from the daily aggregates."""
    refill_month_figures(tx)
    tx.execute("DELETE FROM monthly_minutes")
    _fill_minutes(tx, "monthly")
    _refill_years(tx)


def refill_month_figures(tx: Conn) -> None:
    """The monthly figures made again from the daily ones (a step of the migration that
    made the rollups; their waits by minute and the years came with later ones)."""
    _fill_figures(tx, "monthly")


def _fill_figures(tx: Conn, grain: str) -> None:
    table, _, column, width = GRAINS[grain]
    tx.execute(f"DELETE FROM {table}")
    sums = ", ".join(f"SUM({f})" for f in FIGURES)
    tx.execute(f"INSERT INTO {table}(centre, {column}, entity, {', '.join(FIGURES)}) "
               f"SELECT centre, substr(day, 1, {width}), entity, {sums} FROM daily_figures "
               f"GROUP BY centre, substr(day, 1, {width}), entity")


def _fill_minutes(tx: Conn, grain: str) -> None:
    _, table, column, width = GRAINS[grain]
    tx.execute(f"INSERT INTO {table}(centre, {column}, entity, minute, n) "
               f"SELECT centre, substr(day, 1, {width}), entity, tenth / 10, SUM(n) "
               f"FROM wait_tenths GROUP BY centre, substr(day, 1, {width}), entity, tenth / 10")


def _refill_years(tx: Conn) -> None:
    _fill_figures(tx, "yearly")
    tx.execute("DELETE FROM yearly_minutes")
    _fill_minutes(tx, "yearly")


def months_by_minute(tx: Conn) -> None:
    """Migration step: the monthly waits' distribution by whole minute, from the daily one
    (it was by tenth, nearly as many rows as the daily one: a year's median took seconds)."""
    _minutes_table(tx, "monthly")
    _fill_minutes(tx, "monthly")
    tx.execute("DROP TABLE monthly_tenths")


def years(tx: Conn) -> None:
    """Migration step: the yearly rollups, from the daily aggregates."""
    cols = ", ".join(f"{f} BIGINT NOT NULL DEFAULT 0" for f in FIGURES)
    tx.execute(f"CREATE TABLE yearly_figures(centre TEXT NOT NULL, year TEXT NOT NULL, "
               f"entity TEXT NOT NULL, {cols}, PRIMARY KEY (centre, year, entity))")
    _minutes_table(tx, "yearly")
    _refill_years(tx)


def _minutes_table(tx: Conn, grain: str) -> None:
    _, table, column, _ = GRAINS[grain]
    tx.execute(f"CREATE TABLE {table}(centre TEXT NOT NULL, {column} TEXT NOT NULL, "
               f"entity TEXT NOT NULL, minute INTEGER NOT NULL, n BIGINT NOT NULL, "
               f"PRIMARY KEY (centre, {column}, entity, minute))")
    tx.execute(f"CREATE INDEX {table}_{column} ON {table}({column})")
