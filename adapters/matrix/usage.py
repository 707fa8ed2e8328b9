"""Texts the Matrix adapter shows: usage generated from the core's command table, and the few
Matrix-only sentences (from the core catalogue, like every user-facing text)."""

from __future__ import annotations

from bot.commands import CommandTable
from bot.texts import Texts


def usage_text(table: CommandTable, prefix: str, lang: str | None = None) -> str:
    """Every visible command as it is typed in a Matrix room. No `code` marks: the HTML shows the
    body's characters as they are (formatting.py), so they would show as backticks."""
    t = Texts(lang)
    lines = [t("help.head")]
    for cmd in table.visible():
        lines.append(f"- {prefix}{cmd.usage()} — {t(cmd.key)}")
    lines.append(t("help.tail"))
    return "\n".join(lines)
