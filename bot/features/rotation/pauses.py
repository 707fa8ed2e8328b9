"""Whether a member is paused (on vacation): other features ask here (the lifeline pages no
one who is paused; nudges will not reach them either)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.features.rotation.models import RotationPause

FOREVER = datetime(9999, 12, 31, tzinfo=UTC)  # a pause with no date lasts until `unpause`


def _in_force(now: Any) -> tuple[Any, ...]:
    """A pause row that holds at `now` (an instant or a bound parameter)."""
    return (RotationPause.since <= now,
            or_(RotationPause.until.is_(None), RotationPause.until > now))


_PAUSED = select(RotationPause).where(
    RotationPause.member_id.in_(bindparam("members", expanding=True)),
    *_in_force(bindparam("now")))


async def pauses_until(session: AsyncSession, member_ids: list[int],
                       now: datetime) -> dict[int, datetime]:
    """For each of these members paused now: until when (FOREVER when open-ended)."""
    if not member_ids:
        return {}
    rows = (await session.execute(
        _PAUSED, {"members": list(member_ids), "now": now})).scalars()
    return {p.member_id: p.until or FOREVER for p in rows}


def paused_until(member_id: Any, now: Any) -> Any:
    """pauses_until as a column of another feature's query over members (a correlated
    look-up by primary key): until when `member_id` is paused at `now`, else NULL."""
    return (select(func.coalesce(RotationPause.until, FOREVER))
            .where(RotationPause.member_id == member_id, *_in_force(now))
            .scalar_subquery())


async def is_paused(session: AsyncSession, member_id: int, now: datetime) -> bool:
    return member_id in await pauses_until(session, [member_id], now)
