"""A meeting's occurrences as timers, and what the room and members are told."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.context import Ctx
from bot.features.guidance.settings import GuidanceSettings
from bot.features.meetings.models import Meeting
from bot.features.meetings.payloads import MeetingReminder, MeetingStart
from bot.features.meetings.rules import Rule, next_start, parse_anchor, parse_rule
from bot.features.meetings.settings import MeetingSettings
from bot.features.rotation import steward_assigned
from bot.texts import Texts
from bot.timezones import zone
from storage.models import Circle

DEFAULT_NAME = "meeting"  # stored for a meeting scheduled without name:

# Within this of its time, a reminder or a start post is on time; later it is marked late.
ON_TIME = timedelta(minutes=5)
# A start post later than this (the bot was down through the meeting) is dropped.
START_USEFUL = timedelta(hours=1)


def when(t: Texts, instant: datetime, timezone: str) -> str:
    """Day and month names in the reader's language (`mié 23 dic 19:00`)."""
    return t.when(instant, timezone)


def rule_of(meeting: Meeting) -> Rule:
    rule = parse_rule(meeting.rule)
    assert rule is not None, f"meeting {meeting.id} holds a rule that does not read"
    return rule


def following(meeting: Meeting, circle: Circle, after: datetime) -> datetime | None:
    return next_start(rule_of(meeting), circle.timezone, after, parse_anchor(meeting.anchor))


def start_key(meeting_id: int, at: datetime) -> str:
    return f"meeting:{meeting_id}:{at.isoformat()}:start"


def remind_key(meeting_id: int, at: datetime, minutes: int) -> str:
    return f"meeting:{meeting_id}:{at.isoformat()}:remind:{minutes}"


def offset_minutes(ctx: Ctx, circle: Circle) -> list[int]:
    return [int(o.total_seconds() // 60) for o in ctx.section(MeetingSettings, circle).offsets]


def keeps_its_time(meeting: Meeting, circle: Circle) -> bool:
    """Whether the planned occurrence still reads as the rule's wall-clock time in the circle's
    timezone (a steward may have changed the timezone since)."""
    fields = rule_of(meeting).fields
    local = meeting.next_at.astimezone(zone(circle.timezone))
    return (local.hour, local.minute) == (fields["hour"], fields["minute"])


async def plan(ctx: Ctx, meeting: Meeting, circle: Circle, start: datetime) -> None:
    """Make `start` the meeting's next occurrence: its start timer and each reminder still
    ahead (a reminder whose time has passed already is not written)."""
    meeting.next_at = start
    await ctx.session.flush()
    at = start.isoformat()
    await ctx.schedule(MeetingStart(meeting.id, at), start, start_key(meeting.id, start))
    for offset in ctx.section(MeetingSettings, circle).offsets:
        minutes = int(offset.total_seconds() // 60)
        due = start - offset
        if due > ctx.now:
            await ctx.schedule(MeetingReminder(meeting.id, at, minutes), due,
                               remind_key(meeting.id, start, minutes))


async def unplan(ctx: Ctx, meeting: Meeting, circle: Circle) -> None:
    """Cancel the timers of the meeting's planned occurrence (a stale one would do nothing
    anyway: each checks the meeting still expects its instant)."""
    keys = [start_key(meeting.id, meeting.next_at)]
    keys += [remind_key(meeting.id, meeting.next_at, int(o.total_seconds() // 60))
             for o in ctx.section(MeetingSettings, circle).offsets]
    await ctx.cancel_timers(*keys)


async def meetings_of(ctx: Ctx, circle_id: int) -> list[Meeting]:
    return list((await ctx.session.execute(
        select(Meeting).where(Meeting.circle_id == circle_id)
        .order_by(Meeting.next_at, Meeting.id))).scalars())


def in_how_long(t: Texts, minutes: int) -> str:
    if minutes % (24 * 60) == 0:
        days = minutes // (24 * 60)
        return t("meeting.in_days", n=days) if days != 1 else t("meeting.in_a_day")
    if minutes % 60 == 0:
        hours = minutes // 60
        return t("meeting.in_hours", n=hours) if hours != 1 else t("meeting.in_an_hour")
    return t("meeting.in_minutes", n=minutes)


def reminder_text(t: Texts, meeting: Meeting, circle: Circle, at: datetime, now: datetime,
                  minutes: int, late: bool) -> str:
    """`minutes` before the start, as planned; -1 (or late): what is really left."""
    if late or minutes < 0:
        minutes = max(1, -(-int((at - now).total_seconds()) // 60))
    text = t("meeting.reminder", name=title(t, meeting, circle), soon=in_how_long(t, minutes),
             time=when(t, at, circle.timezone), tz=circle.timezone)
    return t("meeting.late_mark") + " " + text if late else text


def shown(t: Texts, name: str) -> str:
    """A meeting's name as the reader sees it: the unnamed one in their language."""
    return t("meeting.default_name") if name == DEFAULT_NAME else name


def title(t: Texts, meeting: Meeting, circle: Circle) -> str:
    return circle.name if meeting.name == "meeting" else f"{circle.name} · {meeting.name}"


async def facilitator(ctx: Ctx, circle: Circle) -> str | None:
    """Today's facilitator: whoever holds the steward role this term; nobody is named before
    rotation first fills it (the founder is not made the facilitator by default)."""
    if not await steward_assigned(ctx.session, circle.id):
        return None
    names = [p.display_name for p in await ctx.core.stewards(ctx, circle)]
    return ", ".join(names) or None


async def start_text(ctx: Ctx, meeting: Meeting, circle: Circle, start: datetime,
                     late: bool) -> str:
    t = ctx.circle_texts(circle)
    step = ctx.section(GuidanceSettings, circle).step_of_week
    prompt = (t("meeting.prompt_step", n=step, text=t(f"step.{step}")) if step
              else t("meeting.prompt_default"))
    who = await facilitator(ctx, circle)
    lines = [t("meeting.start_late" if late else "meeting.start",
               name=title(t, meeting, circle), time=when(t, start, circle.timezone)),
             prompt,
             t("meeting.facilitator", name=who) if who else t("meeting.facilitator_none"),
             t("think.card")]
    return "\n".join(lines)
