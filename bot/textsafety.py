"""Text from members, made safe to store and show: NUL and other control characters stripped
at the edge, and a check that a name has something visible in it."""

from __future__ import annotations

import unicodedata

# Bidirectional overrides and isolates can make a line read differently from what it holds.
_BIDI = {"\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068",
         "\u2069"}


def clean(text: str) -> str:
    """What is kept of member text: line breaks and tabs stay; NUL, other control characters
    and bidi overrides go (a database may refuse NUL; overrides can disguise a line)."""
    return "".join(ch for ch in text if ch in "\n\t" or (
        unicodedata.category(ch) != "Cc" and ch not in _BIDI))


def visible_text(text: str) -> bool:
    """Whether a name has at least one character a person can see."""
    return any(not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs")
               for ch in text)
