"""The catalogues: every language has English's keys and placeholders, and lookups fall back."""

from __future__ import annotations

import re
import string

import pytest

import bot.texts as texts_module
from bot.locales import en, es
from bot.texts import LANGUAGES, Texts, t

EN = en.MESSAGES
ES = es.MESSAGES

# Named-argument examples (visibility:private, timezone:Europe/Berlin...) that the parser
# only understands in English; help.tail describes the syntax itself, so it may translate.
_NAMED_EXAMPLE = re.compile(r"\b[a-z_]+:[A-Za-z_/]+")
_SYNTAX_ONLY = {"help.tail"}


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def test_spanish_has_exactly_the_english_keys() -> None:
    assert set(ES) - set(EN) == set(), "keys only in es"
    assert set(EN) - set(ES) == set(), "keys missing from es"


@pytest.mark.parametrize("key", sorted(EN))
def test_placeholders_match(key: str) -> None:
    assert _fields(ES[key]) == _fields(EN[key])


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_text_formats_with_dummy_values(lang: str) -> None:
    for key, template in texts_module._catalogue(lang).items():
        values = dict.fromkeys(_fields(template), "x")
        assert isinstance(Texts(lang)(key, **values), str), key


def test_named_argument_examples_stay_in_english() -> None:
    for key, template in EN.items():
        if key in _SYNTAX_ONLY:
            continue
        for example in _NAMED_EXAMPLE.findall(template):
            assert example in ES[key], (key, example)


def test_spanish_is_used() -> None:
    assert "es" in LANGUAGES
    assert Texts("es")("step.1") != Texts("en")("step.1")
    assert t("step.one", "es", n=1, text="…").startswith("Paso 1")


def test_unknown_language_is_english() -> None:
    assert Texts("xx").lang == "en"
    assert Texts(None)("step.1") == EN["step.1"]


def test_missing_key_falls_back_to_english(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = {
        "en": {"greet": "Hello, {name}.", "only.en": "Only in English, {name}."},
        "es": {"greet": "Hola, {name}."},
    }
    monkeypatch.setattr(texts_module, "_catalogue", lambda lang: fake[lang])
    texts = Texts("es")
    assert texts("greet", name="Ana") == "Hola, Ana."
    assert texts("only.en", name="Ana") == "Only in English, Ana."
    assert texts.has("only.en")
    with pytest.raises(KeyError):
        texts("nowhere")


async def test_a_spanish_circle_hears_spanish_even_for_a_typo(console: object) -> None:
    from adapters.console import ConsoleSession
    from tests.conftest import run_lines

    assert isinstance(console, ConsoleSession)
    said = await run_lines(console, "@alice> circle setup name:Riberas timezone:Europe/Madrid\n"
                                    "@alice> circle settings language:es\n@alice> chekin 3\n"
                                    "@bob> join\n@bob dm> checkin 2 mal día")
    assert ('[reply @alice] No conozco "chekin"; ¿querías decir checkin? Escribe help para ver '
            "la lista.") in said
    assert "Te damos la bienvenida a Riberas" in "\n".join(said)
    assert any(line.startswith("[reply @bob] Check-in") for line in said)
