"""Reading a console circle's service history straight from the database, for rotation tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from adapters.console import ConsoleSession
from bot.clock import FakeClock
from bot.features.rotation.models import RotationRole, RotationSeat
from storage.models import Member, Person


@dataclass(frozen=True)
class Seat:
    role: str
    term: int
    state: str
    who: str | None  # the console name, None when open or unlinked
    filled: bool
    starts_at: datetime
    ends_at: datetime


# Six members, weekly terms, no newcomer wait (the clock starts on a Sunday): the first holders
# serve from Monday 09:00 in Berlin. Tests add the role line they need.
NAMES = ("alice", "bob", "carol", "dave", "erin", "finn")
SIX_WEEKLY = """
@alice> circle setup name:Riverbend timezone:Europe/Berlin
@alice> circle settings newcomer_days:0 period:1w
@bob> join
@carol> join
@dave> join
@erin> join
@finn> join
"""


async def seats(console: ConsoleSession) -> list[Seat]:
    assert console.core is not None
    async with console.core.db.transaction() as s:
        rows = (await s.execute(
            select(RotationSeat, Person.platform_user_id)
            .outerjoin(Member, Member.id == RotationSeat.member_id)
            .outerjoin(Person, Person.id == Member.person_id)
            .order_by(RotationSeat.term, RotationSeat.role_id, RotationSeat.seat,
                      RotationSeat.id))).all()
    return [Seat(x.role_name, x.term, x.state, who, x.filled, x.starts_at, x.ends_at)
            for x, who in rows]


async def holding(console: ConsoleSession, state: str = "serving") -> dict[str, list[str | None]]:
    """Role name -> who holds its seats in this phase (serving now, or planned next)."""
    found: dict[str, list[str | None]] = {}
    for x in await seats(console):
        if x.state == state:
            found.setdefault(x.role, []).append(x.who)
    return found


async def role_terms(console: ConsoleSession) -> dict[str, int]:
    assert console.core is not None
    async with console.core.db.transaction() as s:
        return {r.name: r.term for r in (await s.execute(select(RotationRole))).scalars()}


async def next_boundary(console: ConsoleSession) -> datetime:
    assert console.core is not None
    async with console.core.db.transaction() as s:
        ends = (await s.execute(select(RotationRole.term_end))).scalars().all()
    return min(ends)


async def jump(console: ConsoleSession, instant: datetime) -> list[str]:
    """Set the clock to an instant and fire what is due then, once: a week of hourly
    housekeeping becomes one sweep, so a test can cover months in seconds."""
    assert isinstance(console.clock, FakeClock)
    console.clock.set(instant)
    await console.settle()
    return console.take()


async def person_names_by_member(console: ConsoleSession) -> dict[int, str]:
    assert console.core is not None
    async with console.core.db.transaction() as s:
        rows = (await s.execute(select(Member.id, Person.platform_user_id)
                                .join(Person, Person.id == Member.person_id))).all()
    return {mid: name for mid, name in rows}


async def swappable_pair(console: ConsoleSession, state: str = "serving") -> tuple[str, str]:
    """Two holders (in this phase) whose swap the rule allows: neither would then hold a role
    the term before or after holding it."""
    history = await seats(console)
    phase = [x for x in history if x.state == state and x.who]

    def held(who: str, role: str, term: int) -> bool:
        return any(x.who == who and x.role == role and x.term == term
                   and x.state in ("serving", "served", "planned") for x in history)

    for a in phase:
        for b in phase:
            if a.role == b.role or a.who is None or b.who is None:
                continue
            if not any(held(a.who, b.role, n) or held(b.who, a.role, n)
                       for n in (b.term - 1, b.term + 1, a.term - 1, a.term + 1)):
                return a.who, b.who
    raise AssertionError("no two holders may swap")
