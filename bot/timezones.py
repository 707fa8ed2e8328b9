"""IANA timezone names: validation and a close suggestion for typos."""

from __future__ import annotations

import difflib
import re
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

# Files that can sit in a zoneinfo directory without naming a place: the host's own setting
# (`localtime`), tzdata's "no zone yet" placeholder (`Factory`, offset "-00"), the POSIX
# default rules, and CLDR's unknown zone. A member's windows must never depend on them.
_NOT_PLACES = frozenset({"localtime", "factory", "posixrules", "etc/unknown"})
_NOT_PLACE_DIRS = ("posix/", "right/", "systemv/")
FALLBACK = "Europe/Berlin"
_OFFSET = re.compile(r"(utc|gmt)?_?[+-]\d{1,2}(:?\d{2})?")


def _is_place(lowered: str) -> bool:
    return lowered not in _NOT_PLACES and not lowered.startswith(_NOT_PLACE_DIRS)


@cache
def _names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones() if _is_place(name.lower())}


def resolve_timezone(text: str) -> tuple[str | None, str | None]:
    """(canonical IANA name, None) when known; (None, closest known name or the fallback)
    when not."""
    wanted = text.strip()
    canonical = _names().get(wanted.lower())
    if canonical is None and wanted.upper() == "UTC":
        canonical = "UTC"
    if canonical is not None:
        return canonical, None
    return None, suggest_timezone(wanted) or FALLBACK


@cache
def _suggestable() -> dict[str, str]:
    # Only Area/City names: a short legacy name is a bad guess for a near miss ("Spain" is
    # not Japan, "CEST" is not EST), and Etc/GMT+2 means two hours *behind* Greenwich.
    return {k: v for k, v in _names().items() if "/" in k and not k.startswith("etc/")}


def suggest_timezone(text: str) -> str | None:
    """The Area/City name closest to an unknown one, or None when nothing is close."""
    lowered = text.strip().lower().replace(" ", "_")
    if _OFFSET.fullmatch(lowered):
        return None  # `UTC+1` is an offset, which does not follow summer time; no name is near
    names = _suggestable()
    match = difflib.get_close_matches(lowered, list(names), n=1, cutoff=0.6)
    if not match:
        # A bare city ("berlin") matches the part after the slash.
        tails = {k.rsplit("/", 1)[-1]: k for k in names}
        city = lowered.rsplit("/", 1)[-1]
        if len(city) < 5:  # a near miss of four letters is noise: "cest" is not "west"
            match = [tails[city]] if city in tails else []
        else:
            tail = difflib.get_close_matches(city, list(tails), n=1, cutoff=0.7)
            match = [tails[tail[0]]] if tail else []
    return names[match[0]] if match else None


def looks_like_timezone(text: str) -> bool:
    """Whether a word was meant as a timezone: a name, a zone file that is not a place, an
    offset, or a near miss of an Area/City name."""
    lowered = text.strip().lower()
    return ("/" in lowered or lowered == "utc" or lowered in _names()
            or not _is_place(lowered) or _OFFSET.fullmatch(lowered) is not None
            or suggest_timezone(text) is not None)


@cache
def zone(name: str) -> ZoneInfo:
    """The zone for a valid IANA name, kept: ZoneInfo's own cache holds only 8, so a wave
    over members in 10 timezones would read zone files from disk again and again."""
    return ZoneInfo(name)
