"""The citizen-facing text catalogues stay complete in every language."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

I18N = Path(__file__).parent.parent / "kiosk" / "i18n"
LANGUAGES = ("es", "qu", "en")


def load(language: str) -> dict[str, str]:
    return json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", ["qu", "en"])
def test_every_spanish_text_exists_in_each_other_language(language):
    assert sorted(load(language)) == sorted(load("es"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_text_keeps_the_placeholders_of_the_spanish_one(language):
    spanish, other = load("es"), load(language)
    for key, text in spanish.items():
        assert set(re.findall(r"{\w+}", other[key])) == set(re.findall(r"{\w+}", text)), key


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_text_is_empty(language):
    assert [k for k, v in load(language).items() if not v.strip()] == []
