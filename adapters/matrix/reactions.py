"""A reaction on a message that carries actions, as the emoji the action declared.

Clients differ in whether they add the emoji variation selector (U+FE0F), and some send the
heavy check mark or cross instead; all of them mean the same action.
"""

from __future__ import annotations

_SAME = {"✔": "✅", "☑": "✅", "✖": "❌", "❎": "❌"}


def action_key(key: str) -> str:
    plain = key.replace("\ufe0f", "").strip()
    return _SAME.get(plain, plain)
