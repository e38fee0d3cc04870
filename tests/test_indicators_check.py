"""The day simulator's indicators check is not vacuous: it passes on a consistent day and
names the groupings where the tables and the event log disagree."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from appliance.runtime import DB_NAME, open_store
from bench.indicators_check import indicators_match_the_event_log
from config import load_settings
from tests.test_reports import CENTRE, START, play_day
from turnero.clock import ManualClock


@dataclass
class Evidence:
    db: Path
    day: str

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.db)) as conn:
            yield conn


def played_database(tmp_path: Path) -> Path:
    clock = ManualClock(START)
    store = open_store(load_settings(data=CENTRE, environ={}), tmp_path, clock=clock)
    play_day(store, clock)
    store.close()
    return tmp_path / DB_NAME


def test_the_check_holds_on_a_day_whose_tables_and_log_agree(tmp_path: Path) -> None:
    assert indicators_match_the_event_log(Evidence(played_database(tmp_path),
                                                   "2026-11-27")) == []


def test_the_check_names_what_differs_when_a_table_was_changed_behind_the_log(
        tmp_path: Path) -> None:
    db = played_database(tmp_path)
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("UPDATE attentions SET status = 'cancelled' WHERE status = 'expired'")
        conn.commit()
    found = indicators_match_the_event_log(Evidence(db, "2026-11-27"))
    assert "entity: rows differ" in found and "total: total differ" in found


def test_the_check_refuses_a_day_without_any_attention(tmp_path: Path) -> None:
    assert indicators_match_the_event_log(Evidence(played_database(tmp_path),
                                                   "2026-11-26")) == [
        "the report counted no attention at all"]
