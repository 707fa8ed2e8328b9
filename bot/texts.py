"""One catalogue of user-facing texts. A language is a module under bot/locales/."""

from __future__ import annotations

import importlib
from functools import cache

DEFAULT_LANGUAGE = "en"
LANGUAGES = ("en", "es")


@cache
def _catalogue(lang: str) -> dict[str, str]:
    module = importlib.import_module(f"bot.locales.{lang}")
    return dict(module.MESSAGES)


class Texts:
    """Looks a key up in one language, falling back to English, then formats it."""

    def __init__(self, lang: str | None = None) -> None:
        self.lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE

    def __call__(self, key: str, **values: object) -> str:
        template = _catalogue(self.lang).get(key)
        if template is None:
            template = _catalogue(DEFAULT_LANGUAGE)[key]
        return template.format(**values) if values else template

    def has(self, key: str) -> bool:
        return key in _catalogue(DEFAULT_LANGUAGE)


def t(key: str, lang: str | None = None, **values: object) -> str:
    return Texts(lang)(key, **values)
