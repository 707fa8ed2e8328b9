"""The Discord adapter's few sentences, from the core's catalogues like every user-facing
text, in the language the member's Discord client uses (the core picks the language of
what it says itself)."""

from __future__ import annotations

import discord

from bot.texts import Texts

PLATFORM = "discord"


def lang_of(locale: discord.Locale | str | None) -> str | None:
    """The catalogue language for a Discord locale (es-ES and es-419 are Spanish)."""
    return "es" if locale is not None and str(locale).lower().startswith("es") else None


def say(key: str, locale: discord.Locale | str | None = None, **values: object) -> str:
    return Texts(lang_of(locale))(key, **values)


def shorten(text: str, limit: int) -> str:
    """One line of at most `limit` characters (Discord's caps on descriptions and labels)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
