"""Circles and membership: setup, info, settings, join, leave, pact."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select, update

from bot.commands import LONG_TEXT_LIMIT, NAME_LIMIT, Arg, Kind, Where, Who
from bot.context import Ctx, UserError
from bot.feature import Feature
from bot.features.circles.settings import CircleSettings
from bot.membership import circle_for_room, member_count, member_of
from bot.section import SettingError
from bot.textsafety import visible_text
from storage.models import Circle, Member, Person

feature = Feature("circles", settings=CircleSettings, group_defaults={"circle": "info",
                                                                      "pact": "show"},
                  forgets=("people", "members", "circles"))


@feature.command("circle setup",
                 Arg("name", Kind.TEXT, required=True, max_len=NAME_LIMIT),
                 Arg("timezone", Kind.TIMEZONE, required=True),
                 where=Where.ROOM, who=Who.ANYONE)
async def circle_setup(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.place is not None and ctx.place.room is not None and ctx.person is not None
    room = ctx.place.room
    existing = await circle_for_room(ctx.session, room.platform, room.id)
    if existing is not None:
        raise UserError(ctx.t("err.circle_exists", name=existing.name))
    if not visible_text(args["name"]):
        raise UserError(ctx.t("err.name_empty"))
    defaults = ctx.core.host_defaults[CircleSettings.section]
    assert isinstance(defaults, CircleSettings)
    circle = Circle(platform=room.platform, room_id=room.id, name=args["name"],
                    timezone=args["timezone"], language=defaults.language,
                    founder_person_id=ctx.person.id, settings={}, created_at=ctx.now)
    ctx.session.add(circle)
    await ctx.session.flush()
    ctx.circle = circle
    member = Member(circle_id=circle.id, person_id=ctx.person.id, joined_at=ctx.now,
                    followups=True)
    ctx.session.add(member)
    await ctx.session.flush()
    ct = ctx.circle_texts(circle)
    ctx.post(circle, ct("circle.created_post", name=circle.name, timezone=circle.timezone))
    return ctx.t("circle.created_reply", name=circle.name, timezone=circle.timezone)


@feature.command("circle info", who=Who.CIRCLE)
async def circle_info(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    lines = [ctx.t("circle.info_head", name=circle.name)]
    for section in ctx.core.features.sections.values():
        values = ctx.section(section)
        lines.extend(f"{name}: {values.show(name)}" for name in section.info_fields())
    lines.extend(await ctx.core.circle_info(ctx))
    return "\n".join(lines)


@feature.circle_info
async def _membership_lines(ctx: Ctx) -> list[str]:
    assert ctx.circle is not None
    names = ", ".join(p.display_name for p in await ctx.core.stewards(ctx, ctx.circle))
    return [ctx.t("circle.info_members", count=await member_count(ctx.session, ctx.circle)),
            ctx.t("circle.info_steward",
                  names=names or ctx.t("circle.info_steward_room_admins"))]


@feature.stewards
async def _founder(ctx: Ctx, circle: Circle) -> list[Person]:
    """Until rotation first fills the steward role, the founder is the circle's steward;
    from then on the steward is whoever holds that role (rotation's provider)."""
    from bot.features.rotation import steward_assigned  # rotation builds on circles

    if circle.founder_person_id is None or await steward_assigned(ctx.session, circle.id):
        return []
    founder = await ctx.session.get(Person, circle.founder_person_id)
    if founder is None or await member_of(ctx.session, circle, founder) is None:
        return []
    return [founder]


@feature.command("circle settings", where=Where.ROOM, who=Who.STEWARD, takes_settings=True)
async def circle_settings(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    features = ctx.core.features
    given = {k: v for k, v in args.items() if v is not None and k in features.setting_owner}
    if not given:
        return _describe_settings(ctx, circle)
    overrides = dict(circle.settings or {})
    try:
        for key, raw in given.items():
            section = features.setting_owner[key]
            value = section.parse_setting(key, raw, ctx.texts)
            if key in section.columns:
                setattr(circle, key, value)
            else:
                overrides[key] = section.stored(key, value)
        circle.settings = overrides
        ctx.forget_sections(circle)
        for section in {features.setting_owner[k] for k in given}:
            data = ctx.section(section).model_dump()
            data.update({k: overrides.get(k, getattr(circle, k, None)) for k in given
                         if features.setting_owner[k] is section})
            section.model_validate(data).check(ctx.texts)
    except SettingError as exc:
        raise UserError(str(exc)) from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise UserError(ctx.t("err.bad_setting", name=".".join(map(str, first["loc"])),
                              problem=first["msg"])) from None
    return (ctx.t("circle.settings_changed", names=", ".join(given)) + "\n"
            + _describe_settings(ctx, circle))


def _describe_settings(ctx: Ctx, circle: Circle) -> str:
    lines = [ctx.t("circle.settings_head", name=circle.name)]
    for section in ctx.core.features.sections.values():
        values = ctx.section(section, circle)
        lines.extend(f"{name}: {values.show(name)}" for name in section.model_fields)
    return "\n".join(lines)


@feature.command("join", where=Where.ROOM, who=Who.CIRCLE)
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
    await ctx.core.member_joined(ctx, member, circle)
    return ctx.t("join.reply", name=circle.name)


@feature.command("leave")
async def leave(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member = ctx.circle, ctx.member
    assert circle is not None and member is not None
    # Every feature lets go of the member first (pairings end, requests close, links go).
    await ctx.core.member_left(ctx, member, circle)
    await ctx.session.delete(member)
    ctx.member = None
    return ctx.t("leave.reply", name=circle.name)


@feature.forget_person
async def _forget(ctx: Ctx, person: Person) -> int:
    """Runs after every other feature's forget hook: memberships, then the person."""
    await ctx.session.execute(update(Circle).where(Circle.founder_person_id == person.id)
                              .values(founder_person_id=None))
    members = (await ctx.session.execute(
        delete(Member).where(Member.person_id == person.id))).rowcount or 0  # type: ignore[attr-defined]
    await ctx.session.execute(delete(Person).where(Person.id == person.id))
    return int(members) + 1


@feature.export_person
async def _export(ctx: Ctx, person: Person) -> dict[str, Any]:
    rows = (await ctx.session.execute(
        select(Member, Circle).join(Circle, Circle.id == Member.circle_id)
        .where(Member.person_id == person.id).order_by(Circle.id))).all()
    return {
        "person": {"platform": person.platform, "id": person.platform_user_id,
                   "display_name": person.display_name, "language": person.language},
        "memberships": [{"circle": c.name, "joined_at": m.joined_at.isoformat(),
                         "pact_accepted_at": m.pact_accepted_at.isoformat()
                         if m.pact_accepted_at else None,
                         "founder": c.founder_person_id == person.id} for m, c in rows],
    }


@feature.command("pact show", who=Who.CIRCLE)
async def pact_show(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.circle is not None
    return "\n".join([ctx.t("pact.head", name=ctx.circle.name), pact_text(ctx, ctx.circle),
                      ctx.t("pact.accept_hint")])


def pact_text(ctx: Ctx, circle: Circle) -> str:
    return circle.pact or ctx.t("pact.default")


@feature.command("pact accept")
async def pact_accept(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.member is not None
    if ctx.member.pact_accepted_at is None:
        ctx.member.pact_accepted_at = ctx.now
    return ctx.t("pact.accepted")


@feature.command("pact edit", Arg("text", Kind.REST, required=True, max_len=LONG_TEXT_LIMIT),
                 where=Where.ROOM, who=Who.STEWARD)
async def pact_edit(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    circle.pact = args["text"]
    ctx.post(circle, ctx.circle_texts()("pact.edited_post"))
    return ctx.t("pact.edited")
