"""Meeting rules as a steward writes them, and their occurrences.

    weekly wed 19:00          every 2 weeks mon 18:30       monthly first sat 10:00
    monthly last fri 20:00    once 2026-12-24 18:00

Occurrences come from the recurring-timer helper (a CronTrigger with a ZoneInfo), so a meeting
keeps its wall-clock time across DST changes; `every n weeks` keeps the weekly occurrences
whose week, counted from the first one, is a multiple of n.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from bot.recurring import Recurrence, next_occurrence
from bot.timezones import zone

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ORDINALS = {"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "last": "last",
            "1st": "1st", "2nd": "2nd", "3rd": "3rd", "4th": "4th"}
MAX_WEEKS = 8
FORMS = ("weekly wed 19:00", "every 2 weeks mon 18:30", "monthly first sat 10:00",
         "monthly last fri 20:00", "once 2026-12-24 18:00")
_TIME = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")
_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class Rule:
    text: str  # normalised: what `meeting list` shows
    fields: dict[str, Any] = field(default_factory=dict)  # cron fields
    every_weeks: int = 1
    once: bool = False


def _day(word: str) -> str | None:
    word = word.lower()
    for d in DAYS:
        if len(word) >= 3 and (word == d or _full(d).startswith(word)):
            return d
    return None


def _full(day: str) -> str:
    return {"mon": "monday", "tue": "tuesday", "wed": "wednesday", "thu": "thursday",
            "fri": "friday", "sat": "saturday", "sun": "sunday"}[day]


def _time(word: str) -> tuple[int, int] | None:
    m = _TIME.fullmatch(word)
    return (int(m.group(1)), int(m.group(2))) if m else None


def parse_rule(text: str) -> Rule | None:
    """The rule, or None when it is not one of the accepted forms."""
    words = text.lower().split()
    if len(words) == 3 and words[0] == "weekly":
        day, at = _day(words[1]), _time(words[2])
        if day and at:
            return Rule(f"weekly {day} {at[0]:02d}:{at[1]:02d}",
                        {"day_of_week": day, "hour": at[0], "minute": at[1]})
    if len(words) == 5 and words[0] == "every" and words[2] in ("weeks", "week") \
            and words[1].isdigit():
        n, day, at = int(words[1]), _day(words[3]), _time(words[4])
        if 1 <= n <= MAX_WEEKS and day and at:
            head = "weekly" if n == 1 else f"every {n} weeks"
            return Rule(f"{head} {day} {at[0]:02d}:{at[1]:02d}",
                        {"day_of_week": day, "hour": at[0], "minute": at[1]}, every_weeks=n)
    if len(words) == 4 and words[0] == "monthly":
        which, day, at = ORDINALS.get(words[1]), _day(words[2]), _time(words[3])
        if which and day and at:
            said = {"1st": "first", "2nd": "second", "3rd": "third", "4th": "fourth"}.get(
                which, which)
            return Rule(f"monthly {said} {day} {at[0]:02d}:{at[1]:02d}",
                        {"day": f"{which} {day}", "hour": at[0], "minute": at[1]})
    if len(words) == 3 and words[0] == "once":
        m, at = _DATE.fullmatch(words[1]), _time(words[2])
        if m and at:
            try:
                day = date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
            return Rule(f"once {day.isoformat()} {at[0]:02d}:{at[1]:02d}",
                        {"year": day.year, "month": day.month, "day": day.day,
                         "hour": at[0], "minute": at[1]}, once=True)
    return None


def next_start(rule: Rule, timezone: str, after: datetime,
               anchor: date | None = None) -> datetime | None:
    """The first occurrence strictly after `after` (UTC), or None when there is none."""
    recurrence = Recurrence(rule.fields, timezone)
    tz = zone(timezone)
    at = after
    for _ in range(MAX_WEEKS * 4):
        try:
            at = next_occurrence(recurrence, at)
        except ValueError:
            return None
        if rule.every_weeks == 1 or anchor is None:
            return at
        weeks = (at.astimezone(tz).date() - anchor).days // 7
        if weeks % rule.every_weeks == 0:
            return at
    return None


def anchor_of(rule: Rule, first: datetime, timezone: str) -> str | None:
    return first.astimezone(zone(timezone)).date().isoformat() \
        if rule.every_weeks > 1 else None


def parse_anchor(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None
