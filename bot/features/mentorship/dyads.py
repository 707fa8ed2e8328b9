"""Peer dyads: `dyads on|off`; every `dyads_every_days` the opted-in members of a circle are
paired (a trio when the count is odd), across working groups where possible and never with
someone from the last `dyads_avoid_repeat_rounds` rounds when that can be helped. Each member
gets one DM naming their partner(s). Rounds are rows with a timer each, so a restart neither
skips nor repeats one."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any

from sqlalchemy import func, select

from bot.commands import Arg, Kind
from bot.context import Ctx, UserError
from bot.features.mentorship.asking import at_local
from bot.features.mentorship.feature import feature
from bot.features.mentorship.grouping import Pair, make_groups
from bot.features.mentorship.models import DyadAssignment, DyadMember, DyadRound
from bot.features.mentorship.settings import MentorshipSettings
from bot.features.mentorship.tags import parse_tags, show
from bot.mentions import mention
from bot.timezones import zone
from storage.models import Circle, Member, Person

DYAD_HOUR = 10  # circle time: pairings arrive in the morning
FIRST_AFTER = timedelta(days=1)  # time for others to opt in before the first pairing
HISTORY_ROUNDS = 52  # how far back "met before" looks


@dataclass(frozen=True)
class DyadDue:
    round_id: int


def _key(circle: Circle, number: int) -> str:
    return f"dyads:{circle.id}:{number}"


async def pending_round(ctx: Ctx, circle: Circle) -> DyadRound | None:
    return (await ctx.session.execute(
        select(DyadRound).where(DyadRound.circle_id == circle.id, DyadRound.held_at.is_(None))
        .order_by(DyadRound.number).limit(1))).scalar_one_or_none()


async def _add_round(ctx: Ctx, circle: Circle, due: datetime) -> DyadRound:
    last = (await ctx.session.execute(
        select(func.max(DyadRound.number)).where(DyadRound.circle_id == circle.id)
    )).scalar()
    rnd = DyadRound(circle_id=circle.id, number=(last or 0) + 1, due_at=due)
    ctx.session.add(rnd)
    await ctx.session.flush()
    await ctx.schedule(DyadDue(rnd.id), due, _key(circle, rnd.number))
    return rnd


async def ensure_round(ctx: Ctx, circle: Circle) -> DyadRound:
    """The circle's next round, added when there is none (the first member opted in)."""
    # Held for the check: two members opting in at once add one round, not two.
    await ctx.session.refresh(circle, with_for_update=True)
    found = await pending_round(ctx, circle)
    if found is not None:
        return found
    return await _add_round(ctx, circle, at_local(ctx.now + FIRST_AFTER, circle.timezone,
                                                  DYAD_HOUR))


def _when(rnd: DyadRound, circle: Circle) -> str:

    return rnd.due_at.astimezone(zone(circle.timezone)).strftime("%Y-%m-%d %H:%M")


@feature.command("dyads", Arg("state", Kind.CHOICE, choices=("on", "off"),
                              help="arg.dyads.state"),
                 Arg("tags", Kind.REST, max_len=300, help="arg.dyads.tags"))
async def dyads(ctx: Ctx, args: dict[str, Any]) -> str:
    assert ctx.circle is not None and ctx.member is not None
    circle, member = ctx.circle, ctx.member
    row = await ctx.session.get(DyadMember, member.id)
    state, tags = args["state"], args["tags"]
    if state is None and tags:
        raise UserError(ctx.t("dyads.err.say_on", tags=tags[:60]))
    if state == "off":
        if tags:
            raise UserError(ctx.t("dyads.err.off_alone"))
        if row is not None:
            await ctx.session.delete(row)
        return ctx.t("dyads.off", circle=circle.name)
    if state == "on":
        if row is None:
            row = DyadMember(member_id=member.id, tags=[], joined_at=ctx.now)
            ctx.session.add(row)
        if tags:
            row.tags = parse_tags(ctx, tags)
        rnd = await ensure_round(ctx, circle)
        settings = ctx.section(MentorshipSettings, circle)
        return ctx.t("dyads.on", circle=circle.name, days=settings.dyads_every_days,
                     when=_when(rnd, circle), tags=show(row.tags))
    if row is None:
        return ctx.t("dyads.status_out", circle=circle.name)
    rnd = await pending_round(ctx, circle)
    return ctx.t("dyads.status_in", circle=circle.name, tags=show(row.tags),
                 when=_when(rnd, circle) if rnd else "-")


async def _history(ctx: Ctx, circle: Circle, number: int, window: int
                   ) -> tuple[dict[Pair, int], Counter[Pair]]:
    """Pairs of earlier rounds: how many rounds ago they last met (within the window), and
    how often they met before that."""
    rows = (await ctx.session.execute(
        select(DyadRound.number, DyadAssignment.group_no, DyadAssignment.member_id)
        .join(DyadAssignment, DyadAssignment.round_id == DyadRound.id)
        .where(DyadRound.circle_id == circle.id, DyadRound.number < number,
               DyadRound.number >= number - HISTORY_ROUNDS))).all()
    groups: dict[tuple[int, int], list[int]] = {}
    for n, g, m in rows:
        groups.setdefault((n, g), []).append(m)
    recent: dict[Pair, int] = {}
    met: Counter[Pair] = Counter()
    for (n, _), members in groups.items():
        age = number - n
        for p in combinations(sorted(members), 2):
            pair = frozenset(p)
            if age <= window:
                recent[pair] = min(age, recent.get(pair, age))
            else:
                met[pair] += 1
    return recent, met


def _who(person: Person) -> str:
    contact = mention(person)
    return person.display_name if contact.lstrip("@") == person.display_name else (
        f"{person.display_name} ({contact})")


@feature.timer("mentorship.dyads", DyadDue)
async def dyads_due(ctx: Ctx, p: DyadDue) -> None:
    rnd = await ctx.session.get(DyadRound, p.round_id, with_for_update=True)
    if rnd is None or rnd.held_at is not None:
        return
    circle = await ctx.session.get(Circle, rnd.circle_id)
    if circle is None:
        return
    settings = ctx.section(MentorshipSettings, circle)
    rows = (await ctx.session.execute(
        select(DyadMember, Person).join(Member, Member.id == DyadMember.member_id)
        .join(Person, Person.id == Member.person_id)
        .where(Member.circle_id == circle.id).order_by(DyadMember.member_id))).all()
    rnd.held_at = ctx.now
    people = {d.member_id: person for d, person in rows}
    if len(rows) == 1:
        person = rows[0][1]
        t = ctx.texts_for(person, circle)
        ctx.dm(person, t("dyads.alone", circle=circle.name), label="dyad-alone")
    elif rows:
        window = settings.dyads_avoid_repeat_rounds
        recent, met = await _history(ctx, circle, rnd.number, window)
        groups = make_groups(list(people), tags={d.member_id: frozenset(d.tags or ())
                                                 for d, _ in rows},
                             recent=recent, window=window, met=met,
                             seed=f"{circle.id}:{rnd.number}")
        for number, group in enumerate(groups):
            for member_id in group:
                ctx.session.add(DyadAssignment(round_id=rnd.id, member_id=member_id,
                                               group_no=number))
                person = people[member_id]
                others = ", ".join(_who(people[o]) for o in group if o != member_id)
                t = ctx.texts_for(person, circle)
                key = "dyads.pair" if len(group) == 2 else "dyads.trio"
                ctx.dm(person, t(key, circle=circle.name, names=others,
                                 days=settings.dyads_every_days), label=f"dyad:{member_id}")
    if rows:
        # Counted from this round's own due time in circle time (never drifting, never
        # an hour off at a DST change); after downtime, the next one still in the future.
        due = rnd.due_at
        while due <= ctx.now:
            due = at_local(due + timedelta(days=settings.dyads_every_days), circle.timezone,
                           DYAD_HOUR)
        await _add_round(ctx, circle, due)
