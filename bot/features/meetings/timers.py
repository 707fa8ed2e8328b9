"""The meeting timers: reminders, the start post, a member's reminder DM held past their quiet
hours. Each does its work only while the meeting still expects its occurrence, so nothing
fires twice; one that fires late (the bot was down) goes out once, marked late, while still
useful, and is otherwise dropped with a log line."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select

from bot.context import Ctx
from bot.features.meetings import service as s
from bot.features.meetings.feature import feature
from bot.features.meetings.models import Meeting, MeetingDm
from bot.features.meetings.payloads import MeetingDmLater, MeetingReminder, MeetingStart
from bot.features.nudges import waking_at
from bot.features.rotation import pauses_until
from bot.membership import party
from storage.models import Circle, Member

log = logging.getLogger(__name__)


async def _current(ctx: Ctx, meeting_id: int, at: str) -> tuple[Meeting, Circle, datetime] | None:
    meeting = await ctx.session.get(Meeting, meeting_id)
    start = datetime.fromisoformat(at)
    if meeting is None or meeting.next_at != start:
        return None  # cleared, cancelled or moved on: not this occurrence any more
    circle = await ctx.session.get(Circle, meeting.circle_id)
    return (meeting, circle, start) if circle is not None else None


def _late(ctx: Ctx) -> bool:
    return ctx.timer_due is not None and ctx.now - ctx.timer_due > s.ON_TIME


@feature.timer("meetings.start", MeetingStart)
async def start(ctx: Ctx, p: MeetingStart) -> None:
    found = await _current(ctx, p.meeting_id, p.at)
    if found is None:
        return
    meeting, circle, at = found
    if ctx.now - at <= s.START_USEFUL:
        ctx.post(circle, await s.start_text(ctx, meeting, circle, at, late=_late(ctx)),
                 label=f"start:{meeting.id}:{p.at}")
    else:
        log.info("meeting %s: the start post of %s was dropped (the bot was down)",
                 meeting.id, p.at)
    # The next occurrence after this one that is still ahead: never one per missed week.
    nxt = s.following(meeting, circle, max(at, ctx.now))
    if nxt is None:
        await ctx.session.delete(meeting)  # a `once` meeting is over
        return
    await s.plan(ctx, meeting, circle, nxt)


@feature.timer("meetings.remind", MeetingReminder)
async def remind(ctx: Ctx, p: MeetingReminder) -> None:
    found = await _current(ctx, p.meeting_id, p.at)
    if found is None:
        return
    meeting, circle, at = found
    if p.minutes not in s.offset_minutes(ctx, circle):
        return  # the circle changed remind_before since this was planned
    if ctx.now >= at:
        log.info("meeting %s: the %d-minute reminder for %s was dropped (the bot was down)",
                 meeting.id, p.minutes, p.at)
        return
    t = ctx.circle_texts(circle)
    late = _late(ctx)
    text = s.reminder_text(t, meeting, circle, at, ctx.now, p.minutes, late)
    ctx.post(circle, text, label=f"remind:{meeting.id}:{p.at}:{p.minutes}", expires_at=at)
    # Members who asked for it get it by DM too: not while paused, not in their quiet hours.
    rows = (await ctx.session.execute(
        select(MeetingDm.member_id).join(Member, Member.id == MeetingDm.member_id)
        .where(Member.circle_id == circle.id).order_by(MeetingDm.member_id))).scalars().all()
    paused = await pauses_until(ctx.session, list(rows), ctx.now)
    for member_id in rows:
        if member_id in paused:
            continue
        when, _ = await waking_at(ctx.session, member_id, circle, ctx.now)
        if when >= at:
            continue  # quiet until the meeting starts: the room post is enough
        later = MeetingDmLater(meeting.id, p.at, p.minutes, member_id)
        if when > ctx.now:
            await ctx.schedule(later, when,
                               f"{s.remind_key(meeting.id, at, p.minutes)}:dm:{member_id}")
        else:
            await _dm(ctx, meeting, circle, at, later, late)


@feature.timer("meetings.dm_later", MeetingDmLater)
async def dm_later(ctx: Ctx, p: MeetingDmLater) -> None:
    found = await _current(ctx, p.meeting_id, p.at)
    if found is None:
        return
    meeting, circle, at = found
    if ctx.now >= at or await ctx.session.get(MeetingDm, p.member_id) is None:
        return
    if p.member_id in await pauses_until(ctx.session, [p.member_id], ctx.now):
        return
    when, _ = await waking_at(ctx.session, p.member_id, circle, ctx.now)
    if when > ctx.now:  # fired late, into the next quiet hours: try once more after them
        if when < at:
            await ctx.schedule(p, when, f"{s.remind_key(meeting.id, at, p.minutes)}:dm:"
                                        f"{p.member_id}:{when.isoformat()}")
        return
    await _dm(ctx, meeting, circle, at, p, late=False)


async def _dm(ctx: Ctx, meeting: Meeting, circle: Circle, at: datetime, p: MeetingDmLater,
              late: bool) -> None:
    who = await party(ctx, p.member_id)
    if who is None:
        return
    t = ctx.texts_for(who.person, circle)
    _, quiet_from = await waking_at(ctx.session, p.member_id, circle, ctx.now)
    # Held past quiet hours or fired late, it says how long is really left.
    minutes = p.minutes if not late and ctx.now == ctx.timer_due else -1
    text = s.reminder_text(t, meeting, circle, at, ctx.now, minutes, late)
    ctx.dm(who.person, text, label=f"dm:{meeting.id}:{p.at}:{p.minutes}:{p.member_id}",
           expires_at=min(at, quiet_from))
