"""The one pending check per opted-in member: nudge now, or look again when it could be due.
A check carries its instant; only the one the member's row names is acted on, so turning
nudges off and on again never leaves two chains."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.context import Ctx
from bot.features.checkins.models import Checkin
from bot.features.nudges.feature import NudgeSettings, feature
from bot.features.nudges.models import NudgePref
from bot.features.nudges.quiet import waking_at
from bot.features.rotation import pauses_until
from storage.models import Circle, Member, Person

log = logging.getLogger(__name__)

LOOK_AGAIN = timedelta(days=1)  # after a nudge: how often to look for the check-in that resets


@dataclass(frozen=True)
class NudgeCheck:
    member_id: int
    at: str  # the instant this check was planned for (ISO)


async def plan(ctx: Ctx, pref: NudgePref, at: datetime) -> None:
    """Make `at` the member's one pending check."""
    at = max(at, ctx.now)
    pref.next_check_at = at
    await ctx.schedule(NudgeCheck(pref.member_id, at.isoformat()), at,
                       f"nudge:{pref.member_id}:{at.isoformat()}")


async def last_checkin(ctx: Ctx, member_id: int) -> datetime | None:
    return (await ctx.session.execute(
        select(func.max(Checkin.created_at)).where(Checkin.member_id == member_id))).scalar()


@feature.timer("nudges.check", NudgeCheck)
async def check(ctx: Ctx, p: NudgeCheck) -> None:
    pref = await ctx.session.get(NudgePref, p.member_id)
    if pref is None or not pref.enabled or pref.next_check_at != datetime.fromisoformat(p.at):
        return  # turned off, or a newer check replaced this one
    member = await ctx.session.get(Member, p.member_id)
    circle = await ctx.session.get(Circle, member.circle_id) if member else None
    person = await ctx.session.get(Person, member.person_id) if member else None
    if member is None or circle is None or person is None:
        return
    last = max(pref.since, await last_checkin(ctx, member.id) or pref.since)
    if pref.nudged_at is not None and pref.nudged_at >= last:
        await plan(ctx, pref, ctx.now + LOOK_AGAIN)  # nudged once: not again until a check-in
        return
    due = last + timedelta(days=ctx.section(NudgeSettings, circle).after_days)
    if ctx.now < due:
        await plan(ctx, pref, due)
        return
    paused = (await pauses_until(ctx.session, [member.id], ctx.now)).get(member.id)
    if paused is not None:
        await plan(ctx, pref, min(paused, ctx.now + LOOK_AGAIN))
        return
    when, quiet_from = await waking_at(ctx.session, member.id, circle, ctx.now)
    if when > ctx.now:  # in their quiet hours (also after a late firing): wait for morning
        await plan(ctx, pref, when)
        return
    t = ctx.texts_for(person, circle)
    days = (ctx.now - last).days
    ctx.dm(person, t("nudges.dm", circle=circle.name, days=days),
           label=f"nudge:{member.id}:{p.at}", expires_at=quiet_from)
    pref.nudged_at = ctx.now
    log.info("nudged member %s after %d days", member.id, days)
    await plan(ctx, pref, ctx.now + LOOK_AGAIN)
