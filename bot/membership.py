"""Lookups every feature shares: people, circles by room, membership, stewardship."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from bot.refs import UserRef
from storage.models import Circle, Member, Person

if TYPE_CHECKING:
    from bot.context import Ctx


@dataclass
class Party:
    """A member with the person behind them: who is on each side of a request or a pairing."""

    member: Member
    person: Person


async def party(ctx: Ctx, member_id: int | None) -> Party | None:
    if member_id is None:
        return None
    member = await ctx.session.get(Member, member_id)
    if member is None:
        return None
    person = await ctx.session.get(Person, member.person_id)
    return Party(member, person) if person is not None else None


async def lock_circle(ctx: Ctx, circle_id: int) -> Circle | None:
    """Hold the circle's row (FOR UPDATE on PostgreSQL; SQLite's writes are serial already):
    two changes to one circle's shared plans at once (meetings, a survey, a rotation and a
    swap) go one after the other, each seeing what the other did."""
    return (await ctx.session.execute(
        select(Circle).where(Circle.id == circle_id).with_for_update())).scalar_one_or_none()


async def parties(ctx: Ctx, member_ids: Iterable[int | None]) -> dict[int, Party]:
    """party() for many members: those the transaction holds already cost nothing, the rest
    come in one read."""
    wanted = {m for m in member_ids if m is not None}
    found: dict[int, Party] = {}
    missing = []
    for member_id in wanted:
        member = ctx.session.identity_map.get(identity_key(Member, member_id))
        person = member and ctx.session.identity_map.get(identity_key(Person, member.person_id))
        if isinstance(member, Member) and isinstance(person, Person):
            found[member_id] = Party(member, person)
        else:
            missing.append(member_id)
    if missing:
        for member, person in (await ctx.session.execute(
                select(Member, Person).join(Person, Person.id == Member.person_id)
                .where(Member.id.in_(missing)))):
            found[member.id] = Party(member, person)
    return found


# Built once: every command runs them (building costs more than SQLite running them).
_PERSON_HELD = (select(Person).where(Person.platform == bindparam("platform"),
                                     Person.platform_user_id == bindparam("user"))
                .with_for_update().execution_options(populate_existing=True))
# Held like _PERSON_HELD (only the person's row: FOR UPDATE cannot take an outer join's side).
_PERSON_MEMBERSHIPS = (
    select(Person, Circle, Member)
    .outerjoin(Member, Member.person_id == Person.id)
    .outerjoin(Circle, Circle.id == Member.circle_id)
    .where(Person.platform == bindparam("platform"), Person.platform_user_id == bindparam("user"))
    .order_by(Circle.id).with_for_update(of=Person)
    .execution_options(populate_existing=True))


async def person_for(session: AsyncSession, user: UserRef, now: datetime) -> Person:
    """The person behind a platform account, created on first sight, and held for the rest
    of the transaction (FOR UPDATE on PostgreSQL): one person's commands run one after the
    other across processes, so rules about one person (one active request, daily caps) hold
    when several arrive at the same instant. Creating is an INSERT ... ON CONFLICT DO NOTHING,
    so two first commands at once both find the one row."""
    who = {"platform": user.platform, "user": user.id}
    person = (await session.execute(_PERSON_HELD, who)).scalar_one_or_none()
    if person is None:  # first sight (one read, not two, for everyone else)
        person = await _first_sight(session, user, now)
    _renamed(person, user)
    return person


async def person_and_memberships(session: AsyncSession, user: UserRef, now: datetime
                                 ) -> tuple[Person, list[tuple[Circle, Member]]]:
    """person_for, and the person's circles with their memberships in circle order, in one
    read: what every command in a DM needs first (a `call` at 4am among them, issue 18)."""
    rows = (await session.execute(
        _PERSON_MEMBERSHIPS, {"platform": user.platform, "user": user.id})).all()
    if not rows:
        person = await _first_sight(session, user, now)
        _renamed(person, user)
        return person, []
    person = rows[0][0]
    _renamed(person, user)
    return person, [(c, m) for _, c, m in rows if m is not None]


async def _first_sight(session: AsyncSession, user: UserRef, now: datetime) -> Person:
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(Person).values(platform=user.platform, platform_user_id=user.id,
                              display_name=user.display_name or user.id, created_at=now)
        .on_conflict_do_nothing(index_elements=["platform", "platform_user_id"]))
    return (await session.execute(
        _PERSON_HELD, {"platform": user.platform, "user": user.id})).scalar_one()


def _renamed(person: Person, user: UserRef) -> None:
    if user.display_name and person.display_name != user.display_name:
        person.display_name = user.display_name


async def circle_for_room(session: AsyncSession, platform: str, room_id: str) -> Circle | None:
    return (await session.execute(
        select(Circle).where(Circle.platform == platform, Circle.room_id == room_id)
    )).scalar_one_or_none()


async def circles_of(session: AsyncSession, person: Person) -> list[Circle]:
    return list((await session.execute(
        select(Circle).join(Member, Member.circle_id == Circle.id)
        .where(Member.person_id == person.id).order_by(Circle.id)
    )).scalars())


async def member_of(session: AsyncSession, circle: Circle, person: Person) -> Member | None:
    return (await session.execute(
        select(Member).where(Member.circle_id == circle.id, Member.person_id == person.id)
    )).scalar_one_or_none()


async def member_count(session: AsyncSession, circle: Circle) -> int:
    return int((await session.execute(
        select(func.count()).select_from(Member).where(Member.circle_id == circle.id)
    )).scalar_one())


async def stewards(session: AsyncSession, circle: Circle) -> list[Person]:
    """Until rotation assigns the steward role, the founder is the circle's steward."""
    if circle.founder_person_id is None:
        return []
    founder = await session.get(Person, circle.founder_person_id)
    if founder is None or await member_of(session, circle, founder) is None:
        return []
    return [founder]


async def is_steward(session: AsyncSession, circle: Circle, person: Person,
                     room_admin: bool) -> bool:
    if room_admin:
        return True
    return any(p.id == person.id for p in await stewards(session, circle))


_DISCORD_MENTION = re.compile(r"^<@!?(\d+)>$")


async def find_member(ctx: Ctx, circle: Circle, word: str) -> tuple[Member, Person] | None:
    """The member an `@name` means in a circle: a platform id (`@nina`, a Matrix user id, a
    Discord mention), else a display name that only one member has."""
    raw = word.strip()
    ids = {raw, raw.removeprefix("@")}
    found = _DISCORD_MENTION.match(raw)
    if found:
        ids.add(found.group(1))
    base = (select(Member, Person).join(Person, Person.id == Member.person_id)
            .where(Member.circle_id == circle.id))
    row = (await ctx.session.execute(
        base.where(Person.platform == circle.platform,
                   Person.platform_user_id.in_(sorted(ids))))).first()
    if row is None:
        name = raw.removeprefix("@").strip().lower()
        rows = (await ctx.session.execute(
            base.where(func.lower(Person.display_name) == name).limit(2))).all()
        row = rows[0] if len(rows) == 1 else None
    return (row[0], row[1]) if row is not None else None
