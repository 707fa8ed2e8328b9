"""When terms start and end, and when reminders go out: pure functions over instants.

A term boundary is the circle's rotation day and hour in its timezone (a Recurrence, so the
DST rules of bot/recurring.py apply: an hour that does not exist starts when the clocks jump,
one that happens twice starts the first time). A term of N weeks ends N regular boundaries
after it starts, counted on the wall clock, so a weekly term never drifts by an hour."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from bot.recurring import Recurrence, next_occurrence
from bot.timezones import zone

MAX_WEEKS = 26
_WORDS = {"weekly": 1, "fortnightly": 2}
_PERIOD = re.compile(r"^(\d{1,3})\s*(w|wk|wks|week|weeks|d|day|days)$")
WAKING = (9, 21)  # reminders reach a holder between 09:00 and 21:00 their time
PLAN_AHEAD = timedelta(days=7)  # the first term's holders are drawn this long before it


def parse_period(text: str) -> int | None:
    """Whole weeks from `1w`, `2 weeks`, `14d`, `weekly`, `fortnightly`; None if it is not
    one (or is out of range)."""
    value = text.strip().lower()
    weeks = _WORDS.get(value)
    if weeks is None:
        m = _PERIOD.match(value)
        if m is None:
            return None
        n = int(m.group(1))
        if m.group(2).startswith("d"):
            if n % 7:
                return None
            n //= 7
        weeks = n
    return weeks if 1 <= weeks <= MAX_WEEKS else None


def boundary_rule(day: str, hour: int, timezone: str) -> Recurrence:
    return Recurrence({"day_of_week": day, "hour": hour, "minute": 0}, timezone)


def term_end(rule: Recurrence, start: datetime, weeks: int) -> datetime:
    """The boundary `weeks` regular boundaries after `start`. From a boundary that is exactly
    `weeks` weeks of wall-clock time; a term started off-schedule (`roles rotate`) ends on the
    circle's regular rotation day."""
    at = start
    for _ in range(weeks):
        at = next_occurrence(rule, at)
    return at


def first_boundary(rule: Recurrence, created_at: datetime, newcomer_days: int,
                   now: datetime) -> datetime:
    """A new circle's first term starts once its first members are past their newcomer days."""
    return next_occurrence(rule, max(now, created_at + timedelta(days=newcomer_days)))


def waking(instant: datetime, timezone: str) -> datetime:
    """The instant itself when it falls in waking hours in that timezone, else the next 09:00
    there."""
    tz = zone(timezone)
    local = instant.astimezone(tz)
    start, end = WAKING
    if start <= local.hour < end:
        return instant
    day = local.date() if local.hour < start else local.date() + timedelta(days=1)
    return datetime(day.year, day.month, day.day, start, tzinfo=tz).astimezone(instant.tzinfo)


def reminder_times(term_start: datetime, timezone: str, now: datetime
                   ) -> list[tuple[int, datetime]]:
    """(days before, when) for the week-before and day-before reminders, each moved into the
    holder's waking hours. A turn drawn later than a week ahead gets its first reminder at the
    next waking moment instead (one reminder, when that comes after the day-before time)."""
    day = waking(term_start - timedelta(days=1), timezone)
    first = max(waking(term_start - timedelta(days=7), timezone), waking(now, timezone))
    found: list[tuple[int, datetime]] = []
    if first < day:
        found.append((7, first))
    if day >= now:
        found.append((1, day))
    elif first < term_start:
        found.append((1, first))
    return found


def overlap(a_start: datetime, a_end: datetime | None, b_start: datetime,
            b_end: datetime) -> timedelta:
    """How long [a_start, a_end) (open-ended when a_end is None) and [b_start, b_end) share."""
    start = max(a_start, b_start)
    end = b_end if a_end is None else min(a_end, b_end)
    return max(end - start, timedelta(0))
