"""Who is asked to mentor: a pure function over what was loaded, so the rule can be read and
tested on its own.

Only members who offer, are not paused, have room (capacity above their current mentees),
can be reached by DM, are not the requester, were not asked for this request already, and
never passed on this person or shared a pairing with them, are candidates. Among those, in
this order, because this is the order a person matching by hand would weigh them:
1. more shared tags (a language or a lived experience is what the requester asked for);
2. time together: weekly hours when both are awake or available, in two bands (at least
   two hours a day on average, or some), since a mentor at the other end of the day cannot be
   reached;
3. fewer current mentees (no gurus: the load is spread);
4. more room left;
5. a tie-break seeded by the request id, so a replay asks the same people.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from bot.features.availability.windows import inside_text

# A member who never said when they are around: waking hours in their own timezone.
DEFAULT_WINDOWS = "daily 08:00-22:00"
SLOT = timedelta(minutes=30)
WEEK_SLOTS = 7 * 24 * 2
GOOD_OVERLAP_HOURS = 14  # two hours a day on average


@dataclass(frozen=True)
class Schedule:
    windows: str
    timezone: str


@dataclass(frozen=True)
class MentorCandidate:
    member_id: int
    capacity: int
    mentees: int  # current pairings as mentor
    tags: frozenset[str]
    schedule: Schedule
    dm_closed: bool = False

    @property
    def room_left(self) -> int:
        return self.capacity - self.mentees


@dataclass(frozen=True)
class Ranked:
    candidate: MentorCandidate
    shared_tags: tuple[str, ...]
    overlap_hours: float


def week_start(now: datetime) -> datetime:
    """Monday 00:00 UTC of the week of `now`: one reference week per request round."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day - timedelta(days=day.weekday())


@lru_cache(maxsize=1024)
def _slots(windows: str, timezone: str, start: datetime) -> frozenset[int]:
    text = windows or DEFAULT_WINDOWS
    return frozenset(i for i in range(WEEK_SLOTS)
                     if inside_text(text, timezone, start + SLOT * i + SLOT / 2))


def overlap_hours(a: Schedule, b: Schedule, now: datetime) -> float:
    start = week_start(now)
    shared = _slots(a.windows, a.timezone, start) & _slots(b.windows, b.timezone, start)
    return len(shared) * SLOT.total_seconds() / 3600


def _band(hours: float) -> int:
    return 2 if hours >= GOOD_OVERLAP_HOURS else 1 if hours > 0 else 0


def rank(candidates: list[MentorCandidate], *, request_id: int, requester_member_id: int | None,
         tags: list[str], schedule: Schedule, excluded: set[int], now: datetime
         ) -> list[Ranked]:
    """Candidates who may be asked, best first (see the module's rules)."""
    wanted = set(tags)
    found: list[tuple[tuple[object, ...], Ranked]] = []
    for c in candidates:
        if (c.member_id == requester_member_id or c.member_id in excluded or c.dm_closed
                or c.room_left <= 0):
            continue
        shared = tuple(t for t in tags if t in c.tags)
        hours = overlap_hours(schedule, c.schedule, now)
        seed = hashlib.sha256(f"{request_id}:{c.member_id}".encode()).hexdigest()
        order = (-len(wanted & c.tags), -_band(hours), c.mentees, -c.room_left, seed)
        found.append((order, Ranked(c, shared, hours)))
    found.sort(key=lambda item: item[0])  # type: ignore[arg-type,return-value]
    return [r for _, r in found]
