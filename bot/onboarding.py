"""Onboarding: a welcome DM on join, gentle follow-ups on day 3 and day 7 (timers)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.context import Ctx, Registry
from storage.models import Circle, Member, Person

handlers = Registry()

FOLLOWUP_DAYS = (3, 7)


def _key(member: Member, day: int) -> str:
    return f"onboarding:{member.id}:day{day}"


async def start_onboarding(ctx: Ctx, circle: Circle, member: Member, person: Person) -> None:
    from bot.circles import pact_text

    t = ctx.texts_for(person, circle)
    ctx.dm(person, t("onboarding.welcome", name=circle.name, pact=pact_text(ctx, circle)))
    if ctx.settings_of(circle).followups:
        for day in FOLLOWUP_DAYS:
            await ctx.schedule("onboarding.followup", member.joined_at + timedelta(days=day),
                               _key(member, day), {"member_id": member.id, "day": day})


async def cancel_onboarding(ctx: Ctx, member: Member) -> None:
    await ctx.cancel_timers(*(_key(member, day) for day in FOLLOWUP_DAYS))


@handlers.timer("onboarding.followup")
async def followup(ctx: Ctx, payload: dict[str, Any]) -> None:
    member = await ctx.session.get(Member, payload["member_id"])
    if member is None or not member.followups:
        return  # left the circle, or said no thanks
    circle = await ctx.session.get(Circle, member.circle_id)
    person = await ctx.session.get(Person, member.person_id)
    if circle is None or person is None or not ctx.settings_of(circle).followups:
        return
    t = ctx.texts_for(person, circle)
    ctx.dm(person, t(f"onboarding.day{payload['day']}", name=circle.name))


@handlers.command("followups")
async def followups(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.member is not None and ctx.circle is not None
    ctx.member.followups = args["state"] == "on"
    return ctx.t("onboarding.followups_" + args["state"], name=ctx.circle.name)
