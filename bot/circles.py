"""Circles and membership: setup, info, settings, join, leave, pact."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update

from bot.context import Ctx, Registry, UserError
from bot.lifeline import member_leaving
from bot.membership import circle_for_room, member_count, stewards
from bot.onboarding import cancel_onboarding, start_onboarding
from bot.privacy import schedule_retention
from storage.models import Checkin, Circle, Member

handlers = Registry()


@handlers.command("circle setup")
async def circle_setup(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.place is not None and ctx.place.room is not None and ctx.person is not None
    room = ctx.place.room
    existing = await circle_for_room(ctx.session, room.platform, room.id)
    if existing is not None:
        raise UserError(ctx.t("err.circle_exists", name=existing.name))
    circle = Circle(platform=room.platform, room_id=room.id, name=args["name"],
                    timezone=args["timezone"],
                    language=ctx.core.settings.circle_defaults.language,
                    founder_person_id=ctx.person.id, settings={}, created_at=ctx.now)
    ctx.session.add(circle)
    await ctx.session.flush()
    ctx.circle = circle
    member = Member(circle_id=circle.id, person_id=ctx.person.id, joined_at=ctx.now,
                    followups=True)
    ctx.session.add(member)
    await ctx.session.flush()
    await schedule_retention(ctx, circle)
    ct = ctx.circle_texts(circle)
    ctx.post(circle, ct("circle.created_post", name=circle.name, timezone=circle.timezone))
    return ctx.t("circle.created_reply", name=circle.name, timezone=circle.timezone)


@handlers.command("circle info")
async def circle_info(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    count = await member_count(ctx.session, circle)
    names = ", ".join(p.display_name for p in await stewards(ctx.session, circle))
    lines = [
        ctx.t("circle.info_head", name=circle.name, timezone=circle.timezone,
              language=circle.language),
        ctx.t("circle.info_members", count=count),
        ctx.t("circle.info_next_meeting_none"),
        ctx.t("circle.info_steward", names=names or ctx.t("circle.info_steward_room_admins")),
    ]
    return "\n".join(lines)


@handlers.command("circle settings")
async def circle_settings(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    given = {k: v for k, v in args.items() if v is not None and k != "circle"}
    if not given:
        return _describe_settings(ctx, circle)
    overrides = dict(circle.settings or {})
    for key, value in given.items():
        if key == "timezone":
            circle.timezone = value
        elif key == "language":
            circle.language = value
        elif key == "name":
            if not value:
                raise UserError(ctx.t("err.missing_argument", name="name",
                                      usage="circle settings name:\"New name\""))
            circle.name = value
        elif key == "followups":
            overrides["followups"] = value == "on"
        elif key == "step_of_week":
            overrides["step_of_week"] = value or None
        elif key == "crisis_resources":
            entries = [e.strip() for e in value.split(";") if e.strip()]
            if not entries:
                raise UserError(ctx.t("err.crisis_empty"))
            overrides["crisis_resources"] = entries
        else:
            overrides[key] = value
    circle.settings = overrides
    merged = ctx.settings_of(circle)
    if merged.give_up_minutes < merged.wave_minutes:
        raise UserError(ctx.t("err.give_up_before_wave", give_up=merged.give_up_minutes,
                              wave=merged.wave_minutes))
    changed = ", ".join(f"{k}" for k in given)
    return ctx.t("circle.settings_changed", names=changed) + "\n" + _describe_settings(ctx, circle)


def _describe_settings(ctx: Ctx, circle: Circle) -> str:
    s = ctx.settings_of(circle)
    lines = [
        ctx.t("circle.settings_head", name=circle.name),
        f"timezone: {circle.timezone}",
        f"language: {circle.language}",
        f"followups: {'on' if s.followups else 'off'}",
        f"step_of_week: {s.step_of_week or '-'}",
        f"retention_days: {s.retention_days}",
        f"lifeline_note_days: {s.lifeline_note_days}",
        f"wave_size: {s.wave_size}, wave_minutes: {s.wave_minutes}, "
        f"give_up_minutes: {s.give_up_minutes}, connect_minutes: {s.connect_minutes}, "
        f"max_requests_per_day: {s.max_requests_per_day}",
        "crisis_resources: " + "; ".join(s.crisis_resources),
    ]
    return "\n".join(lines)


@handlers.command("join")
async def join(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, person = ctx.circle, ctx.person
    assert circle is not None and person is not None
    if ctx.member is not None:
        return ctx.t("join.already", name=circle.name)
    member = Member(circle_id=circle.id, person_id=person.id, joined_at=ctx.now, followups=True)
    ctx.session.add(member)
    await ctx.session.flush()
    ctx.member = member
    ctx.post(circle, ctx.circle_texts()("join.room_post", name=person.display_name,
                                                 circle=circle.name))
    await start_onboarding(ctx, circle, member, person)
    return ctx.t("join.reply", name=circle.name)


@handlers.command("leave")
async def leave(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member = ctx.circle, ctx.member
    assert circle is not None and member is not None
    # Keep only anonymous aggregates: the day and the mood stay, the author and note go.
    await ctx.session.execute(
        update(Checkin).where(Checkin.member_id == member.id).values(member_id=None, note=None)
    )
    await cancel_onboarding(ctx, member)
    await member_leaving(ctx, member, circle)
    await ctx.session.delete(member)
    ctx.member = None
    return ctx.t("leave.reply", name=circle.name)


@handlers.command("pact show")
async def pact_show(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.circle is not None
    return pact_text(ctx, ctx.circle) + "\n" + ctx.t("pact.accept_hint")


def pact_text(ctx: Ctx, circle: Circle) -> str:
    return circle.pact or ctx.t("pact.default", name=circle.name)


@handlers.command("pact accept")
async def pact_accept(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.member is not None
    if ctx.member.pact_accepted_at is None:
        ctx.member.pact_accepted_at = ctx.now
    return ctx.t("pact.accepted")


@handlers.command("pact edit")
async def pact_edit(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    circle.pact = args["text"]
    ctx.post(circle, ctx.circle_texts()("pact.edited_post"))
    return ctx.t("pact.edited")
