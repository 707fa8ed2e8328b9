"""A welcome DM on join and follow-ups on day 3 and day 7 (timers); `followups on|off`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.commands import Arg, Kind
from bot.context import Ctx
from bot.feature import Feature
from bot.features.circles import pact_text
from bot.features.onboarding.settings import OnboardingSettings
from storage.models import Circle, Member, Person

FOLLOWUP_DAYS = (3, 7)

feature = Feature("onboarding", settings=OnboardingSettings)


@dataclass(frozen=True)
class FollowUp:
    member_id: int
    day: int


def _key(member: Member, day: int) -> str:
    return f"onboarding:{member.id}:day{day}"


@feature.member_joined
async def start_onboarding(ctx: Ctx, member: Member, circle: Circle) -> None:
    person = await ctx.session.get(Person, member.person_id)
    assert person is not None
    t = ctx.texts_for(person, circle)
    ctx.dm(person, t("onboarding.welcome", name=circle.name, pact=pact_text(ctx, circle)))
    if ctx.section(OnboardingSettings, circle).followups:
        for day in FOLLOWUP_DAYS:
            await ctx.schedule(FollowUp(member.id, day), member.joined_at + timedelta(days=day),
                               _key(member, day))


@feature.member_left
async def cancel_onboarding(ctx: Ctx, member: Member, circle: Circle) -> None:
    await ctx.cancel_timers(*(_key(member, day) for day in FOLLOWUP_DAYS))


@feature.timer("onboarding.followup", FollowUp, together=True)
async def followups_due(due: list[tuple[Ctx, FollowUp]]) -> None:
    # One read for all of a claim's: after downtime thousands of these fire in one pass.
    session = due[0][0].session
    found = {member.id: (member, circle, person) for member, circle, person in (
        await session.execute(
            select(Member, Circle, Person).join(Circle, Circle.id == Member.circle_id)
            .join(Person, Person.id == Member.person_id)
            .where(Member.id.in_({p.member_id for _, p in due}))))}
    for ctx, payload in due:
        if payload.member_id not in found:
            continue  # left the circle
        member, circle, person = found[payload.member_id]
        if not member.followups or not ctx.section(OnboardingSettings, circle).followups:
            continue  # said no thanks
        t = ctx.texts_for(person, circle)
        ctx.dm(person, t(f"onboarding.day{payload.day}", name=circle.name))


@feature.command("followups", Arg("state", Kind.CHOICE, choices=("on", "off"), required=True))
async def followups(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.member is not None and ctx.circle is not None
    ctx.member.followups = args["state"] == "on"
    return ctx.t("onboarding.followups_" + args["state"], name=ctx.circle.name)
