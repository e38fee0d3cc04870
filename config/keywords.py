"""Synonyms citizens use for trámites ("brevete" for the licencia de conducir): the kiosk's
search finds a service by its name, its entity and these keywords.

The rules live in ``config/catalog/palabras_clave.csv``, one per line: the keywords, an
optional entity (matched against the entity's code and names) and the service names they
apply to (``|``-separated parts of the name; empty = every service of the entity). Names
are compared without accents or case, so one rule serves any centre's catalogue.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from functools import cache, lru_cache
from pathlib import Path

RULES_FILE = Path(__file__).parent / "catalog" / "palabras_clave.csv"


def normalise(text: str) -> str:
    """Lower case, no accents (ñ becomes n), only letters and digits separated by one space:
    the form both the kiosk's search and these rules compare."""
    plain = "".join(c for c in unicodedata.normalize("NFD", text)
                    if unicodedata.category(c) != "Mn")
    return " ".join(re.findall(r"[a-z0-9]+", plain.lower()))


@cache
def rules() -> tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...]:
    """(keywords, entity pattern, service name parts), normalised."""
    with RULES_FILE.open(encoding="utf-8") as f:
        return tuple((tuple(normalise(r["palabras"]).split()), normalise(r["entidad"]),
                      tuple(normalise(p) for p in r["servicio_contiene"].split("|") if p))
                     for r in csv.DictReader(f))


def _contains(haystack: str, needle: str) -> bool:
    return f" {needle} " in f" {haystack} "


@lru_cache(maxsize=4096)
def keywords_for(entity: str, service_name: str) -> str:
    """The keywords of one service, space-separated: those of every rule whose entity
    pattern is in ``entity`` (its code and names) and one of whose parts is in the name;
    words already in the name are left out to keep the catalogue small."""
    where, name = normalise(entity), normalise(service_name)
    found: list[str] = []
    for words, entity_part, parts in rules():
        if entity_part and not _contains(where, entity_part):
            continue
        if parts and not any(_contains(name, p) for p in parts):
            continue
        found.extend(w for w in words if w not in found and not _contains(name, w))
    return " ".join(found)
