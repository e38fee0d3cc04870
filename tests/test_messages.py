"""Messages for the TVs: shown until replaced, cleared or expired; bad input refused."""

from __future__ import annotations

import pytest

from turnero import messages, views
from turnero.errors import InvalidInput


def test_a_message_is_current_until_its_minutes_pass(open_store_day, clock):
    messages.broadcast(open_store_day, "  Sistema de SUNAT caído  ", minutes=10,
                       actor="supervisor")
    assert messages.current(open_store_day)["text"] == "Sistema de SUNAT caído"
    assert views.snapshot(open_store_day, staff=False)["message"]["text"] == \
        "Sistema de SUNAT caído"
    clock.advance(minutes=11)
    assert messages.current(open_store_day) is None


def test_an_empty_message_clears_the_band_and_a_new_one_replaces_the_old(open_store_day):
    messages.broadcast(open_store_day, "Uno")
    messages.broadcast(open_store_day, "Dos")
    assert messages.current(open_store_day)["text"] == "Dos"
    messages.broadcast(open_store_day, "")
    assert messages.current(open_store_day) is None


@pytest.mark.parametrize(("text", "minutes"), [(None, 0), ("x" * 201, 0), ("ok", -1),
                                                ("ok", True), ("ok", 1441)])
def test_a_bad_message_is_refused(open_store_day, text, minutes):
    with pytest.raises(InvalidInput):
        messages.broadcast(open_store_day, text, minutes=minutes)
