"""Lookups every feature shares: people, circles by room, membership, stewardship."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.refs import UserRef
from storage.models import Circle, Member, Person


async def person_for(session: AsyncSession, user: UserRef, now: datetime) -> Person:
    person = (await session.execute(
        select(Person).where(Person.platform == user.platform,
                             Person.platform_user_id == user.id)
    )).scalar_one_or_none()
    if person is None:
        person = Person(platform=user.platform, platform_user_id=user.id,
                        display_name=user.display_name or user.id, created_at=now)
        session.add(person)
        await session.flush()
    elif user.display_name and person.display_name != user.display_name:
        person.display_name = user.display_name
    return person


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
