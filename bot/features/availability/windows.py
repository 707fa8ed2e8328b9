"""Weekly availability windows in a member's own timezone: `mon-fri 21:00-02:00, sat-sun any`.

A window that ends at or before its start crosses midnight and belongs to the day it starts
on (Friday 21:00-02:00 reaches into Saturday morning). Checks convert the instant to the
member's local wall-clock time, so windows follow DST changes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from typing import TYPE_CHECKING

from bot.timezones import zone

if TYPE_CHECKING:
    from bot.texts import Texts

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {"daily": tuple(range(7)), "everyday": tuple(range(7)), "all": tuple(range(7)),
                "weekdays": (0, 1, 2, 3, 4), "weekends": (5, 6), "weekend": (5, 6)}
_TIME = re.compile(r"^(\d{1,2})(?::(\d{2}))?$")


class WindowError(ValueError):
    """What is wrong with the windows and the right form, as a text key and its values (the
    member reads it in their language: `Texts(lang)(exc.key, **exc.values)`); str() is the
    English sentence."""

    def __init__(self, key: str, **values: str) -> None:
        from bot.texts import Texts

        self.key = key
        self.values = {"form": FORM, **values}
        super().__init__(Texts()(key, **self.values))

    def text(self, texts: Texts) -> str:
        return texts(self.key, **self.values)


@dataclass(frozen=True)
class Window:
    days: tuple[int, ...]  # 0 = Monday
    start: time | None  # None: all day ("any")
    end: time | None

    def contains(self, local: datetime) -> bool:
        weekday, t = local.weekday(), local.time()
        if self.start is None or self.end is None:
            return weekday in self.days
        if self.start < self.end:
            return weekday in self.days and self.start <= t < self.end
        # Crosses midnight: the evening of a listed day, or the early hours after it.
        return (weekday in self.days and t >= self.start) or (
            (weekday - 1) % 7 in self.days and t < self.end)

    def describe(self) -> str:
        days = _describe_days(self.days)
        if self.start is None or self.end is None:
            return f"{days} any"
        return f"{days} {self.start:%H:%M}-{self.end:%H:%M}"


FORM = "mon-fri 21:00-02:00, sat-sun any"


def parse_windows(text: str) -> list[Window]:
    entries = [e.strip() for e in text.replace(";", ",").split(",") if e.strip()]
    if not entries:
        raise WindowError("err.windows_none")
    windows = [_parse_entry(e) for e in entries]
    return windows


def _parse_entry(entry: str) -> Window:
    words = entry.lower().split()
    if len(words) == 1:
        if words[0] in ("any", "always", "anytime"):
            return Window(tuple(range(7)), None, None)
        if "-" in words[0] and ":" in words[0]:
            return _with_times(tuple(range(7)), words[0], entry)
        if _is_days(words[0]):
            return Window(_parse_days(words[0], entry), None, None)
        raise WindowError("err.windows_entry", value=entry[:40])
    if len(words) != 2:
        raise WindowError("err.windows_words", value=entry[:40])
    days = _parse_days(words[0], entry)
    if words[1] in ("any", "always", "anytime", "all-day"):
        return Window(days, None, None)
    return _with_times(days, words[1], entry)


_DAY_NAMES = {name: i for i, names in enumerate((
    ("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "weds", "wednesday"),
    ("thu", "thur", "thurs", "thursday"), ("fri", "friday"), ("sat", "saturday"),
    ("sun", "sunday"))) for name in names}


_ANY = ("any", "always", "anytime", "all-day")
_TIMEISH = re.compile(r"[\d:\-]+")


def is_window_word(word: str) -> bool:
    """A word that belongs in windows (a day, a day range, `any`, hours), whatever its case."""
    w = word.lower().strip(",;")
    return w in _ANY or bool(_TIMEISH.fullmatch(w)) or (bool(w) and _is_days(w))


def _is_days(word: str) -> bool:
    return word in _DAY_ALIASES or all(p in _DAY_NAMES for p in word.split("-") if p)


def _parse_days(word: str, entry: str) -> tuple[int, ...]:
    if word in _DAY_ALIASES:
        return _DAY_ALIASES[word]
    parts = word.split("-")
    idx = []
    for p in parts:
        if p not in _DAY_NAMES:  # "monkey" is not Monday
            raise WindowError("err.windows_day", value=p[:20])
        idx.append(_DAY_NAMES[p])
    if len(idx) == 1:
        return (idx[0],)
    if len(idx) != 2:
        raise WindowError("err.windows_day_range", value=word[:20])
    first, last = idx
    span = (last - first) % 7
    return tuple((first + i) % 7 for i in range(span + 1))


def _with_times(days: tuple[int, ...], word: str, entry: str) -> Window:
    if word.count("-") != 1:
        raise WindowError("err.windows_time_range", value=word[:20])
    a, b = word.split("-")
    start, end = _parse_time(a), _parse_time(b)
    if start == end and b in ("24", "24:00") and a not in ("24", "24:00"):
        return Window(days, None, None)  # `mon 00:00-24:00`: the whole of Monday
    if start == end:
        raise WindowError("err.windows_same", value=word[:20])
    return Window(days, start, end)


def _parse_time(word: str) -> time:
    m = _TIME.match(word)
    if m:
        hour, minute = int(m.group(1)), int(m.group(2) or 0)
        if word in ("24", "24:00"):
            return time(0, 0)
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise WindowError("err.windows_time", value=word[:10])


def _describe_days(days: tuple[int, ...]) -> str:
    if len(days) == 7:
        return "daily"
    if len(days) > 1 and all((days[i] + 1) % 7 == days[i + 1] for i in range(len(days) - 1)):
        return f"{DAYS[days[0]]}-{DAYS[days[-1]]}"
    return "/".join(DAYS[d] for d in days)


def describe(windows: list[Window]) -> str:
    return ", ".join(w.describe() for w in windows)


def inside(windows: list[Window], tz: str, instant: datetime) -> bool:
    local = instant.astimezone(zone(tz))
    return any(w.contains(local) for w in windows)


def inside_text(text: str, tz: str, instant: datetime) -> bool:
    """For stored windows (already validated when set)."""
    windows = _stored(text)
    return bool(windows) and inside(list(windows), tz, instant)


@lru_cache(maxsize=4096)
def _stored(text: str) -> tuple[Window, ...]:
    # Stored windows are re-read at every wave for every member: parse each text once.
    if not text:
        return ()
    try:
        return tuple(parse_windows(text))
    except WindowError:
        return ()
