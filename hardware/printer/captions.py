"""The fixed words printed on a ticket, per language. Short: 48 columns on 80 mm paper.

The Quechua is Southern Quechua (Qusqu-Qullaw), written with the official alphabet; a
native speaker should review it before it goes to a centre.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Captions:
    people_ahead: str
    wait: str
    no_estimate: str
    starts_at: str
    date: str
    preferential: str
    scan: str


CAPTIONS: dict[str, Captions] = {
    "es": Captions(
        people_ahead="Personas antes que usted",
        wait="Espera estimada",
        no_estimate="sin estimación",
        starts_at="La atención empieza a las",
        date="Fecha",
        preferential="Atención preferente",
        scan="Escanee para seguir su turno",
    ),
    "qu": Captions(
        people_ahead="Ñawpaqniykipi runakuna",
        wait="Yaqa suyanayki",
        no_estimate="mana yachakunchu",
        starts_at="Atendeyqa qallarinqa",
        date="P'unchaw",
        preferential="Ñawpaqta yanapana",
        scan="QR-ta qhawachiy, turnoykita qatipanaykipaq",
    ),
    "en": Captions(
        people_ahead="People ahead of you",
        wait="Estimated wait",
        no_estimate="no estimate",
        starts_at="Service starts at",
        date="Date",
        preferential="Priority service",
        scan="Scan to follow your turn",
    ),
}


def captions(language: str) -> Captions:
    """The captions of ``language``; Spanish for any language we do not have."""
    return CAPTIONS.get(language, CAPTIONS["es"])
