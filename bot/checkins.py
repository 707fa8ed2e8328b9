"""Check-ins and what each member may see of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from bot.context import Ctx, Registry
from storage.models import Checkin, Member, Person

handlers = Registry()


@handlers.command("checkin")
async def checkin(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member, person = ctx.circle, ctx.member, ctx.person
    assert circle is not None and member is not None and person is not None
    visibility: str = args["visibility"]
    anonymous: bool = bool(args["anonymous"])
    note: str | None = args["note"] or None
    mood: int | None = args["mood"]
    ctx.session.add(Checkin(circle_id=circle.id, member_id=member.id, created_at=ctx.now,
                            mood=mood, note=note, visibility=visibility, anonymous=anonymous))
    ctx.extras["sensitive"] = visibility != "circle" or anonymous
    if visibility == "circle":
        ct = ctx.circle_texts()
        who = ct("checkin.someone") if anonymous else person.display_name
        ctx.post(circle, ct("checkin.room_post", who=who, detail=_detail(ct, mood, note)))
        return ctx.t("checkin.reply_circle_anon" if anonymous else "checkin.reply_circle")
    if visibility == "mentor":
        return ctx.t("checkin.reply_mentor")
    return ctx.t("checkin.reply_private")


def _detail(t: Any, mood: int | None, note: str | None) -> str:
    parts = []
    if mood is not None:
        parts.append(t("checkin.mood", mood=mood))
    if note:
        parts.append(note)
    return (": " + " — ".join(parts)) if parts else ""


def visible_to(viewer: Member) -> Any:
    """What a member may see: everything of their own; others' circle-wide check-ins."""
    return or_(Checkin.member_id == viewer.id, Checkin.visibility == "circle")


@handlers.command("checkins")
async def checkins(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member = ctx.circle, ctx.member
    assert circle is not None and member is not None
    tz = ZoneInfo(circle.timezone)
    local_now = ctx.now.astimezone(tz)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight if args["period"] == "today" else midnight - timedelta(days=6)
    rows = (await ctx.session.execute(
        select(Checkin, Person)
        .outerjoin(Member, Member.id == Checkin.member_id)
        .outerjoin(Person, Person.id == Member.person_id)
        .where(Checkin.circle_id == circle.id, Checkin.created_at >= _utc(since),
               visible_to(member))
        .order_by(Checkin.created_at, Checkin.id)
    )).all()
    head = ctx.t("checkins.head_" + args["period"], name=circle.name)
    if not rows:
        return head + "\n" + ctx.t("checkins.none")
    lines = [head]
    for c, author in rows:
        mine = c.member_id == member.id
        if mine:
            who = ctx.t("checkins.you")
        elif c.anonymous or author is None:
            who = ctx.t("checkin.someone")
        else:
            who = author.display_name
        when = c.created_at.astimezone(tz).strftime("%a %H:%M")
        tag = "" if c.visibility == "circle" else f" ({ctx.t('checkins.tag_' + c.visibility)})"
        if mine and c.anonymous and c.visibility == "circle":
            tag += f" ({ctx.t('checkins.tag_anonymous')})"
        lines.append(f"- {when} {who}{_detail(ctx.t, c.mood, c.note)}{tag}")
    return "\n".join(lines)


def _utc(local: datetime) -> datetime:
    from datetime import UTC

    return local.astimezone(UTC)
