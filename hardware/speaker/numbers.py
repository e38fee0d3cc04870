"""Whole numbers in words, for the voice: espeak reads digits well in Spanish and English but
the Quechua voice reads them one by one, and we want one rule set for all three languages.

Range 0..999 999 (a ticket number restarts every day; a módulo number is small).

Quechua (Southern Quechua, Runasimi, the official trivocalic spelling used in Peru) follows
the descriptions of the numeral system in school grammars and word lists (for instance the
Cusco-Collao grammar tradition and the CLDR spell-out rules for `qu`), as we understand them:
- the ten digits are words of their own: huk, iskay, kimsa, tawa, pichqa, suqta, qanchis,
  pusaq, isqun; ten is chunka, a hundred pachak, a thousand waranqa;
- a round ten, hundred or thousand is "<multiplier> <power>" (iskay chunka = 20, kimsa pachak
  = 300), and the multiplier one is left out (chunka, pachak, waranqa);
- bigger units come first and the units digit that follows a higher part carries the
  suffix "having": -yuq after a vowel, -niyuq after a consonant (iskay ends in the glide y,
  which counts as a consonant): chunka hukniyuq = 11, iskay chunka kimsayuq = 23,
  pachak pichqayuq = 105, pachak iskay chunka kimsayuq = 123;
- round tens, hundreds and thousands after a higher part take no suffix (pachak iskay chunka
  = 120, waranqa pachak = 1100). Some teaching material writes "pachak iskay chunkayuq"
  instead; both are understood. A certified translator may settle this (see docs/configuration.md);
- zero has no traditional word; ch'usaq ("empty") is the usual modern one.
"""

from __future__ import annotations

from collections.abc import Callable

MAX = 999_999

# ---------------------------------------------------------------------------- Spanish

_ES_SMALL = (
    "cero uno dos tres cuatro cinco seis siete ocho nueve diez once doce trece catorce quince "
    "dieciséis diecisiete dieciocho diecinueve veinte veintiuno veintidós veintitrés "
    "veinticuatro veinticinco veintiséis veintisiete veintiocho veintinueve"
).split()
_ES_TENS = {3: "treinta", 4: "cuarenta", 5: "cincuenta", 6: "sesenta", 7: "setenta",
            8: "ochenta", 9: "noventa"}
_ES_HUNDREDS = {1: "ciento", 2: "doscientos", 3: "trescientos", 4: "cuatrocientos",
                5: "quinientos", 6: "seiscientos", 7: "setecientos", 8: "ochocientos",
                9: "novecientos"}


def _es_below_1000(n: int) -> str:
    if n == 100:
        return "cien"
    hundreds, rest = divmod(n, 100)
    words = [_ES_HUNDREDS[hundreds]] if hundreds else []
    if rest < 30:
        if rest or not hundreds:
            words.append(_ES_SMALL[rest])
    else:
        tens, units = divmod(rest, 10)
        words.append(_ES_TENS[tens])
        if units:
            words += ["y", _ES_SMALL[units]]
    return " ".join(words)


def spanish(n: int) -> str:
    """Spanish (Peru) cardinal as a noun: 21 is "veintiuno", as in "turno veintiuno"."""
    _check(n)
    thousands, rest = divmod(n, 1000)
    if not thousands:
        return _es_below_1000(rest)
    if thousands == 1:
        words = "mil"
    else:
        # "uno" shortens before the noun "mil": veintiún mil, treinta y un mil, ciento un mil.
        multiplier = _es_below_1000(thousands)
        if multiplier.endswith("veintiuno"):
            multiplier = multiplier[: -len("veintiuno")] + "veintiún"
        elif multiplier.endswith("uno"):
            multiplier = multiplier[:-1]
        words = f"{multiplier} mil"
    return f"{words} {_es_below_1000(rest)}" if rest else words


# ---------------------------------------------------------------------------- Quechua

_QU_DIGITS = ("ch'usaq", "huk", "iskay", "kimsa", "tawa", "pichqa", "suqta", "qanchis",
              "pusaq", "isqun")


def _qu_having(word: str) -> str:
    """Add the suffix -yuq ("having") in the form the word's last sound asks for."""
    return word + ("yuq" if word[-1] in "aeiou" else "niyuq")


def _qu_power(multiplier: int, power: str) -> list[str]:
    return [power] if multiplier == 1 else [*quechua(multiplier).split(), power]


def quechua(n: int) -> str:
    """Southern Quechua cardinal: 23 is "iskay chunka kimsayuq" (rules in the module doc)."""
    _check(n)
    if n == 0:
        return _QU_DIGITS[0]
    thousands, rest = divmod(n, 1000)
    hundreds, rest = divmod(rest, 100)
    tens, units = divmod(rest, 10)
    words: list[str] = []
    if thousands:
        words += _qu_power(thousands, "waranqa")
    if hundreds:
        words += _qu_power(hundreds, "pachak")
    if tens:
        words += _qu_power(tens, "chunka")
    if units:
        digit = _QU_DIGITS[units]
        words.append(_qu_having(digit) if words else digit)
    return " ".join(words)


# ---------------------------------------------------------------------------- English

_EN_SMALL = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_EN_TENS = {2: "twenty", 3: "thirty", 4: "forty", 5: "fifty", 6: "sixty", 7: "seventy",
            8: "eighty", 9: "ninety"}


def _en_below_100(n: int) -> str:
    if n < 20:
        return _EN_SMALL[n]
    tens, units = divmod(n, 10)
    return _EN_TENS[tens] + (f"-{_EN_SMALL[units]}" if units else "")


def _en_below_1000(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return _en_below_100(rest)
    words = f"{_EN_SMALL[hundreds]} hundred"
    return f"{words} and {_en_below_100(rest)}" if rest else words


def english(n: int) -> str:
    """British English cardinal ("one hundred and five"), matching espeak's `en` voice."""
    _check(n)
    thousands, rest = divmod(n, 1000)
    if not thousands:
        return _en_below_1000(rest)
    words = f"{_en_below_1000(thousands)} thousand"
    if not rest:
        return words
    joiner = " " if rest >= 100 else " and "
    return words + joiner + _en_below_1000(rest)


def _check(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= MAX:
        raise ValueError(f"cannot say {n!r}: whole numbers 0..{MAX} only")


WORDS: dict[str, Callable[[int], str]] = {"es": spanish, "qu": quechua, "en": english}
