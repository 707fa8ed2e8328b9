"""Spanish descriptions for the generated commands, read from the same catalogues as every
other text. Only descriptions are translated: command and option names are the words every
platform shares."""

from __future__ import annotations

from discord import Locale, app_commands
from discord.app_commands import locale_str

from adapters.discord.texts import lang_of, shorten
from bot.texts import Texts

DESCRIPTION_LIMIT = 100


class CatalogueTranslator(app_commands.Translator):
    async def translate(self, string: locale_str, locale: Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        key = string.extras.get("key")
        lang = lang_of(locale)
        if key is None or lang is None:
            return None
        values = string.extras.get("values") or {}
        text = Texts(lang)(key, **values)
        if text == Texts()(key, **values):
            return None  # not translated: Discord shows the English
        return shorten(text, DESCRIPTION_LIMIT)
