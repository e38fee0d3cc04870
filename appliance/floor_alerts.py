"""The supervisor's alerts that come from the box's parts rather than from the engine: the
voice falling behind the calls, a printer's roll nearly out, and the public address the QR
codes carry. ``turnero.overview`` makes the alerts the records alone can tell."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from appliance import parts
from kiosk import public_address
from turnero.hours import day_hours, schedule_for

DROPPED_WINDOW_MINUTES = 10


def today_hours() -> tuple[datetime | None, datetime | None]:
    """Today's opening and closing times of the centre (None, None on a closed day)."""
    settings, s = parts.settings(), parts.store()
    local = s.now().astimezone(s.tz).date()
    found = day_hours(settings.hours, local, str(s.tz), schedule_for(s, settings.schedule))
    return found.opens, found.closes


def voice_alerts(health: dict[str, Any]) -> list[dict[str, Any]]:
    """An alert when the announcements lag more than half their bound behind the calls, or
    some were dropped in the last minutes (the citizen may miss the call); none when the
    announcer does not report those figures."""
    behind, bound = health.get("behind_seconds"), health.get("max_delay_seconds")
    dropped = health.get("dropped_last_10_min")
    if not isinstance(behind, int | float) or not isinstance(bound, int | float) \
            or not isinstance(dropped, int):
        return []
    parts_of_text = []
    if bound > 0 and behind > bound / 2:
        parts_of_text.append(f"los anuncios de voz van {round(behind)} s detrás de las "
                             f"llamadas (límite: {round(bound)} s)")
    nobody_hears = health.get("tvs") == 0 and not health.get("local_playback")
    if dropped > 0 and nobody_hears:  # nothing was shown either: say what is wrong
        return [{"kind": "voice", "severity": "warning",
                 "message": "Voz de la sala: ninguna pantalla está conectada, así que las "
                            "llamadas no se ven ni se anuncian. Revise las pantallas."}]
    if dropped > 0:
        calls = "1 llamada se mostró" if dropped == 1 else f"{dropped} llamadas se mostraron"
        parts_of_text.append(f"{calls} sin anunciarse por voz en los últimos "
                             f"{DROPPED_WINDOW_MINUTES} minutos")
    if not parts_of_text:
        return []
    text = "; ".join(parts_of_text)
    return [{"kind": "voice", "severity": "warning",
             "message": f"Voz de la sala: {text}. Revise el parlante y las pantallas."}]


def voice_health() -> dict[str, Any]:
    """The announcer's health, or {} when it cannot say (a broken check is not a voice
    alert: health reports it)."""
    try:
        return parts.parts().announcing.health()
    except Exception:  # the floor must still load
        return {}


def paper_alerts() -> list[dict[str, Any]]:
    """A printer that reports its roll nearly out (its paper-near-end sensor)."""
    return [{"kind": "printer_paper", "severity": "warning", "printer": name,
             "message": f"Impresora {name}: queda poco papel. Cambie el rollo antes de que "
                        "se acabe."} for name in parts.printing().paper_low()]


def public_address_view() -> dict[str, Any]:
    """The address the QR codes carry, with the problem when phones cannot use it."""
    return public_address.current().health()
