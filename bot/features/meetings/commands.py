"""`meeting schedule|next|list|cancel next|clear` and `meeting remind on|off`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import delete

from bot.commands import NAME_LIMIT, Arg, Kind, Who
from bot.context import Ctx, UserError
from bot.features.meetings import service as s
from bot.features.meetings.feature import feature
from bot.features.meetings.models import Meeting, MeetingDm
from bot.features.meetings.rules import FORMS, anchor_of, next_start, parse_rule
from bot.membership import lock_circle
from bot.texts import LANGUAGES, Texts
from bot.timezones import zone

MAX_MEETINGS = 10
_NAME = Arg("name", Kind.TEXT, max_len=40, named_only=True, help="arg.meeting.name")


def _normal(name: str | None) -> str:
    """The stored form of a name a steward wrote; the unnamed meeting's name in any language
    (`name:reunión`) is that meeting."""
    name = " ".join((name or "").lower().split())
    defaults = {Texts(lang)("meeting.default_name").lower() for lang in LANGUAGES}
    return s.DEFAULT_NAME if name in defaults else name


def _forms(ctx: Ctx, timezone: str) -> str:
    """The accepted forms; the `once` example a fortnight ahead, so it is never itself past."""
    ahead = (ctx.now.astimezone(zone(timezone)) + timedelta(days=14)).date().isoformat()
    return "; ".join(f"once {ahead} 18:00" if f.startswith("once ") else f for f in FORMS)


@feature.command("meeting schedule",
                 Arg("rule", Kind.REST, required=True, max_len=60, help="arg.meeting.rule"),
                 _NAME, who=Who.STEWARD)
async def schedule(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    rule = parse_rule(args["rule"])
    if rule is None:
        raise UserError(ctx.t("err.meeting_rule", value=args["rule"][:60],
                              forms=_forms(ctx, circle.timezone)))
    name = _normal(args["name"]) or s.DEFAULT_NAME
    await lock_circle(ctx, circle.id)  # two stewards naming two meetings alike: one after the other
    existing = await s.meetings_of(ctx, circle.id)
    if any(m.name == name for m in existing):
        raise UserError(ctx.t("err.meeting_name_taken", name=s.shown(ctx.texts, name)))
    if len(existing) >= MAX_MEETINGS:
        raise UserError(ctx.t("err.meeting_too_many", most=MAX_MEETINGS))
    first = next_start(rule, circle.timezone, ctx.now)
    if first is None:
        raise UserError(ctx.t("err.meeting_past", rule=rule.text, tz=circle.timezone))
    meeting = Meeting(circle_id=circle.id, name=name, rule=rule.text,
                      anchor=anchor_of(rule, first, circle.timezone), next_at=first,
                      created_at=ctx.now)
    ctx.session.add(meeting)
    await s.plan(ctx, meeting, circle, first)
    key = "meeting.scheduled" if s.offset_minutes(ctx, circle) else "meeting.scheduled_no_reminders"
    before = ", ".join(p.strip() for p in ctx.section(s.MeetingSettings, circle).remind_before
                       .split(","))
    return ctx.t(key, name=s.shown(ctx.texts, name), rule=rule.text, before=before,
                 tz=circle.timezone, first=s.when(ctx.texts, first, circle.timezone))


@feature.command("meeting next", who=Who.CIRCLE)
async def next_(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    found = await s.meetings_of(ctx, circle.id)
    if not found:
        return ctx.t("meeting.none")
    m = found[0]
    return ctx.t("meeting.next", name=s.shown(ctx.texts, m.name),
                 time=s.when(ctx.texts, m.next_at, circle.timezone), tz=circle.timezone,
                 rule=m.rule)


@feature.command("meeting list", who=Who.CIRCLE)
async def list_(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    found = await s.meetings_of(ctx, circle.id)
    if not found:
        return ctx.t("meeting.none")
    lines = [ctx.t("meeting.list_head", circle=circle.name, tz=circle.timezone)]
    lines += [ctx.t("meeting.list_line", name=s.shown(ctx.texts, m.name), rule=m.rule,
                    time=s.when(ctx.texts, m.next_at, circle.timezone)) for m in found]
    if s.offset_minutes(ctx, circle):
        lines.append(ctx.t("meeting.list_reminders",
                           before=ctx.section(s.MeetingSettings, circle).remind_before))
    else:
        lines.append(ctx.t("meeting.list_no_reminders"))
    return "\n".join(lines)


async def _pick(ctx: Ctx, name: str | None) -> list[Meeting]:
    assert ctx.circle is not None
    found = await s.meetings_of(ctx, ctx.circle.id)
    if not found:
        raise UserError(ctx.t("meeting.none"))
    wanted = _normal(name)
    if not wanted:
        return found
    chosen = [m for m in found if m.name == wanted]
    if not chosen:
        raise UserError(ctx.t("err.meeting_unknown", name=wanted[:40],
                              names=", ".join(s.shown(ctx.texts, m.name) for m in found)))
    return chosen


@feature.command("meeting cancel",
                 Arg("which", Kind.CHOICE, choices=("next",), required=True,
                     help="arg.meeting.which"), _NAME, who=Who.STEWARD)
async def cancel_next(ctx: Ctx, args: dict[str, Any]) -> str:
    """One occurrence: the soonest (of the named meeting); the schedule goes on."""
    circle = ctx.circle
    assert circle is not None
    await lock_circle(ctx, circle.id)
    meeting = (await _pick(ctx, args["name"]))[0]
    cancelled = meeting.next_at
    await s.unplan(ctx, meeting, circle)
    t = ctx.circle_texts(circle)
    nxt = s.following(meeting, circle, cancelled)
    name = s.title(t, meeting, circle)
    if nxt is None:
        await ctx.session.delete(meeting)
        ctx.post(circle, t("meeting.cancelled_last", name=name,
                           time=s.when(t, cancelled, circle.timezone)))
    else:
        await s.plan(ctx, meeting, circle, nxt)
        ctx.post(circle, t("meeting.cancelled", name=name,
                           time=s.when(t, cancelled, circle.timezone),
                           next=s.when(t, nxt, circle.timezone)))
    return ctx.t("meeting.cancel_done", time=s.when(ctx.texts, cancelled, circle.timezone))


@feature.command("meeting clear", Arg("name", Kind.TEXT, max_len=NAME_LIMIT,
                                      help="arg.meeting.clear_name"), who=Who.STEWARD)
async def clear(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    await lock_circle(ctx, circle.id)
    chosen = await _pick(ctx, args["name"])
    for meeting in chosen:
        await s.unplan(ctx, meeting, circle)
        await ctx.session.delete(meeting)
    return ctx.t("meeting.cleared", names=", ".join(f"{s.shown(ctx.texts, m.name)} ({m.rule})"
                                                    for m in chosen))


@feature.command("meeting remind", Arg("state", Kind.CHOICE, choices=("on", "off"),
                                       required=True), private=True)
async def remind_dm(ctx: Ctx, args: dict[str, Any]) -> str:
    member = ctx.member
    assert member is not None
    if args["state"] == "on":
        if await ctx.session.get(MeetingDm, member.id) is None:
            ctx.session.add(MeetingDm(member_id=member.id, created_at=ctx.now))
        return ctx.t("meeting.remind_on")
    await ctx.session.execute(delete(MeetingDm).where(MeetingDm.member_id == member.id))
    return ctx.t("meeting.remind_off")
