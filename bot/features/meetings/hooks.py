"""`circle info` shows the next meeting; a member's reminder-DM choice goes when they leave or
are forgotten, and export shows it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.context import Ctx
from bot.features.meetings import service as s
from bot.features.meetings.feature import feature
from bot.features.meetings.models import Meeting, MeetingDm
from storage.models import Circle, Member, Person


@feature.circle_info
async def _info(ctx: Ctx) -> list[str]:
    circle = ctx.circle
    assert circle is not None
    found = await s.meetings_of(ctx, circle.id)
    if not found:
        return [ctx.t("circle.info_next_meeting_none")]
    m = found[0]
    return [ctx.t("meeting.info_next", time=s.when(ctx.texts, m.next_at, circle.timezone),
                  tz=circle.timezone, name=s.shown(ctx.texts, m.name))]


@feature.housekeeping
async def _keep_planned(ctx: Ctx) -> None:
    """Settings changed since an occurrence was planned: a new timezone moves the next meeting
    to the rule's wall-clock time there; new reminder times get their timers (the old ones
    stand down when they fire). Timer keys make this a no-op when nothing changed."""
    rows = (await ctx.session.execute(
        select(Meeting, Circle).join(Circle, Circle.id == Meeting.circle_id)
        .where(Meeting.next_at > ctx.now).order_by(Meeting.id))).all()
    for meeting, circle in rows:
        if not s.keeps_its_time(meeting, circle):
            moved = s.following(meeting, circle, ctx.now)
            if moved is not None and moved != meeting.next_at:
                await s.unplan(ctx, meeting, circle)
                await s.plan(ctx, meeting, circle, moved)
                continue
        await s.plan(ctx, meeting, circle, meeting.next_at)


feature.member_rows(MeetingDm.member_id)


@feature.export_person
async def _export(ctx: Ctx, person: Person) -> dict[str, Any]:
    rows = (await ctx.session.execute(
        select(Circle.name).join(Member, Member.circle_id == Circle.id)
        .join(MeetingDm, MeetingDm.member_id == Member.id)
        .where(Member.person_id == person.id))).scalars().all()
    return {"meeting_reminders_by_dm": list(rows)} if rows else {}
