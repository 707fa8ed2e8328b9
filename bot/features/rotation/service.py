"""A circle's service: its roles, the terms they run, and who is drawn to serve. Every change
happens in the caller's transaction, with the circle's row held (FOR UPDATE on PostgreSQL;
SQLite's writes are serial already), together with its room posts, DMs and timers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.context import Ctx
from bot.features.availability.models import Availability
from bot.features.rotation.models import (
    ACTIVE,
    CREDITED,
    PASSED,
    PLANNED,
    SERVED,
    SERVING,
    RotationPause,
    RotationRole,
    RotationSeat,
    RotationSwap,
)
from bot.features.rotation.payloads import Remind, Tick
from bot.features.rotation.selection import Candidate, Term, away_too_long, rank
from bot.features.rotation.settings import RotationSettings
from bot.features.rotation.terms import (
    PLAN_AHEAD,
    boundary_rule,
    first_boundary,
    reminder_times,
    term_end,
)
from bot.membership import lock_circle
from bot.recurring import Recurrence
from bot.texts import LANGUAGES, Texts
from storage.models import Circle, Member, Person

DEFAULT_ROLES = (("steward", 1), ("timekeeper", 1), ("greeter", 1), ("care_lead", 1),
                 ("repair_team", 3))
STEWARD = "steward"
YEAR = timedelta(days=365)
MAX_ROLES = 12


# -- names and texts --------------------------------------------------------------------------
def normal(name: str) -> str:
    """How role names are compared: `Care-Lead`, `care_lead` and `care lead` are one."""
    return " ".join(name.lower().replace("-", " ").replace("_", " ").split())


def label(t: Texts, role: RotationRole) -> str:
    return t(f"rotation.role.{role.builtin}") if role.builtin else role.name


def handbook(t: Texts, role: RotationRole) -> str:
    if role.description:
        return role.description
    return t(f"rotation.handbook.{role.builtin}") if role.builtin else ""


def names_of(role: RotationRole) -> set[str]:
    """Every name a role answers to: its own, and a default role's label in each language."""
    found = {normal(role.name)}
    if role.builtin:
        found |= {normal(Texts(lang)(f"rotation.role.{role.builtin}")) for lang in LANGUAGES}
    return found


def find_role(roles: Iterable[RotationRole], text: str) -> RotationRole | None:
    wanted = normal(text)
    return next((r for r in roles if wanted in names_of(r)), None)


def when(instant: datetime, timezone: str, t: Texts) -> str:
    return t.when(instant, timezone)


async def timezone_of(ctx: Ctx, member_id: int, circle: Circle) -> str:
    """A member's own timezone (from their availability), else the circle's."""
    row = await ctx.session.get(Availability, member_id)
    return row.timezone if row is not None else circle.timezone


async def people(ctx: Ctx, member_ids: Iterable[int | None]) -> dict[int, Person]:
    ids = sorted({m for m in member_ids if m is not None})
    if not ids:
        return {}
    rows = (await ctx.session.execute(
        select(Member.id, Person).join(Person, Person.id == Member.person_id)
        .where(Member.id.in_(ids)))).all()
    return {mid: person for mid, person in rows}


# -- the circle's roles -----------------------------------------------------------------------
async def roles_of(ctx: Ctx, circle_id: int) -> list[RotationRole]:
    return list((await ctx.session.execute(
        select(RotationRole).where(RotationRole.circle_id == circle_id)
        .order_by(RotationRole.position, RotationRole.id))).scalars())


def rule_for(ctx: Ctx, circle: Circle) -> tuple[RotationSettings, Recurrence]:
    settings = ctx.section(RotationSettings, circle)
    return settings, boundary_rule(settings.rotation_day, settings.rotation_hour,
                                   circle.timezone)


def weeks_of(role: RotationRole, settings: RotationSettings) -> int:
    return role.period_weeks or settings.weeks


async def ensure_roles(ctx: Ctx, circle: Circle) -> list[RotationRole]:
    """The circle's roles; a circle without any gets the default ones, whose first term starts
    once the first members are past their newcomer days."""
    await lock_circle(ctx, circle.id)
    roles = await roles_of(ctx, circle.id)
    if roles:
        return roles
    settings, rule = rule_for(ctx, circle)
    first = first_boundary(rule, circle.created_at, settings.newcomer_days, ctx.now)
    for position, (key, seats) in enumerate(DEFAULT_ROLES):
        ctx.session.add(RotationRole(circle_id=circle.id, name=key.replace("_", " "),
                                     builtin=key, seats=seats, position=position,
                                     term_end=first, created_at=ctx.now))
    await ctx.session.flush()
    roles = await roles_of(ctx, circle.id)
    await schedule_tick(ctx, circle, roles)
    return roles


async def has_plan(ctx: Ctx, role: RotationRole) -> bool:
    return role.id in await planned(ctx, [role])


async def planned(ctx: Ctx, roles: list[RotationRole]) -> set[int]:
    """The ids of these roles whose next term's holders are drawn already."""
    if not roles:
        return set()
    next_term = {role.id: role.term + 1 for role in roles}
    return {role_id for role_id, term in (await ctx.session.execute(
        select(RotationSeat.role_id, RotationSeat.term).distinct()
        .where(RotationSeat.role_id.in_(next_term), RotationSeat.state == PLANNED)))
        if next_term[role_id] == term}


def tick_timer(circle: Circle, roles: list[RotationRole], planned: set[int],
               now: datetime) -> tuple[Tick, datetime, str]:
    """The circle's next wake-up: its earliest term boundary, or a week before a first term
    whose holders are not drawn yet. Keyed by circle and instant, so scheduling it again from
    anywhere is a no-op, and a stale one that fires finds nothing due."""
    wake = []
    for role in roles:
        wake.append(role.term_end)
        if role.term == 0 and role.id not in planned:
            wake.append(role.term_end - PLAN_AHEAD)
    due = max(min(wake), now)
    return Tick(circle.id), due, f"rotation:{circle.id}:tick:{due.isoformat()}"


async def schedule_tick(ctx: Ctx, circle: Circle, roles: list[RotationRole]) -> None:
    if roles:
        firsts = [role for role in roles if role.term == 0]
        await ctx.schedule(*tick_timer(circle, roles, await planned(ctx, firsts), ctx.now))


async def tick(ctx: Ctx, circle: Circle) -> None:
    await lock_circle(ctx, circle.id)
    roles = await roles_of(ctx, circle.id)
    due = [r for r in roles if r.term_end <= ctx.now]
    if due:
        await start_terms(ctx, circle, due, on_schedule=True)
    await fill_open_seats(ctx, circle, [r for r in roles if r not in due])
    await draw_first_plans(ctx, circle, roles)
    await schedule_tick(ctx, circle, roles)


# -- candidates and draws ---------------------------------------------------------------------
async def candidates(ctx: Ctx, circle: Circle, role_id: int, term: Term,
                     ignore: Iterable[int] = ()) -> list[Candidate]:
    """Everything the rule needs about every member, in four queries. `ignore`: seats to
    leave out (the two seats of a swap being checked)."""
    skip = set(ignore)
    members = (await ctx.session.execute(
        select(Member.id, Member.joined_at).where(Member.circle_id == circle.id))).all()
    ids = [mid for mid, _ in members]
    pauses: dict[int, list[tuple[datetime, datetime | None]]] = {}
    for p in (await ctx.session.execute(
            select(RotationPause).where(RotationPause.member_id.in_(ids)))).scalars():
        pauses.setdefault(p.member_id, []).append((p.since, p.until))
    seats = (await ctx.session.execute(
        select(RotationSeat).where(
            RotationSeat.circle_id == circle.id, RotationSeat.member_id.is_not(None),
            or_(RotationSeat.state.in_(ACTIVE),
                RotationSeat.starts_at > ctx.now - YEAR - timedelta(weeks=30))))).scalars().all()
    last_held = dict((await ctx.session.execute(
        select(RotationSeat.member_id, func.max(RotationSeat.starts_at))
        .where(RotationSeat.role_id == role_id, RotationSeat.member_id.is_not(None),
               RotationSeat.state.in_((SERVING, SERVED)))
        .group_by(RotationSeat.member_id))).all())
    found = []
    for mid, joined in members:
        mine = [s for s in seats if s.member_id == mid and s.id not in skip]
        found.append(Candidate(
            member_id=mid, joined_at=joined, pauses=tuple(pauses.get(mid, ())),
            service=sum(1 for s in mine
                        if s.state in CREDITED and s.starts_at > ctx.now - YEAR),
            last_held=last_held.get(mid),
            adjacent=any(s.role_id == role_id and s.state in CREDITED
                         and s.term in (term.number - 1, term.number + 1) for s in mine),
            busy=any(s.state in ACTIVE and s.starts_at < term.end and term.start < s.ends_at
                     for s in mine),
            passed=any(s.role_id == role_id and s.term == term.number and s.state == PASSED
                       for s in mine)))
    return found


async def draw(ctx: Ctx, circle: Circle, role: RotationRole, term: Term, indices: list[int],
               state: str) -> list[RotationSeat]:
    """Seats for these indices, filled by the fair rule; a seat no one is eligible for stays
    open (no member)."""
    settings = ctx.section(RotationSettings, circle)
    chosen = rank(await candidates(ctx, circle, role.id, term), term, settings.newcomer_days)
    seats = []
    for i, index in enumerate(indices):
        member_id = chosen[i].member_id if i < len(chosen) else None
        seat = RotationSeat(circle_id=circle.id, role_id=role.id, role_name=role.name,
                            term=term.number, seat=index, member_id=member_id,
                            filled=member_id is not None, state=state, starts_at=term.start,
                            ends_at=term.end)
        ctx.session.add(seat)
        seats.append(seat)
    if state == SERVING and any(s.member_id for s in seats) and role.first_filled_at is None:
        role.first_filled_at = ctx.now
    await ctx.session.flush()
    return seats


async def seats_where(ctx: Ctx, *where: object) -> list[RotationSeat]:
    return list((await ctx.session.execute(
        select(RotationSeat).where(*where)  # type: ignore[arg-type]
        .order_by(RotationSeat.starts_at, RotationSeat.role_id, RotationSeat.seat,
                  RotationSeat.id))).scalars())


async def plan_next(ctx: Ctx, circle: Circle, role: RotationRole,
                    rule: Recurrence, settings: RotationSettings) -> list[RotationSeat]:
    """Draw the holders of the role's next term now, so they know in advance; drop any older
    plan."""
    for old in await seats_where(ctx, RotationSeat.role_id == role.id,
                                 RotationSeat.state == PLANNED):
        await ctx.session.delete(old)
    start = role.term_end
    term = Term(circle.id, role.id, role.term + 1, start,
                term_end(rule, start, weeks_of(role, settings)))
    seats = await draw(ctx, circle, role, term, list(range(role.seats)), PLANNED)
    for seat in seats:
        await schedule_reminders(ctx, circle, seat)
    return seats


async def draw_first_plans(ctx: Ctx, circle: Circle, roles: list[RotationRole]) -> None:
    """A week before a role's first term, its first holders are drawn and the room is told."""
    settings, rule = rule_for(ctx, circle)
    drawn: list[tuple[RotationRole, list[RotationSeat]]] = []
    for role in roles:
        if role.term == 0 and role.term_end - PLAN_AHEAD <= ctx.now \
                and not await has_plan(ctx, role):
            drawn.append((role, await plan_next(ctx, circle, role, rule, settings)))
    if not drawn:
        return
    t = ctx.circle_texts(circle)
    names = await people(ctx, (s.member_id for _, seats in drawn for s in seats))
    start = min(role.term_end for role, _ in drawn)
    lines = [t("rotation.first_plan_head", circle=circle.name,
               start=when(start, circle.timezone, t))]
    for role, seats in drawn:
        lines.append(t("rotation.plan_line", role=label(t, role),
                       holders=holders(t, seats, names), handbook=handbook(t, role)))
    if any(s.member_id is None for _, seats in drawn for s in seats):
        lines.append(t("rotation.open_note", days=settings.newcomer_days))
    ctx.post(circle, "\n".join(lines), label=f"rotation-first:{circle.id}")


def holders(t: Texts, seats: list[RotationSeat], names: dict[int, Person]) -> str:
    return ", ".join(names[s.member_id].display_name if s.member_id in names
                     else t("rotation.open") for s in seats)


# -- terms ------------------------------------------------------------------------------------
@dataclass
class Started:
    role: RotationRole
    seats: list[RotationSeat]
    next: list[RotationSeat]


async def start_terms(ctx: Ctx, circle: Circle, roles: list[RotationRole],
                      on_schedule: bool) -> list[Started]:
    """Start the next term of each role: at its boundary (the timer), or now (`roles rotate`).
    The holders drawn ahead take their seats unless they can no longer serve; empty seats
    are drawn now; then the term after is drawn, the room told, the holders written to."""
    settings, rule = rule_for(ctx, circle)
    now = ctx.now
    for role in roles:
        weeks = weeks_of(role, settings)
        if on_schedule:
            start = role.term_end
            end = term_end(rule, start, weeks)
            while end <= now:  # after downtime: one rotation into the current term, no replay
                start, end = end, term_end(rule, end, weeks)
        else:
            start, end = now, term_end(rule, now, weeks)
        for seat in await seats_where(ctx, RotationSeat.role_id == role.id,
                                      RotationSeat.state == SERVING):
            seat.state = SERVED
            seat.ends_at = min(seat.ends_at, start)
        role.term += 1
        role.term_start, role.term_end = start, end
    await ctx.session.flush()
    started = []
    for role in roles:
        assert role.term_start is not None
        term = Term(circle.id, role.id, role.term, role.term_start, role.term_end)
        planned = {s.seat: s for s in await seats_where(
            ctx, RotationSeat.role_id == role.id, RotationSeat.state == PLANNED,
            RotationSeat.term == role.term)}
        missing = []
        for index in range(role.seats):
            seat = planned.pop(index, None)
            if seat is not None and await _still_free(ctx, seat, term):
                seat.state, seat.starts_at, seat.ends_at = SERVING, term.start, term.end
                if role.first_filled_at is None:
                    role.first_filled_at = now
            else:
                if seat is not None:
                    await ctx.session.delete(seat)
                missing.append(index)
        for seat in planned.values():  # seats the role no longer has
            await ctx.session.delete(seat)
        await ctx.session.flush()
        if missing:
            await draw(ctx, circle, role, term, missing, SERVING)
        seats = await seats_where(ctx, RotationSeat.role_id == role.id,
                                  RotationSeat.state == SERVING)
        started.append(Started(role, sorted(seats, key=lambda s: s.seat), []))
    for item in started:
        item.next = await plan_next(ctx, circle, item.role, rule, settings)
    await _announce(ctx, circle, started, settings)
    return started


async def _still_free(ctx: Ctx, seat: RotationSeat, term: Term) -> bool:
    """A holder drawn ahead keeps the seat unless they left or are now away for more than a
    quarter of the term."""
    if seat.member_id is None:
        return False
    pauses = tuple((p.since, p.until) for p in (await ctx.session.execute(
        select(RotationPause).where(RotationPause.member_id == seat.member_id))).scalars())
    return not away_too_long(Candidate(seat.member_id, term.start, pauses), term)


async def _announce(ctx: Ctx, circle: Circle, started: list[Started],
                    settings: RotationSettings) -> None:
    t = ctx.circle_texts(circle)
    seats = [s for item in started for s in (*item.seats, *item.next)]
    names = await people(ctx, (s.member_id for s in seats))
    lines = [t("rotation.term_head", circle=circle.name)]
    for item in started:
        lines.append(t("rotation.term_line", role=label(t, item.role),
                       holders=holders(t, item.seats, names),
                       end=when(item.role.term_end, circle.timezone, t),
                       next=holders(t, item.next, names), handbook=handbook(t, item.role)))
    if any(s.member_id is None for s in seats):
        lines.append(t("rotation.open_note", days=settings.newcomer_days))
    term = min(item.role.term for item in started)
    ctx.post(circle, "\n".join(lines), label=f"rotation-term:{circle.id}:{term}")
    for item in started:
        for seat in item.seats:
            if seat.member_id in names:
                await tell_holder(ctx, circle, item.role, seat, names[seat.member_id])


async def tell_holder(ctx: Ctx, circle: Circle, role: RotationRole, seat: RotationSeat,
                      person: Person) -> None:
    """The DM a member gets when their term starts (or when they take a seat mid-term)."""
    assert seat.member_id is not None
    tz = await timezone_of(ctx, seat.member_id, circle)
    t = ctx.texts_for(person, circle)
    ctx.dm(person, t("rotation.you_serve", role=label(t, role), circle=circle.name,
                     end=when(seat.ends_at, tz, t), tz=tz, handbook=handbook(t, role)),
           label=f"rotation-serve:{seat.id}")


async def schedule_reminders(ctx: Ctx, circle: Circle, seat: RotationSeat) -> None:
    if seat.member_id is None or seat.state != PLANNED:
        return
    tz = await timezone_of(ctx, seat.member_id, circle)
    for days, at in reminder_times(seat.starts_at, tz, ctx.now):
        await ctx.schedule(Remind(seat.id, seat.member_id, days), at,
                           f"rotation:remind:{seat.id}:{seat.member_id}:{days}")


async def fill_open_seats(ctx: Ctx, circle: Circle, roles: list[RotationRole]) -> None:
    """At each boundary, the open seats of roles that did not turn are offered again by the
    same rule (someone may have become eligible since): never forced, only filled."""
    for role in roles:
        for seat in await seats_where(ctx, RotationSeat.role_id == role.id,
                                      RotationSeat.state.in_(ACTIVE),
                                      RotationSeat.member_id.is_(None)):
            serving = seat.state == SERVING
            start = max(ctx.now, seat.starts_at)
            term = Term(circle.id, role.id, seat.term, start, seat.ends_at)
            settings = ctx.section(RotationSettings, circle)
            chosen = rank(await candidates(ctx, circle, role.id, term), term,
                          settings.newcomer_days)
            if not chosen:
                continue
            seat.member_id, seat.filled, seat.starts_at = chosen[0].member_id, True, start
            if serving and role.first_filled_at is None:
                role.first_filled_at = ctx.now
            await ctx.session.flush()
            person = (await people(ctx, [seat.member_id]))[seat.member_id]
            t = ctx.circle_texts(circle)
            ctx.post(circle, t("rotation.filled_now" if serving else "rotation.filled_next",
                               role=label(t, role), name=person.display_name,
                               start=when(start, circle.timezone, t)),
                     label=f"rotation-fill:{seat.id}")
            if serving:
                await tell_holder(ctx, circle, role, seat, person)
            else:
                await schedule_reminders(ctx, circle, seat)


# -- giving a seat back -----------------------------------------------------------------------
async def release(ctx: Ctx, circle: Circle, seat: RotationSeat, name: str | None) -> None:
    """A holder gives their seat back (skip, pause, leave, forget): it is passed, which earns
    no credit, and the next holder is drawn at once for the rest of that term. The room is
    told; `name` (the one who passed) is left out when they asked to be forgotten."""
    role = await ctx.session.get(RotationRole, seat.role_id) if seat.role_id else None
    if role is None or seat.state not in ACTIVE:
        return
    serving = seat.state == SERVING
    await cancel_swaps(ctx, [seat.id])
    seat.state = PASSED
    start = max(ctx.now, seat.starts_at) if serving else seat.starts_at
    end = seat.ends_at
    if serving:
        seat.ends_at = start
    await ctx.session.flush()
    [new] = await draw(ctx, circle, role, Term(circle.id, role.id, seat.term, start, end),
                       [seat.seat], SERVING if serving else PLANNED)
    names = await people(ctx, [new.member_id])
    t = ctx.circle_texts(circle)
    phase = "now" if serving else "next"
    if new.member_id is None:
        text = t(f"rotation.refill_open_{phase}", role=label(t, role),
                 start=when(start, circle.timezone, t))
    else:
        values = {"role": label(t, role), "new": names[new.member_id].display_name,
                  "start": when(start, circle.timezone, t)}
        text = (t(f"rotation.refilled_{phase}", old=name, **values) if name
                else t(f"rotation.refilled_{phase}_anon", **values))
    ctx.post(circle, text, label=f"rotation-refill:{seat.id}")
    if new.member_id is not None:
        if serving:
            await tell_holder(ctx, circle, role, new, names[new.member_id])
        else:
            await schedule_reminders(ctx, circle, new)


async def cancel_swaps(ctx: Ctx, seat_ids: list[int]) -> None:
    """Pending swap offers for these seats lapse: the seats are changing hands."""
    if seat_ids:
        await ctx.session.execute(
            update(RotationSwap).where(RotationSwap.state == "pending",
                                       or_(RotationSwap.from_seat_id.in_(seat_ids),
                                           RotationSwap.to_seat_id.in_(seat_ids)))
            .values(state="cancelled"))


async def role_holders(session: AsyncSession, circle_id: int,
                       builtin: str) -> list[tuple[Member, Person]]:
    """Who holds one of the default roles this term (the repair team, for `repair`)."""
    return [(m, p) for m, p in (await session.execute(
        select(Member, Person).join(Person, Person.id == Member.person_id)
        .join(RotationSeat, RotationSeat.member_id == Member.id)
        .join(RotationRole, RotationRole.id == RotationSeat.role_id)
        .where(RotationSeat.circle_id == circle_id, RotationSeat.state == SERVING,
               RotationRole.builtin == builtin)
        .order_by(RotationSeat.seat, RotationSeat.id))).all()]


async def steward_assigned(session: AsyncSession, circle_id: int) -> bool:
    """Whether rotation has ever given the steward role to someone: from then on the founder
    is steward only while holding the role."""
    return (await session.execute(
        select(RotationRole.id).where(RotationRole.circle_id == circle_id,
                                      RotationRole.builtin == STEWARD,
                                      RotationRole.first_filled_at.is_not(None)).limit(1)
    )).first() is not None
