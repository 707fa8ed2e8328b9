"""What nudges hold about a member goes when they leave or are forgotten; export shows it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.context import Ctx
from bot.features.nudges.feature import feature
from bot.features.nudges.models import NudgePref
from storage.models import Circle, Member, Person

feature.member_rows(NudgePref.member_id)


@feature.export_person
async def _export(ctx: Ctx, person: Person) -> dict[str, Any]:
    rows = (await ctx.session.execute(
        select(NudgePref, Circle).join(Member, Member.id == NudgePref.member_id)
        .join(Circle, Circle.id == Member.circle_id)
        .where(Member.person_id == person.id))).all()
    return {"nudges": [{"circle": c.name, "on": p.enabled, "quiet_hours": p.quiet,
                        "last_nudged_at": p.nudged_at.isoformat() if p.nudged_at else None}
                       for p, c in rows]} if rows else {}
