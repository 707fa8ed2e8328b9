"""Small lookups other features use (the lifeline pages a mentee's mentor first; a mentor-only
check-in goes to the current mentor). Kept free of the rest of the package."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.features.mentorship.models import MentorPairing
from storage.models import Member, Person


async def current_mentor_member_id(session: AsyncSession,
                                   mentee_member_id: int | None) -> int | None:
    """The member id of this member's current mentor, if they have one."""
    if mentee_member_id is None:
        return None
    return (await current_mentor_member_ids(session, [mentee_member_id])).get(mentee_member_id)


_MENTORS = select(MentorPairing.mentee_member_id, MentorPairing.mentor_member_id).where(
    MentorPairing.mentee_member_id.in_(bindparam("mentees", expanding=True)),
    MentorPairing.ended_at.is_(None), MentorPairing.mentor_member_id.is_not(None))


async def current_mentor_member_ids(session: AsyncSession | AsyncConnection,
                                    mentee_member_ids: Iterable[int | None]) -> dict[int, int]:
    """current_mentor_member_id for many mentees at once: mentee member id -> mentor's. On a
    connection it skips the ORM (and its autoflush): a lifeline wave, which changes no
    pairing, reads it so (issue 18)."""
    ids = {m for m in mentee_member_ids if m is not None}
    if not ids:
        return {}
    return {mentee: mentor for mentee, mentor in (await session.execute(
        _MENTORS, {"mentees": list(ids)}))}


async def current_mentor(session: AsyncSession,
                         mentee: Member) -> tuple[Member, Person] | None:
    found = await current_mentor_member_id(session, mentee.id)
    if found is None:
        return None
    row = (await session.execute(
        select(Member, Person).join(Person, Person.id == Member.person_id)
        .where(Member.id == found))).first()
    return (row[0], row[1]) if row is not None else None
