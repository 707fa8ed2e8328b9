"""Tags: words or comma-separated (`tags:spanish,housing`), case-insensitive. Unknown tags are
fine; they simply match nothing."""

from __future__ import annotations

import re

from bot.context import Ctx, UserError

MAX_TAGS = 12
TAG_LEN = 32
_SPLIT = re.compile(r"[\s,;]+")


def split_words(text: str | None) -> list[str]:
    return [w for w in _SPLIT.split(text or "") if w]


def normalise(word: str) -> str:
    return word.strip().lstrip("#").lower()


def parse_tags(ctx: Ctx, text: str | None) -> list[str]:
    """Tags as given, lower case, each once, in order; too long or too many is refused."""
    found: list[str] = []
    for word in split_words(text):
        tag = normalise(word)
        if not tag or tag in found:
            continue
        if len(tag) > TAG_LEN:
            raise UserError(ctx.t("mentor.err.tag_too_long", tag=tag[:40], limit=TAG_LEN))
        found.append(tag)
    if len(found) > MAX_TAGS:
        raise UserError(ctx.t("mentor.err.too_many_tags", limit=MAX_TAGS))
    return found


def show(tags: list[str] | tuple[str, ...] | frozenset[str]) -> str:
    return ", ".join(tags) if tags else "-"
