"""Mentorship timers, each with its typed payload: the next ask round, the weekly pair nudge,
and the gentle word after a pairing ends."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from bot.context import Ctx
from bot.features.mentorship import asking as a
from bot.features.mentorship.feature import feature
from bot.features.mentorship.models import MentorPairing, MentorRequest
from storage.models import Circle, Member, Person


@dataclass(frozen=True)
class AskRound:
    request_id: int
    round: int  # the round whose time ran out


@dataclass(frozen=True)
class Nudge:
    pairing_id: int
    member_id: int  # the side it goes to


@dataclass(frozen=True)
class EndFollowUp:
    member_id: int  # the mentee whose pairing ended


@feature.timer("mentorship.ask_round", AskRound)
async def ask_round_due(ctx: Ctx, p: AskRound) -> None:
    req = await ctx.session.get(MentorRequest, p.request_id, with_for_update=True)
    if req is None or req.state != "open" or req.round != p.round:
        return  # matched, withdrawn, or a round of passes moved on already
    circle = await ctx.session.get(Circle, req.circle_id)
    if circle is None or req.requester_member_id is None:
        return
    # After downtime this fires late, once: one new round now, never one per missed day.
    await a.next_round_now(ctx, req, circle, why="time")


@feature.timer("mentorship.nudge", Nudge)
async def nudge(ctx: Ctx, p: Nudge) -> None:
    pairing = await ctx.session.get(MentorPairing, p.pairing_id)
    if pairing is None or pairing.ended_at is not None:
        return
    me, other_id = ((pairing.nudge_mentor, pairing.mentee_member_id)
                    if p.member_id == pairing.mentor_member_id
                    else (pairing.nudge_mentee, pairing.mentor_member_id))
    side = await a.party(ctx, p.member_id)
    circle = await ctx.session.get(Circle, pairing.circle_id)
    other = await a.party(ctx, other_id)
    if side is None or circle is None or other is None:
        return
    if me:
        t = ctx.texts_for(side.person, circle)
        ctx.dm(side.person, t("mentor.nudge", name=other.person.display_name,
                              circle=circle.name), label="nudge")
    # The next one a week on, in this member's own morning, whether or not this one went out
    # (turning nudges back on needs no new timer).
    due = a.at_local(ctx.now + a.NUDGE_EVERY, await a.zone_of(ctx, side.member.id, circle))
    await ctx.schedule(Nudge(pairing.id, side.member.id), due,
                       a.nudge_key(pairing.id, side.member.id, due))


@feature.timer("mentorship.end_followup", EndFollowUp)
async def end_followup(ctx: Ctx, p: EndFollowUp) -> None:
    member = await ctx.session.get(Member, p.member_id)
    if member is None:
        return  # left the circle
    busy = (await ctx.session.execute(
        select(MentorPairing.id).where(MentorPairing.mentee_member_id == member.id,
                                       MentorPairing.ended_at.is_(None))
        .union_all(select(MentorRequest.id).where(
            MentorRequest.requester_member_id == member.id, MentorRequest.state == "open"))
        .limit(1))).first()
    if busy is not None:
        return  # they have a mentor again, or asked for one: nothing to offer
    person = await ctx.session.get(Person, member.person_id)
    circle = await ctx.session.get(Circle, member.circle_id)
    if person is None or circle is None:
        return
    t = ctx.texts_for(person, circle)
    ctx.dm(person, t("mentor.end_followup", circle=circle.name), label="end-followup")
