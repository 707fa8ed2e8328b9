"""Who serves next: a pure function over what was loaded, so the rule can be read and tested
on its own.

Eligible: a member of the circle, for at least `newcomer_days` when the term starts; not away
(paused) for more than a quarter of the term; did not hold this role the term before (and is
not down for it the term after); holds no other seat during the term; did not pass this very
term. Among the eligible: the lowest service count over the last 12 months, then the one who
served this role longest ago (never first), then a tie-break seeded by circle, role and term,
so a replay picks the same people. Passing (skip, pause, leave) earns no credit, so whoever
passed simply ranks earlier next time."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.features.rotation.terms import overlap


@dataclass(frozen=True)
class Term:
    """One term of one role, or the part of it a seat still covers (a mid-term refill)."""

    circle_id: int
    role_id: int
    number: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Candidate:
    member_id: int
    joined_at: datetime
    pauses: tuple[tuple[datetime, datetime | None], ...] = ()  # (since, until or open-ended)
    service: int = 0  # terms served, serving or promised in the last 12 months, any role
    last_held: datetime | None = None  # when their latest term in this role started
    adjacent: bool = False  # held this role the term before, or holds it the term after
    busy: bool = False  # holds another seat during this term
    passed: bool = False  # passed this very term of this role


def away_too_long(c: Candidate, term: Term) -> bool:
    away = sum((overlap(since, until, term.start, term.end) for since, until in c.pauses),
               timedelta(0))
    return away * 4 > term.end - term.start


def eligible(c: Candidate, term: Term, newcomer_days: int) -> bool:
    return (not (c.adjacent or c.busy or c.passed)
            and c.joined_at + timedelta(days=newcomer_days) <= term.start
            and not away_too_long(c, term))


def seed(term: Term, member_id: int) -> str:
    return hashlib.sha256(
        f"{term.circle_id}:{term.role_id}:{term.number}:{member_id}".encode()).hexdigest()


def rank(candidates: list[Candidate], term: Term, newcomer_days: int) -> list[Candidate]:
    """The eligible, in the order they are asked to serve."""
    found = [c for c in candidates if eligible(c, term, newcomer_days)]
    found.sort(key=lambda c: (c.service, c.last_held is not None,
                              c.last_held or datetime.min.replace(tzinfo=term.start.tzinfo),
                              seed(term, c.member_id)))
    return found


def balance(counts: list[int]) -> float | None:
    """1 − Gini of the service counts: 1.0 when everyone gave the same, towards 0 when one
    person gave it all. Gini is scale-free (it compares shares, not totals) and no single
    person's count can be read back out of it. None with no one to compare, or no service."""
    n, total = len(counts), sum(counts)
    if n == 0 or total == 0:
        return None
    # Sum of |a - b| over all ordered pairs, from the sorted counts in O(n log n): the
    # health picture asks this for every week of a year of a large circle.
    spread = 2 * sum((2 * i - n + 1) * c for i, c in enumerate(sorted(counts)))
    return 1 - spread / (2 * n * total)
