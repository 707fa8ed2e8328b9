"""Recurring timers: the next occurrence of a rule in a timezone, from the previous due time.

Occurrences come from APScheduler's CronTrigger with a ZoneInfo, then two rules make DST
predictable: a wall-clock time that does not exist (02:30 on the spring-forward night) fires
when the clocks jump, at 03:00; a time that happens twice (01:30 on the fall-back night) fires
once, the first time. The next occurrence is counted from the previous due time, never from
when the timer happened to fire, so nothing drifts; an overdue timer fires once and its
successor is the next occurrence still in the future (never one firing per missed period).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from bot.timezones import zone

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Recurrence:
    """A cron-style rule (`{"hour": 3, "minute": 0}`, `{"day_of_week": "wed", "hour": 19}`)
    read in an IANA timezone."""

    fields: dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"

    def trigger(self) -> CronTrigger:
        return CronTrigger(timezone=zone(self.timezone), **self.fields)


def next_occurrence(rule: Recurrence, after: datetime) -> datetime:
    """The first occurrence strictly after `after`, as a UTC instant."""
    tz = zone(rule.timezone)
    trigger = rule.trigger()
    start = after.astimezone(UTC) + _TICK
    for _ in range(10_000):  # a rule that never matches would otherwise loop for ever
        found = trigger.get_next_fire_time(None, start.astimezone(tz))
        if found is None:
            break
        wall = found.replace(tzinfo=None)
        if _ambiguous(wall, tz) and found.fold == 1:
            start = found.astimezone(UTC) + _TICK  # the repeated hour: once, the first time
            continue
        instant = found.astimezone(UTC) if _exists(wall, tz) else _gap_end(wall, tz)
        if instant > after:
            return instant
        start = found.astimezone(UTC) + _TICK
    raise ValueError(f"the rule {rule.fields} has no occurrence after {after.isoformat()}")


def next_due(rule: Recurrence, previous_due: datetime, now: datetime) -> datetime:
    """The successor of a timer that was due at `previous_due` and fires at `now`: the next
    occurrence after the previous due time that is still in the future."""
    return next_occurrence(rule, max(previous_due, now))


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    there = wall.replace(tzinfo=tz)
    return there.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


def _ambiguous(wall: datetime, tz: ZoneInfo) -> bool:
    a = wall.replace(tzinfo=tz, fold=0).utcoffset()
    b = wall.replace(tzinfo=tz, fold=1).utcoffset()
    return a != b and _exists(wall, tz)


def _gap_end(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant the clocks jumped over `wall`: between the two readings of it, the
    first instant with the later offset (found by halving, to the second)."""
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)  # read with the earlier offset
    high = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    low, high = min(low, high), max(low, high)
    after = high.astimezone(tz).utcoffset()
    while high - low > timedelta(seconds=1):
        mid = low + (high - low) / 2
        if mid.astimezone(tz).utcoffset() == after:
            high = mid
        else:
            low = mid
    return high.replace(microsecond=0)
