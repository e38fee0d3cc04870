"""A ticket printed before the módulos open says when attention starts, in the ticket's
language, instead of a figure of minutes that would count the wait from now."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from hardware.printer import render
from tests.test_printer import decode_text, make_settings, make_ticket


def printed(language: str, starts: datetime | None) -> list[str]:
    ticket = replace(make_ticket(language=language, wait_minutes=56),
                     attention_starts_at=starts)
    data = render(ticket, make_settings())
    return decode_text(data, "CP858").split("\n")


@pytest.mark.parametrize(("language", "line"), [
    ("es", "La atención empieza a las:" + " " * 17 + "08:30"),
    ("qu", "Atendeyqa qallarinqa:" + " " * 22 + "08:30"),
    ("en", "Service starts at:" + " " * 25 + "08:30"),
])
def test_a_ticket_issued_before_opening_prints_when_attention_starts(language, line):
    lines = printed(language, datetime(2026, 11, 27, 13, 30, tzinfo=UTC))
    assert line in lines  # the centre's local time, not UTC
    assert not any("56 min" in text for text in lines)


def test_once_modulos_serve_the_queue_the_ticket_prints_the_minutes():
    lines = printed("es", None)
    assert "Espera estimada:                        ~ 56 min" in lines
