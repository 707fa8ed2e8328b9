"""Who is paged next: a pure function over what was loaded, so the rule can be read and
tested on its own. Least recently paged first, then fewest claims in the last 30 days, then
a tie-break seeded by the request (its requester and the instant it opened: known before it
is stored, so a `call` writes its request once, with its first wave); a replay picks the same
people."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from bot.features.availability.windows import inside_text


@dataclass(frozen=True)
class Candidate:
    member_id: int
    person_id: int
    windows: str
    timezone: str
    accept_emergency: bool
    snoozed_until: datetime | None = None
    dm_closed: bool = False
    last_paged: datetime | None = None
    pages_last_15_minutes: int = 0
    pages_last_night: int = 0
    claims_30_days: int = 0
    is_mentor: bool = False  # the requester's mentor: asked first when reachable


@dataclass(frozen=True)
class Limits:
    pages_per_15_minutes: int
    pages_per_night: int


def rank(candidates: list[Candidate], *, seed: str, requester_member_id: int | None,
         already_paged: set[int], now: datetime, limits: Limits,
         emergency: bool) -> list[Candidate]:
    """Reachable candidates in paging order. A regular wave takes those inside one of their
    windows now; the emergency wave those outside their windows who accept emergency pages."""
    found: list[tuple[tuple[object, ...], Candidate]] = []
    for c in candidates:
        if c.member_id == requester_member_id or c.member_id in already_paged or c.dm_closed:
            continue
        if c.snoozed_until is not None and c.snoozed_until > now:
            continue
        in_window = inside_text(c.windows, c.timezone, now)
        if emergency and (in_window or not c.accept_emergency):
            continue
        if not emergency and not in_window:
            continue
        if (c.pages_last_15_minutes >= limits.pages_per_15_minutes
                or c.pages_last_night >= limits.pages_per_night):
            continue
        tie = hashlib.sha256(f"{seed}:{c.member_id}".encode()).hexdigest()
        order = (not c.is_mentor, c.last_paged is not None, c.last_paged or now,
                 c.claims_30_days, tie)
        found.append((order, c))
    found.sort(key=lambda item: item[0])  # type: ignore[arg-type,return-value]
    return [c for _, c in found]
