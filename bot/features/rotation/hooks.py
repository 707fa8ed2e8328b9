"""What rotation does when a member leaves or is forgotten, what it exports, what `circle info`
shows, who the steward is, and its start-up and hourly checks (a new circle gets its default
roles from the hourly sweep, or at once from any rotation command; a join writes nothing here)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, or_, select, update

from bot.context import Ctx
from bot.features.rotation import service as s
from bot.features.rotation.feature import feature
from bot.features.rotation.models import (
    ACTIVE,
    SERVING,
    RotationPause,
    RotationRole,
    RotationSeat,
    RotationSwap,
)
from bot.membership import lock_circle
from storage.models import Circle, Member, Person


async def _let_go(ctx: Ctx, member: Member, circle: Circle, name: str | None) -> None:
    """A holder who goes frees their seats, and the next holders are drawn at once."""
    await lock_circle(ctx, circle.id)
    await ctx.session.execute(
        update(RotationSwap).where(RotationSwap.state == "pending",
                                   or_(RotationSwap.from_member_id == member.id,
                                       RotationSwap.to_member_id == member.id))
        .values(state="cancelled"))
    for seat in await s.seats_where(ctx, RotationSeat.member_id == member.id,
                                    RotationSeat.state.in_(ACTIVE)):
        await s.release(ctx, circle, seat, name)


@feature.member_left
async def left(ctx: Ctx, member: Member, circle: Circle) -> None:
    person = await ctx.session.get(Person, member.person_id)
    await _let_go(ctx, member, circle, person.display_name if person else None)


@feature.forget_person
async def _forget(ctx: Ctx, person: Person) -> int:
    """Seats held now are freed (without naming the person); the history is unlinked, so
    the circle's counts stay and no longer say whose they were; pauses and offers go."""
    rows = (await ctx.session.execute(
        select(Member, Circle).join(Circle, Circle.id == Member.circle_id)
        .where(Member.person_id == person.id))).all()
    for member, circle in rows:
        await _let_go(ctx, member, circle, None)
    mine = select(Member.id).where(Member.person_id == person.id)
    unlinked = await ctx.session.execute(
        update(RotationSeat).where(RotationSeat.member_id.in_(mine)).values(member_id=None))
    pauses = await ctx.session.execute(
        delete(RotationPause).where(RotationPause.member_id.in_(mine)))
    swaps = await ctx.session.execute(
        delete(RotationSwap).where(or_(RotationSwap.from_member_id.in_(mine),
                                       RotationSwap.to_member_id.in_(mine))))
    return int(sum(x.rowcount or 0 for x in (unlinked, pauses, swaps)))  # type: ignore[attr-defined]


@feature.export_person
async def _export(ctx: Ctx, person: Person) -> dict[str, Any]:
    mine = select(Member.id).where(Member.person_id == person.id)
    seats = (await ctx.session.execute(
        select(RotationSeat, Circle).join(Circle, Circle.id == RotationSeat.circle_id)
        .where(RotationSeat.member_id.in_(mine))
        .order_by(RotationSeat.starts_at, RotationSeat.id))).all()
    pauses = (await ctx.session.execute(
        select(RotationPause, Circle).join(Member, Member.id == RotationPause.member_id)
        .join(Circle, Circle.id == Member.circle_id)
        .where(RotationPause.member_id.in_(mine)))).all()
    swaps = (await ctx.session.execute(
        select(RotationSwap).where(or_(RotationSwap.from_member_id.in_(mine),
                                       RotationSwap.to_member_id.in_(mine)))
        .order_by(RotationSwap.id))).scalars().all()
    return {
        "service": [{"circle": c.name, "role": x.role_name, "term": x.term, "state": x.state,
                     "starts_at": x.starts_at.isoformat(), "ends_at": x.ends_at.isoformat()}
                    for x, c in seats],
        "pauses": [{"circle": c.name, "since": p.since.isoformat(),
                    "until": p.until.isoformat() if p.until else None} for p, c in pauses],
        "swap_offers": [{"id": w.id, "state": w.state, "created_at": w.created_at.isoformat()}
                        for w in swaps],
    }


@feature.circle_info
async def _info(ctx: Ctx) -> list[str]:
    circle = ctx.circle
    assert circle is not None
    roles = await s.roles_of(ctx, circle.id)
    if not roles:
        return []
    t = ctx.texts
    if all(r.term == 0 for r in roles):
        return [t("rotation.info_first", start=s.when(min(r.term_end for r in roles),
                                                      circle.timezone, t))]
    seats = await s.seats_where(ctx, RotationSeat.circle_id == circle.id,
                                RotationSeat.state == SERVING)
    names = await s.people(ctx, (x.member_id for x in seats))
    serving = "; ".join(
        f"{s.label(t, r)}: "
        + s.holders(t, sorted((x for x in seats if x.role_id == r.id), key=lambda x: x.seat),
                    names)
        for r in roles if r.term)
    return [t("rotation.info_serving", roles=serving),
            t("rotation.info_next", start=s.when(min(r.term_end for r in roles),
                                                 circle.timezone, t))]


@feature.stewards
async def _holders(ctx: Ctx, circle: Circle) -> list[Person]:
    """The steward is whoever holds the steward role this term (room admins count too, by
    the platform's own word)."""
    return list((await ctx.session.execute(
        select(Person).join(Member, Member.person_id == Person.id)
        .join(RotationSeat, RotationSeat.member_id == Member.id)
        .join(RotationRole, RotationRole.id == RotationSeat.role_id)
        .where(RotationSeat.circle_id == circle.id, RotationSeat.state == SERVING,
               RotationRole.builtin == s.STEWARD)
        .order_by(RotationSeat.seat))).scalars())


async def _unset(ctx: Ctx) -> list[Circle]:
    return list((await ctx.session.execute(
        select(Circle).where(~exists().where(RotationRole.circle_id == Circle.id))
        .order_by(Circle.id))).scalars())


@feature.on_start
async def _at_start(ctx: Ctx) -> None:
    """Every circle has its roles and its next wake-up (a timer lost to pruning or to an
    older version is put back; an existing one is left alone)."""
    # Read in two queries for every circle, written in one: a host with a thousand circles
    # starts (and fires its first lifeline wave) in a moment, not after seconds of this.
    roles: dict[int, list[RotationRole]] = {}
    for role in (await ctx.session.execute(
            select(RotationRole).order_by(RotationRole.position, RotationRole.id))).scalars():
        roles.setdefault(role.circle_id, []).append(role)
    circles = list((await ctx.session.execute(select(Circle).order_by(Circle.id))).scalars())
    for circle in circles:
        if circle.id not in roles:  # set up while the bot was down
            roles[circle.id] = await s.ensure_roles(ctx, circle)
    planned = await s.planned(ctx, [r for rs in roles.values() for r in rs if r.term == 0])
    await ctx.schedule_all(*(s.tick_timer(circle, roles[circle.id], planned, ctx.now)
                             for circle in circles if roles[circle.id]))


@feature.housekeeping
async def _hourly(ctx: Ctx) -> None:
    """A circle set up since the last sweep gets its roles even if no one joined yet."""
    for circle in await _unset(ctx):
        await s.ensure_roles(ctx, circle)

