"""How to name a person so the platform links them (the one place that knows the forms)."""

from __future__ import annotations

import re

from storage.models import Person


def mention(person: Person) -> str:
    if person.platform == "discord":
        return f"<@{person.platform_user_id}>"
    uid = person.platform_user_id
    return uid if uid.startswith("@") else f"@{uid}"


def name_pattern(name: str) -> re.Pattern[str]:
    """A display name as a whole word in a text: forgetting "Al" must not touch "Also"."""
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
