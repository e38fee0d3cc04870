"""What the voice says for a call, per language, written so espeak-ng pronounces it right.

The phrase is built from a template per language (`Templates`), which a certified translator
can replace without touching code, and from spoken forms of the ticket label and the módulo:
- letters of the prefix are spelled by name, each followed by a comma: alone, espeak reads a
  Spanish "a" or "e" as the unstressed preposition or conjunction and an English "A" as the
  article; the comma makes each one a stressed word ("erre, ene," / "R-N,");
- the number is read as a whole number without the zero padding of the printed label:
  "RN-023" is "veintitrés", "RN-1000" is "mil" (and "RN-000", which the engine never issues,
  would be "cero"). The padding is typography; a person says the number, and the same rule
  works in Quechua and English;
- the módulo number is read in words too; a módulo named with letters ("12A") has them spelled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from hardware.speaker.numbers import WORDS

LANGUAGES = ("es", "qu", "en")
LABEL = re.compile(r"^([A-ZÑ]{1,3})-(\d{1,6})$")

# Letter names as the Real Academia lists them, with the choices a listener in Peru hears
# best: "uve" (not "ve", which sounds the same as "be"), "doble ve", "i griega".
_SPANISH_LETTERS = {
    "A": "a", "B": "be", "C": "ce", "D": "de", "E": "e", "F": "efe", "G": "ge", "H": "hache",
    "I": "i", "J": "jota", "K": "ka", "L": "ele", "M": "eme", "N": "ene", "Ñ": "eñe", "O": "o",
    "P": "pe", "Q": "cu", "R": "erre", "S": "ese", "T": "te", "U": "u", "V": "uve",
    "W": "doble ve", "X": "equis", "Y": "i griega", "Z": "zeta",
}


@dataclass(frozen=True)
class Call:
    """A ticket called to a módulo: the label printed on the ticket and the módulo's number."""

    label: str
    counter: str
    recall: bool = False
    # Which TVs hear the call, for pacing the voice (``hardware.speaker.pacing``): the
    # módulo's zone and entity; calls of one group are heard by the same TVs.
    group: str = ""


@dataclass(frozen=True)
class Templates:
    """Sentences of one language; {ticket} and {counter} are filled with spoken forms."""

    call: str
    recall: str


TEMPLATES: dict[str, Templates] = {
    "es": Templates(call="Turno {ticket} módulo {counter}.",
                    recall="Nuevo llamado. Turno {ticket} módulo {counter}."),
    # "Your turn <ticket>, come to módulo <n>"; recall: "Again." To be reviewed by a translator.
    "qu": Templates(call="Turnuyki {ticket} {counter} módulo-man hamuy.",
                    recall="Yapamanta. Turnuyki {ticket} {counter} módulo-man hamuy."),
    "en": Templates(call="Ticket {ticket} counter {counter}.",
                    recall="Calling again. Ticket {ticket} counter {counter}."),
}


def _spell(letters: str, language: str) -> str:
    """Letters one by one, each ending in a comma (see the module doc)."""
    if language == "en":
        return "-".join(letters) + ","
    # A capital with no Spanish name ("É" or "Ω" in a módulo's name) is left for the voice
    # to read as it can, rather than failing the whole announcement.
    return " ".join(f"{_SPANISH_LETTERS.get(letter, letter)}," for letter in letters)


def parse_label(label: str) -> tuple[str, int]:
    """Split "RN-023" into ("RN", 23); anything else is refused rather than misread aloud."""
    match = LABEL.match(label.strip().upper())
    if not match:
        raise ValueError(f"not a ticket label: {label!r} (expected like 'RN-023')")
    return match.group(1), int(match.group(2))


def spoken_ticket(label: str, language: str) -> str:
    """The label as the voice says it: "erre, ene, veintitrés,"."""
    prefix, number = parse_label(label)
    return f"{_spell(prefix, language)} {WORDS[language](number)},"


def spoken_counter(counter: str, language: str) -> str:
    """The módulo as the voice says it: digits as a number, short capitals spelled."""
    parts = re.findall(r"\d+|[^\W\d_]+", counter.strip())
    if not parts:
        raise ValueError(f"not a módulo: {counter!r}")
    words = []
    for part in parts:
        if part.isdigit():
            words.append(WORDS[language](int(part)))
        elif len(part) <= 3 and part.isupper():
            words.append(_spell(part, language).rstrip(","))
        else:
            words.append(part)
    return " ".join(words)


def phrase(call: Call, language: str, templates: Mapping[str, Templates] | None = None) -> str:
    """The sentence to synthesize for a call in one language ("es", "qu" or "en")."""
    if language not in LANGUAGES:
        raise ValueError(f"no phrases for language {language!r}; known: {', '.join(LANGUAGES)}")
    chosen = (templates or TEMPLATES).get(language) or TEMPLATES[language]
    template = chosen.recall if call.recall else chosen.call
    return template.format(ticket=spoken_ticket(call.label, language),
                           counter=spoken_counter(call.counter, language))
