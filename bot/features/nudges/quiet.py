"""Quiet hours: when no personal DM reaches a member. Read in the member's own timezone (the
one they gave `available`), else the circle's; a range that ends before it starts crosses
midnight (22:00-08:00)."""

from __future__ import annotations

import re
from datetime import datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.availability.models import Availability
from bot.features.nudges.models import DEFAULT_QUIET, NudgePref
from bot.recurring import Recurrence, next_occurrence
from bot.timezones import zone
from storage.models import Circle

_RANGE = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)-([01]?\d|2[0-3]):([0-5]\d)")


def parse_quiet(text: str) -> str | None:
    """`23:00-09:00` normalised, or None when it does not read (or is empty)."""
    m = _RANGE.fullmatch(text.strip().replace(" ", ""))
    if not m:
        return None
    start, end = (int(m.group(1)), int(m.group(2))), (int(m.group(3)), int(m.group(4)))
    if start == end:
        return None
    return f"{start[0]:02d}:{start[1]:02d}-{end[0]:02d}:{end[1]:02d}"


def _bounds(quiet: str) -> tuple[time, time]:
    a, b = quiet.split("-")
    return time.fromisoformat(a), time.fromisoformat(b)


def quiet_now(quiet: str, timezone: str, now: datetime) -> bool:
    start, end = _bounds(quiet)
    local = now.astimezone(zone(timezone)).time()
    return start <= local < end if start < end else (local >= start or local < end)


def quiet_ends(quiet: str, timezone: str, now: datetime) -> datetime:
    """The next end of quiet hours after `now` (UTC)."""
    _, end = _bounds(quiet)
    return next_occurrence(Recurrence({"hour": end.hour, "minute": end.minute}, timezone), now)


def quiet_starts(quiet: str, timezone: str, now: datetime) -> datetime:
    start, _ = _bounds(quiet)
    return next_occurrence(Recurrence({"hour": start.hour, "minute": start.minute}, timezone),
                           now)


async def zone_and_quiet(session: AsyncSession, member_id: int,
                         circle: Circle) -> tuple[str, str]:
    found = await session.get(Availability, member_id)
    pref = await session.get(NudgePref, member_id)
    return (found.timezone if found is not None else circle.timezone,
            pref.quiet if pref is not None else DEFAULT_QUIET)


async def waking_at(session: AsyncSession, member_id: int, circle: Circle,
                    at: datetime) -> tuple[datetime, datetime]:
    """When a personal DM meant for `at` may go: `at` itself outside quiet hours, else the
    end of them; and the instant it must be delivered by (the next start of quiet hours),
    for the outbox row's expiry."""
    zone, quiet = await zone_and_quiet(session, member_id, circle)
    when = quiet_ends(quiet, zone, at) if quiet_now(quiet, zone, at) else at
    return when, quiet_starts(quiet, zone, when)
