"""IANA timezone names: validation and a close suggestion for typos."""

from __future__ import annotations

import difflib
from functools import cache
from zoneinfo import available_timezones


@cache
def _names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def resolve_timezone(text: str) -> tuple[str | None, str | None]:
    """(canonical IANA name, None) when known; (None, closest known name or None) when not."""
    wanted = text.strip()
    names = _names()
    canonical = names.get(wanted.lower())
    if canonical is None and wanted.upper() == "UTC":
        canonical = "UTC"
    if canonical is not None:
        return canonical, None
    lowered = wanted.lower().replace(" ", "_")
    match = difflib.get_close_matches(lowered, list(names), n=1, cutoff=0.6)
    if not match:
        # A bare city ("berlin") matches the part after the slash.
        tails = {k.rsplit("/", 1)[-1]: k for k in names if "/" in k}
        tail = difflib.get_close_matches(lowered.rsplit("/", 1)[-1], list(tails), n=1,
                                         cutoff=0.7)
        match = [tails[tail[0]]] if tail else []
    if match and names[match[0]].startswith("Etc/") is False:
        return None, names[match[0]]
    return None, "Europe/Berlin"
