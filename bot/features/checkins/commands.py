"""`checkin` and `checkins`."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import or_, select, update

from bot.answer import Answer
from bot.commands import NOTE_LIMIT, Arg, Kind
from bot.context import Ctx
from bot.feature import Feature
from bot.features.checkins.models import Checkin
from bot.features.mentorship.queries import current_mentor
from bot.features.privacy.retention import note_cutoffs
from bot.texts import Texts
from bot.timezones import zone
from storage.models import Circle, Member, Person

feature = Feature("checkins", forgets=("checkins",))


@feature.command(
    "checkin",
    Arg("mood", Kind.MOOD, help="arg.checkin.mood"),
    Arg("note", Kind.REST, max_len=NOTE_LIMIT, help="arg.checkin.note"),
    Arg("visibility", Kind.CHOICE, choices=("circle", "mentor", "private"), default="circle",
        help="arg.checkin.visibility"),
    Arg("anonymous", Kind.BOOL, default=False, help="arg.checkin.anonymous"),
    private_errors=True,  # a rejected check-in can quote the note it carried
)
async def checkin(ctx: Ctx, args: dict[str, Any]) -> Answer:
    circle, member, person = ctx.circle, ctx.member, ctx.person
    assert circle is not None and member is not None and person is not None
    visibility: str = args["visibility"]
    anonymous: bool = bool(args["anonymous"])
    note: str | None = args["note"] or None
    mood: int | None = args["mood"]
    ctx.session.add(Checkin(circle_id=circle.id, member_id=member.id, created_at=ctx.now,
                            mood=mood, note=note, visibility=visibility, anonymous=anonymous))
    private = visibility != "circle" or anonymous
    if visibility == "circle":
        ct = ctx.circle_texts()
        who = ct("checkin.someone") if anonymous else person.display_name
        ctx.post(circle, ct("checkin.room_post", who=who, detail=detail(ct, mood, note)))
        if ctx.place is not None and ctx.place.is_direct:
            text = ctx.t("checkin.reply_circle_from_dm", circle=circle.name)
        else:
            text = ctx.t("checkin.reply_circle_anon" if anonymous else "checkin.reply_circle")
    elif visibility == "mentor":
        text = await _to_mentor(ctx, circle, member, person, mood, note, anonymous)
    else:
        text = ctx.t("checkin.reply_" + visibility)
    if mood == 1 and private:
        # A hard day said quietly: the lifeline is one word away, said once, gently.
        text += "\n" + ctx.t("checkin.call_exists")
    return Answer(text, private=private)


async def _to_mentor(ctx: Ctx, circle: Circle, member: Member, person: Person,
                     mood: int | None, note: str | None, anonymous: bool) -> str:
    """A mentor-only check-in reaches the member's current mentor by DM and nobody else;
    with no mentor it stays private, and the answer says so."""
    found = await current_mentor(ctx.session, member)
    if found is None:
        return ctx.t("checkin.reply_mentor")
    mentor = found[1]
    t = ctx.texts_for(mentor, circle)
    who = t("checkin.someone") if anonymous else person.display_name
    ctx.dm(mentor, t("checkin.to_mentor", name=who, circle=circle.name,
                     detail=detail(t, mood, note)))
    return ctx.t("checkin.reply_mentor_sent", name=mentor.display_name)


def detail(t: Texts, mood: int | None, note: str | None) -> str:
    parts = []
    if mood is not None:
        parts.append(t("checkin.mood", mood=mood))
    if note:
        parts.append(note)
    return (": " + " — ".join(parts)) if parts else ""


def visible_to(viewer: Member) -> Any:
    """What a member may see: everything of their own; others' circle-wide check-ins."""
    return or_(Checkin.member_id == viewer.id, Checkin.visibility == "circle")


@feature.command("checkins",
                 Arg("period", Kind.CHOICE, choices=("today", "week"), default="today"))
async def checkins(ctx: Ctx, args: dict[str, Any]) -> Answer:
    circle, member = ctx.circle, ctx.member
    assert circle is not None and member is not None
    tz = zone(circle.timezone)
    local_now = ctx.now.astimezone(tz)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight if args["period"] == "today" else midnight - timedelta(days=6)
    rows = (await ctx.session.execute(
        select(Checkin, Person)
        .outerjoin(Member, Member.id == Checkin.member_id)
        .outerjoin(Person, Person.id == Member.person_id)
        .where(Checkin.circle_id == circle.id, Checkin.created_at >= since.astimezone(UTC),
               visible_to(member))
        .order_by(Checkin.created_at, Checkin.id)
    )).all()
    head = ctx.t("checkins.head_" + args["period"], name=circle.name)
    if not rows:
        return Answer(head + "\n" + ctx.t("checkins.none"))
    lines = [head]
    private = False
    for c, author in rows:
        mine = c.member_id == member.id
        # The member's own private, mentor-only and anonymous check-ins, and which
        # anonymous ones are theirs, are for them alone: such an answer is private.
        private = private or (mine and (c.visibility != "circle" or c.anonymous))
        if mine:
            who = ctx.t("checkins.you")
        elif c.anonymous or author is None:
            who = ctx.t("checkin.someone")
        else:
            who = author.display_name
        when = ctx.texts.when(c.created_at, circle.timezone, "EEE HH:mm")
        tag = "" if c.visibility == "circle" else f" ({ctx.t('checkins.tag_' + c.visibility)})"
        if mine and c.anonymous and c.visibility == "circle":
            tag += f" ({ctx.t('checkins.tag_anonymous')})"
        lines.append(f"- {when} {who}{detail(ctx.t, c.mood, c.note)}{tag}")
    return Answer("\n".join(lines), private=private)


@feature.member_left
async def _unlink(ctx: Ctx, member: Member, circle: Circle) -> None:
    # Keep only anonymous aggregates: the day and the mood stay, the author and note go.
    await ctx.session.execute(update(Checkin).where(Checkin.member_id == member.id)
                              .values(member_id=None, note=None))


@feature.forget_person
async def _forget(ctx: Ctx, person: Person) -> int:
    result = await ctx.session.execute(
        update(Checkin)
        .where(Checkin.member_id.in_(select(Member.id).where(Member.person_id == person.id)))
        .values(member_id=None, note=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


@feature.export_person
async def _export(ctx: Ctx, person: Person) -> dict[str, Any]:
    rows = (await ctx.session.execute(
        select(Checkin, Circle).join(Circle, Circle.id == Checkin.circle_id)
        .join(Member, Member.id == Checkin.member_id)
        .where(Member.person_id == person.id).order_by(Checkin.created_at))).all()
    return {"checkins": [{"circle": circle.name, "at": c.created_at.isoformat(),
                          "mood": c.mood, "note": c.note, "visibility": c.visibility,
                          "anonymous": c.anonymous} for c, circle in rows]}




@feature.housekeeping
async def _retention(ctx: Ctx) -> None:
    """Check-in notes older than their circle's retention_days are deleted."""
    for cutoff, circle_ids in (await note_cutoffs(ctx)).items():
        await ctx.session.execute(
            update(Checkin)
            .where(Checkin.circle_id.in_(circle_ids), Checkin.created_at < cutoff,
                   Checkin.note.is_not(None))
            .values(note=None))


@feature.health
async def _weekly(ctx: Ctx, weeks: list[Any]) -> list[Any]:
    from bot.features.health.series import counted, weekly_counts

    assert ctx.circle is not None
    instants = list((await ctx.session.execute(
        select(Checkin.created_at).where(Checkin.circle_id == ctx.circle.id,
                                         Checkin.created_at >= weeks[0]))).scalars())
    return [counted("health.checkins", weekly_counts(instants, weeks))]
