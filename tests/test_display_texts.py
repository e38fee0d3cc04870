"""The TV's text catalogues stay complete in every language, placeholders included."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

I18N = Path(__file__).parent.parent / "display" / "i18n"


def load(language: str) -> dict[str, str]:
    return json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", ["qu", "en"])
def test_every_spanish_text_of_the_tv_exists_in_each_other_language(language):
    assert sorted(load(language)) == sorted(load("es"))


@pytest.mark.parametrize("language", ["es", "qu", "en"])
def test_each_tv_text_keeps_the_placeholders_and_none_is_empty(language):
    spanish, other = load("es"), load(language)
    for key, text in spanish.items():
        assert set(re.findall(r"{\w+}", other[key])) == set(re.findall(r"{\w+}", text)), key
        assert other[key].strip(), key
