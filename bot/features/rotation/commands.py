"""`roles ...`, `pause` and `unpause`."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from bot.answer import Action, Answer
from bot.commands import Arg, Kind, Where, Who
from bot.context import Ctx, UserError
from bot.durations import parse_duration
from bot.features.rotation import service as s
from bot.features.rotation.feature import feature
from bot.features.rotation.models import (
    ACTIVE,
    PLANNED,
    SERVED,
    SERVING,
    RotationPause,
    RotationRole,
    RotationSeat,
    RotationSwap,
)
from bot.features.rotation.payloads import SwapLapse
from bot.features.rotation.selection import Candidate, Term, away_too_long, eligible
from bot.features.rotation.settings import RotationSettings
from bot.features.rotation.spread import service_of
from bot.features.rotation.terms import MAX_WEEKS, parse_period
from bot.membership import circles_of, lock_circle
from bot.recurring import next_occurrence
from bot.texts import Texts
from bot.textsafety import visible_text
from bot.timezones import zone
from storage.models import Circle, Member, Person

SWAP_WINDOW = timedelta(hours=24)
MAX_PAUSE = timedelta(days=365)
_ROLE = Arg("role", Kind.REST, max_len=60, help="arg.roles.role")
_WEEKS = re.compile(r"^(\d{1,3})\s*(w|wk|wks|week|weeks)$")
SUBCOMMANDS = {"show", "define", "remove", "rotate", "swap", "skip", "balance"}


def _unknown(ctx: Ctx, roles: list[RotationRole], wanted: str) -> UserError:
    return UserError(ctx.t("err.rotation_unknown_role", role=wanted[:60],
                           roles=", ".join(s.label(ctx.texts, r) for r in roles)))


def _terms(t: Texts, role: RotationRole, settings: RotationSettings) -> str:
    parts = [t.n("rotation.every_weeks", s.weeks_of(role, settings))]
    if role.seats > 1:
        parts.append(t.n("rotation.seat_count", role.seats))
    return ", ".join(parts)


async def _circle_seats(ctx: Ctx, circle: Circle) -> list[RotationSeat]:
    return await s.seats_where(ctx, RotationSeat.circle_id == circle.id,
                               RotationSeat.state.in_(ACTIVE))


# -- roles ------------------------------------------------------------------------------------
@feature.command("roles show", _ROLE, who=Who.CIRCLE)
async def roles_show(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    roles = await s.ensure_roles(ctx, circle)
    settings = ctx.section(RotationSettings)
    seats = await _circle_seats(ctx, circle)
    names = await s.people(ctx, (x.member_id for x in seats))
    t, tz = ctx.texts, circle.timezone

    def of(role: RotationRole, state: str) -> str:
        mine = [x for x in seats if x.role_id == role.id and x.state == state]
        return s.holders(t, sorted(mine, key=lambda x: x.seat), names) if mine \
            else t("rotation.not_drawn")

    if args["role"]:
        role = s.find_role(roles, args["role"])
        if role is None:
            raise _unknown(ctx, roles, args["role"])
        lines = [t("rotation.role_head", role=s.label(t, role),
                   terms=_terms(t, role, settings), handbook=s.handbook(t, role))]
        if role.term:
            lines.append(t("rotation.role_now", holders=of(role, SERVING),
                           end=s.when(role.term_end, tz, t)))
        lines.append(t("rotation.role_next", holders=of(role, PLANNED),
                       start=s.when(role.term_end, tz, t)))
        return "\n".join(lines)
    lines = [t("rotation.show_head", circle=circle.name, tz=tz)]
    for role in roles:
        values = {"role": s.label(t, role), "terms": _terms(t, role, settings),
                  "next": of(role, PLANNED)}
        if role.term:
            lines.append(t("rotation.show_line", holders=of(role, SERVING),
                           end=s.when(role.term_end, tz, t), **values))
        else:
            lines.append(t("rotation.show_first", start=s.when(role.term_end, tz, t), **values))
    if not await s.steward_assigned(ctx.session, circle.id) and circle.founder_person_id:
        founder = await ctx.session.get(Person, circle.founder_person_id)
        if founder is not None:
            lines.append(t("rotation.show_founder", name=founder.display_name))
    lines.append(t("rotation.show_tail"))
    return "\n".join(lines)


@feature.command("roles define",
                 Arg("name", Kind.TEXT, required=True, max_len=40, help="arg.roles.name"),
                 Arg("period", Kind.TEXT, max_len=20, help="arg.roles.period"),
                 Arg("seats", Kind.INT, minimum=1, maximum=5, help="arg.roles.seats"),
                 Arg("description", Kind.REST, max_len=500, help="arg.roles.description"),
                 where=Where.ROOM, who=Who.STEWARD)
async def roles_define(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    roles = await s.ensure_roles(ctx, circle)
    name = " ".join(args["name"].split())
    if not visible_text(name):
        raise UserError(ctx.t("err.rotation_name_empty"))
    if s.normal(name) in SUBCOMMANDS:
        raise UserError(ctx.t("err.rotation_name_word", name=name))
    existing = s.find_role(roles, name)
    if existing is not None:
        raise UserError(ctx.t("err.rotation_role_exists", role=s.label(ctx.texts, existing)))
    if len(roles) >= s.MAX_ROLES:
        raise UserError(ctx.t("err.rotation_too_many", most=s.MAX_ROLES))
    weeks = None
    if args["period"]:
        weeks = parse_period(args["period"])
        if weeks is None:
            raise UserError(ctx.t("err.rotation_define_period", value=args["period"][:20],
                                  most=MAX_WEEKS))
    settings, rule = s.rule_for(ctx, circle)
    # A new role keeps the circle's rhythm: it starts with the first rotation still to come,
    # else at the next regular boundary.
    pending = [r.term_end for r in roles if r.term == 0]
    first = min(pending) if pending else next_occurrence(rule, ctx.now)
    role = RotationRole(circle_id=circle.id, name=name, builtin=None,
                        seats=args["seats"] or 1, period_weeks=weeks,
                        description=args["description"] or None,
                        position=max(r.position for r in roles) + 1, term_end=first,
                        created_at=ctx.now)
    ctx.session.add(role)
    await ctx.session.flush()
    await s.schedule_tick(ctx, circle, [*roles, role])
    ct = ctx.circle_texts()
    ctx.post(circle, ct("rotation.defined_post", role=name, terms=_terms(ct, role, settings),
                        start=s.when(first, circle.timezone, ct),
                        handbook=role.description or ""))
    return ctx.t("rotation.defined", role=name, start=s.when(first, circle.timezone, ctx.texts))


@feature.command("roles remove",
                 Arg("name", Kind.REST, required=True, max_len=60, help="arg.roles.role"),
                 where=Where.ROOM, who=Who.STEWARD)
async def roles_remove(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    roles = await s.ensure_roles(ctx, circle)
    role = s.find_role(roles, args["name"])
    if role is None:
        raise _unknown(ctx, roles, args["name"])
    if role.builtin == s.STEWARD:
        raise UserError(ctx.t("err.rotation_keep_steward"))
    seats = await s.seats_where(ctx, RotationSeat.role_id == role.id,
                                RotationSeat.state.in_(ACTIVE))
    await s.cancel_swaps(ctx, [x.id for x in seats])
    for seat in seats:
        if seat.state == SERVING:  # served until now: that stays in the history
            seat.state, seat.ends_at = SERVED, ctx.now
        else:
            await ctx.session.delete(seat)
    await ctx.session.delete(role)
    await ctx.session.flush()
    ct = ctx.circle_texts()
    ctx.post(circle, ct("rotation.removed_post", role=s.label(ct, role)))
    return ctx.t("rotation.removed", role=s.label(ctx.texts, role))


@feature.command("roles rotate", _ROLE, where=Where.ROOM, who=Who.STEWARD)
async def roles_rotate(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    roles = await s.ensure_roles(ctx, circle)
    chosen = roles
    if args["role"]:
        role = s.find_role(roles, args["role"])
        if role is None:
            raise _unknown(ctx, roles, args["role"])
        chosen = [role]
    await s.start_terms(ctx, circle, chosen, on_schedule=False)
    await s.schedule_tick(ctx, circle, roles)
    return ctx.n("rotation.rotated", len(chosen))


@feature.command("roles skip", _ROLE)
async def roles_skip(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member, person = ctx.circle, ctx.member, ctx.person
    assert circle is not None and member is not None and person is not None
    roles = await s.ensure_roles(ctx, circle)
    mine = await s.seats_where(ctx, RotationSeat.member_id == member.id,
                               RotationSeat.state.in_(ACTIVE))
    if args["role"]:
        role = s.find_role(roles, args["role"])
        if role is None:
            raise _unknown(ctx, roles, args["role"])
        mine = [x for x in mine if x.role_id == role.id]
    if not mine:
        raise UserError(ctx.t("err.rotation_nothing_to_skip"))
    # The turn nearest in time: the seat held now, else the next one drawn.
    seat = min(mine, key=lambda x: (x.state != SERVING, x.starts_at))
    role = next(r for r in roles if r.id == seat.role_id)
    serving = seat.state == SERVING
    await s.release(ctx, circle, seat, person.display_name)
    return ctx.t("rotation.skipped_now" if serving else "rotation.skipped_next",
                 role=s.label(ctx.texts, role),
                 start=s.when(seat.starts_at, circle.timezone, ctx.texts))


@feature.command("roles balance", who=Who.MEMBER)
async def roles_balance(ctx: Ctx, args: dict[str, Any]) -> Answer:
    circle, member, person = ctx.circle, ctx.member, ctx.person
    assert circle is not None and member is not None and person is not None
    await s.ensure_roles(ctx, circle)
    settings = ctx.section(RotationSettings)
    since = ctx.now - s.YEAR
    score, able = (await service_of(ctx, circle, ctx.now)).score(ctx.now)
    total = (await ctx.session.execute(
        select(func.count()).select_from(RotationSeat)
        .where(RotationSeat.circle_id == circle.id, RotationSeat.filled.is_(True),
               RotationSeat.state.in_((SERVING, SERVED)), RotationSeat.starts_at > since)
    )).scalar_one()
    t = ctx.texts
    if score is None:
        lines = [t("rotation.balance_none", circle=circle.name)]
    else:
        lines = [t.n("rotation.balance", len(able), circle=circle.name,
                     score=round(score * 100), days=settings.newcomer_days),
                 t.n("rotation.balance_total", total)]
    lines.append(t("rotation.balance_measure"))
    history = await _history(ctx, circle, member)
    if ctx.place is not None and ctx.place.is_direct:
        return Answer("\n".join([*lines, history]), private=True)
    ctx.dm(person, history, label="rotation-history")
    lines.append(t("rotation.balance_history_sent"))
    return Answer("\n".join(lines))


async def _history(ctx: Ctx, circle: Circle, member: Member) -> str:
    """A member's own service in the last 12 months, for their eyes only."""
    t, tz = ctx.texts, circle.timezone
    seats = await s.seats_where(ctx, RotationSeat.member_id == member.id,
                                RotationSeat.starts_at > ctx.now - s.YEAR)
    roles = {r.id: r for r in await s.roles_of(ctx, circle.id)}
    served = sum(1 for x in seats if x.state in (SERVING, SERVED))
    lines = [t.n("rotation.history_head", served, circle=circle.name)]
    for seat in reversed(seats):
        role = roles.get(seat.role_id) if seat.role_id else None
        lines.append(t(f"rotation.history_{seat.state}",
                       role=s.label(t, role) if role else seat.role_name,
                       start=s.when(seat.starts_at, tz, t), end=s.when(seat.ends_at, tz, t)))
    return "\n".join(lines)


# -- swaps ------------------------------------------------------------------------------------
@feature.command("roles swap",
                 Arg("member", Kind.TEXT, required=True, max_len=120, help="arg.roles.member"),
                 Arg("id", Kind.INT, help="arg.roles.swap_id"),
                 who=Who.ANYONE)
async def roles_swap(ctx: Ctx, args: dict[str, Any]) -> Answer | str:
    word = args["member"].strip().lower()
    if word in ("accept", "decline"):
        return await _answer_swap(ctx, word == "accept", args["id"])
    circle, member, person = ctx.circle, ctx.member, ctx.person
    assert person is not None
    if circle is None:
        mine = await circles_of(ctx.session, person)
        if not mine:
            raise UserError(ctx.t("err.no_circles"))
        raise UserError(ctx.t("err.which_circle", names=", ".join(c.name for c in mine)))
    if member is None:
        raise UserError(ctx.t("err.not_member", circle=circle.name))
    roles = await s.ensure_roles(ctx, circle)
    other = await _find_member(ctx, circle, args["member"])
    if other is None:
        raise UserError(ctx.t("err.rotation_swap_stranger", who=args["member"][:60],
                              circle=circle.name))
    other_member, other_person = other
    if other_member.id == member.id:
        raise UserError(ctx.t("err.rotation_swap_self"))
    mine = await _swappable(ctx, member)
    if mine is None:
        raise UserError(ctx.t("err.rotation_swap_nothing"))
    theirs = await _swappable(ctx, other_member, mine.state)
    if theirs is None:
        raise UserError(ctx.t("err.rotation_swap_no_role" if mine.state == SERVING
                              else "err.rotation_swap_no_role_next",
                              name=other_person.display_name))
    by_id = {r.id: r for r in roles}
    problem = await _swap_problem(ctx, circle, by_id, mine, theirs, person, other_person)
    if problem:
        raise UserError(problem)
    # One offer per seat at a time: a new one replaces the last.
    await ctx.session.execute(
        update(RotationSwap).where(RotationSwap.from_member_id == member.id,
                                   RotationSwap.state == "pending").values(state="cancelled"))
    swap = RotationSwap(circle_id=circle.id, from_member_id=member.id,
                        to_member_id=other_member.id, from_seat_id=mine.id,
                        to_seat_id=theirs.id, state="pending", created_at=ctx.now,
                        expires_at=ctx.now + SWAP_WINDOW)
    ctx.session.add(swap)
    await ctx.session.flush()
    await ctx.schedule(SwapLapse(swap.id), swap.expires_at, f"rotation:swap:{swap.id}")
    t = ctx.texts_for(other_person, circle)
    ctx.dm(other_person, t("rotation.swap_offer", name=person.display_name, circle=circle.name,
                           theirs=s.label(t, by_id[theirs.role_id]),  # type: ignore[index]
                           mine=s.label(t, by_id[mine.role_id]),  # type: ignore[index]
                           id=swap.id),
           label=f"swap:{swap.id}", expires_at=swap.expires_at,
           actions=(Action("swap-accept", "action.swap_accept", "roles swap",
                           ("accept", str(swap.id)), "✅"),
                    Action("swap-decline", "action.swap_decline", "roles swap",
                           ("decline", str(swap.id)), "❌")))
    return ctx.t("rotation.swap_asked", name=other_person.display_name,
                 mine=s.label(ctx.texts, by_id[mine.role_id]),  # type: ignore[index]
                 theirs=s.label(ctx.texts, by_id[theirs.role_id]))  # type: ignore[index]


async def _find_member(ctx: Ctx, circle: Circle, text: str) -> tuple[Member, Person] | None:
    """A member named as the platform writes a mention (`@bob`, `@bob:example.org`,
    `<@123>`) or by their display name."""
    raw = text.strip()
    ids = {raw, raw.removeprefix("@")}
    m = re.fullmatch(r"<@!?(\d+)>", raw)
    if m:
        ids.add(m.group(1))
    assert ctx.person is not None
    rows = (await ctx.session.execute(
        select(Member, Person).join(Person, Person.id == Member.person_id)
        .where(Member.circle_id == circle.id))).all()
    for member, person in rows:
        if person.platform == ctx.person.platform and person.platform_user_id in ids:
            return member, person
    wanted = raw.removeprefix("@").casefold()
    named = [(mb, p) for mb, p in rows if p.display_name.casefold() == wanted]
    return named[0] if len(named) == 1 else None


async def _swappable(ctx: Ctx, member: Member, state: str | None = None) -> RotationSeat | None:
    """The seat a member would swap: the one held now, else the next one drawn (or, for the
    other side, one in the same phase)."""
    seats = await s.seats_where(ctx, RotationSeat.member_id == member.id,
                                RotationSeat.state.in_((state,) if state else ACTIVE))
    return min(seats, key=lambda x: (x.state != SERVING, x.starts_at), default=None)


async def _swap_problem(ctx: Ctx, circle: Circle, roles: dict[int, RotationRole],
                        mine: RotationSeat, theirs: RotationSeat, me: Person,
                        them: Person) -> str | None:
    """Why this swap would break the rule (same role, twice running, two roles at once, a
    pause), as one sentence; None when it fits."""
    t = ctx.texts
    if mine.role_id == theirs.role_id:
        return t("err.rotation_swap_same", role=s.label(t, roles[mine.role_id]))  # type: ignore[index]
    for taker, seat, name in ((mine.member_id, theirs, me.display_name),
                              (theirs.member_id, mine, them.display_name)):
        assert taker is not None and seat.role_id is not None
        term = Term(circle.id, seat.role_id, seat.term, seat.starts_at, seat.ends_at)
        found = [c for c in await s.candidates(ctx, circle, seat.role_id, term,
                                               ignore=(mine.id, theirs.id))
                 if c.member_id == taker]
        if not found or not eligible(found[0], term, 0):
            return t("err.rotation_swap_rule", name=name,
                     role=s.label(t, roles[seat.role_id]))
    return None


async def _answer_swap(ctx: Ctx, accept: bool, swap_id: int | None) -> Answer | str:
    person = ctx.person
    assert person is not None
    mine = select(Member.id).where(Member.person_id == person.id)
    if ctx.circle is not None:
        mine = mine.where(Member.circle_id == ctx.circle.id)
    query = select(RotationSwap).where(RotationSwap.to_member_id.in_(mine),
                                       RotationSwap.state == "pending",
                                       RotationSwap.expires_at > ctx.now)
    if swap_id is not None:
        query = query.where(RotationSwap.id == swap_id)
    offers = list((await ctx.session.execute(query.order_by(RotationSwap.id))).scalars())
    if not offers:
        raise UserError(ctx.t("err.rotation_swap_none"))
    if len(offers) > 1:
        raise UserError(ctx.t("err.rotation_swap_several",
                              ids=", ".join(str(o.id) for o in offers), first=offers[0].id))
    swap = offers[0]
    circle = await lock_circle(ctx, swap.circle_id)
    assert circle is not None
    await ctx.session.refresh(swap)
    if swap.state != "pending":
        raise UserError(ctx.t("err.rotation_swap_none"))
    await ctx.cancel_timers(f"rotation:swap:{swap.id}")
    offerer = await s.people(ctx, [swap.from_member_id])
    other = offerer.get(swap.from_member_id)
    if other is None:
        swap.state = "cancelled"
        raise UserError(ctx.t("err.rotation_swap_none"))
    roles = {r.id: r for r in await s.roles_of(ctx, circle.id)}
    first = await ctx.session.get(RotationSeat, swap.from_seat_id)
    second = await ctx.session.get(RotationSeat, swap.to_seat_id)
    ot = ctx.texts_for(other, circle)
    if not accept:
        swap.state = "declined"
        ctx.dm(other, ot("rotation.swap_declined", name=person.display_name),
               label=f"swap-declined:{swap.id}")
        return ctx.t("rotation.swap_you_declined", name=other.display_name)
    still = (first is not None and second is not None and first.state in ACTIVE
             and first.state == second.state and first.member_id == swap.from_member_id
             and second.member_id == swap.to_member_id)
    problem = None
    if still:
        assert first is not None and second is not None
        problem = await _swap_problem(ctx, circle, roles, first, second, other, person)
    if not still or problem:
        swap.state = "cancelled"
        await ctx.session.flush()
        return Answer(problem or ctx.t("err.rotation_swap_changed"), ok=False)
    assert first is not None and second is not None
    first.member_id, second.member_id = second.member_id, first.member_id
    swap.state = "accepted"
    await ctx.session.flush()
    for seat in (first, second):
        await s.schedule_reminders(ctx, circle, seat)
    now = first.state == SERVING
    ct = ctx.circle_texts(circle)
    ctx.post(circle, ct("rotation.swapped_post" if now else "rotation.swapped_post_next",
                        a=other.display_name, b=person.display_name,
                        a_role=s.label(ct, roles[second.role_id]),  # type: ignore[index]
                        b_role=s.label(ct, roles[first.role_id])),  # type: ignore[index]
             label=f"swapped:{swap.id}")
    ctx.dm(other, ot("rotation.swap_accepted", name=person.display_name,
                     role=s.label(ot, roles[second.role_id])),  # type: ignore[index]
           label=f"swap-accepted:{swap.id}")
    return ctx.t("rotation.swap_you_accepted", name=other.display_name,
                 role=s.label(ctx.texts, roles[first.role_id]))  # type: ignore[index]


# -- pause ------------------------------------------------------------------------------------
@feature.command("pause", Arg("until", Kind.REST, max_len=40, help="arg.pause.until"),
                 private=True)
async def pause(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member, person = ctx.circle, ctx.member, ctx.person
    assert circle is not None and member is not None and person is not None
    await s.ensure_roles(ctx, circle)
    tz = await s.timezone_of(ctx, member.id, circle)
    until = _pause_until(ctx, (args["until"] or "").strip(), tz)
    row = await ctx.session.get(RotationPause, member.id)
    if row is None:
        row = RotationPause(member_id=member.id, since=ctx.now)
        ctx.session.add(row)
    row.since, row.until = ctx.now, until
    await ctx.session.flush()
    roles = {r.id: r for r in await s.roles_of(ctx, circle.id)}
    passed = []
    away = Candidate(member.id, member.joined_at, ((ctx.now, until),))
    for seat in await s.seats_where(ctx, RotationSeat.member_id == member.id,
                                    RotationSeat.state.in_(ACTIVE)):
        assert seat.role_id is not None
        term = Term(circle.id, seat.role_id, seat.term, max(seat.starts_at, ctx.now),
                    seat.ends_at) if seat.state == SERVING else Term(
            circle.id, seat.role_id, seat.term, seat.starts_at, seat.ends_at)
        if away_too_long(away, term):  # no roles while away; a short pause keeps the seat
            passed.append(s.label(ctx.texts, roles[seat.role_id]))
            await s.release(ctx, circle, seat, person.display_name)
    lines = [ctx.t("rotation.paused", circle=circle.name, until=s.when(until, tz, ctx.texts), tz=tz)
             if until else ctx.t("rotation.paused_open", circle=circle.name)]
    if passed:
        lines.append(ctx.t("rotation.paused_passed", roles=", ".join(passed)))
    return "\n".join(lines)


def _pause_until(ctx: Ctx, text: str, tz: str) -> datetime | None:
    if not text:
        return None
    # The example is a fortnight ahead, so the form shown is never itself in the past.
    example = (ctx.now.astimezone(zone(tz)) + timedelta(days=14)).date().isoformat()
    weeks = _WEEKS.match(text.lower())
    try:
        delta = timedelta(weeks=int(weeks.group(1))) if weeks else parse_duration(text)
    except OverflowError:
        raise UserError(ctx.t("err.pause_too_long")) from None
    if delta is not None:
        if delta > MAX_PAUSE:
            raise UserError(ctx.t("err.pause_too_long"))
        if delta <= timedelta(0):
            raise UserError(ctx.t("err.pause_until", value=text[:40], example=example))
        return ctx.now + delta
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UserError(ctx.t("err.pause_until", value=text[:40], example=example)) from None
    until = datetime(day.year, day.month, day.day, tzinfo=zone(tz)).astimezone(
        ctx.now.tzinfo)
    if until <= ctx.now:
        raise UserError(ctx.t("err.pause_past", value=text[:40], example=example))
    if until - ctx.now > MAX_PAUSE:
        raise UserError(ctx.t("err.pause_too_long"))
    return until


@feature.command("unpause", private=True)
async def unpause(ctx: Ctx, args: dict[str, Any]) -> str:
    circle, member = ctx.circle, ctx.member
    assert circle is not None and member is not None
    row = await ctx.session.get(RotationPause, member.id)
    if row is None or (row.until is not None and row.until <= ctx.now):
        if row is not None:
            await ctx.session.delete(row)
        return ctx.t("rotation.not_paused", circle=circle.name)
    await ctx.session.delete(row)
    return ctx.t("rotation.unpaused", circle=circle.name)
