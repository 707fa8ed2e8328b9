"""Finding the member an `@name` means in a circle: a platform id (`@nina`, a Matrix user id,
a Discord mention), else a display name that only one member has."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from bot.context import Ctx
from storage.models import Circle, Member, Person

_DISCORD = re.compile(r"^<@!?(\d+)>$")


async def find_member(ctx: Ctx, circle: Circle, word: str) -> tuple[Member, Person] | None:
    raw = word.strip()
    ids = {raw, raw.removeprefix("@")}
    found = _DISCORD.match(raw)
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
