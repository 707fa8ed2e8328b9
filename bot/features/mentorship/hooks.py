"""What mentorship does when a member leaves, is forgotten, or asks what is held; and the
counts `circle info` shows (never who)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, or_, select, update

from bot.context import Ctx
from bot.features.mentorship import asking as a
from bot.features.mentorship.feature import feature
from bot.features.mentorship.models import (
    DyadAssignment,
    DyadMember,
    MentorAsk,
    MentorOffer,
    MentorPairing,
    MentorRequest,
)
from bot.features.privacy.retention import note_cutoffs
from storage.models import Circle, Member, OutboxMessage, Person


async def _let_go(ctx: Ctx, member: Member, circle: Circle, why: str) -> None:
    """The member is going: they are asked nothing more, their request is withdrawn, and
    each current pairing ends gracefully, the other side thanked."""
    offer = await ctx.session.get(MentorOffer, member.id)
    if offer is not None:
        await ctx.session.delete(offer)
    own = (await ctx.session.execute(
        select(MentorRequest).where(MentorRequest.requester_member_id == member.id,
                                    MentorRequest.state == "open"))).scalars().all()
    for req in own:
        await a.lock(ctx, req)
        if req.state == "open":
            req.state, req.closed_at = "cancelled", ctx.now
            await a.cancel_round_timers(ctx, req)
            await a.close_asks(ctx, req, circle, "closed", "mentor.ask_withdrawn")
    await ctx.session.execute(
        delete(MentorAsk).where(MentorAsk.member_id == member.id, MentorAsk.state == "open"))
    await ctx.session.flush()
    pairings = (await ctx.session.execute(
        select(MentorPairing).where(
            MentorPairing.ended_at.is_(None),
            or_(MentorPairing.mentor_member_id == member.id,
                MentorPairing.mentee_member_id == member.id)))).scalars().all()
    for pairing in pairings:
        await a.end_pairing(ctx, pairing, circle, by_member_id=member.id, why=why)


@feature.member_left
async def member_leaving(ctx: Ctx, member: Member, circle: Circle) -> None:
    await _let_go(ctx, member, circle, "left")
    dyad = await ctx.session.get(DyadMember, member.id)
    if dyad is not None:
        await ctx.session.delete(dyad)


@feature.forget_person
async def _forget(ctx: Ctx, person: Person) -> int:
    """Everything that names the person goes: offers, requests and their notes, asks,
    pairings (after the other side is told, without a name), dyads, and the posts in the
    private rooms that were opened for their pairings."""
    removed = 0
    members = (await ctx.session.execute(
        select(Member, Circle).join(Circle, Circle.id == Member.circle_id)
        .where(Member.person_id == person.id))).all()
    for member, circle in members:
        await _let_go(ctx, member, circle, "forgotten")
    mine = select(Member.id).where(Member.person_id == person.id)
    pairings = (await ctx.session.execute(
        select(MentorPairing).where(or_(MentorPairing.mentor_member_id.in_(mine),
                                        MentorPairing.mentee_member_id.in_(mine)))
    )).scalars().all()
    labels = [a.room_label(p) for p in pairings]
    if labels:
        rooms = (await ctx.session.execute(
            select(OutboxMessage).where(OutboxMessage.kind == "room"))).scalars().all()
        for row in rooms:
            if (row.meta or {}).get("room_label") in labels:
                await ctx.session.delete(row)
                removed += 1
    for pairing in pairings:
        await ctx.session.delete(pairing)
    removed += len(pairings)
    for statement in (
        delete(MentorRequest).where(MentorRequest.requester_member_id.in_(mine)),
        delete(MentorAsk).where(MentorAsk.member_id.in_(mine)),
        delete(MentorOffer).where(MentorOffer.member_id.in_(mine)),
        delete(DyadAssignment).where(DyadAssignment.member_id.in_(mine)),
        delete(DyadMember).where(DyadMember.member_id.in_(mine)),
    ):
        result = await ctx.session.execute(statement)
        removed += int(result.rowcount or 0)  # type: ignore[attr-defined]
    return removed


@feature.export_person
async def _export(ctx: Ctx, person: Person) -> dict[str, Any]:
    mine = select(Member.id).where(Member.person_id == person.id)
    offers = (await ctx.session.execute(
        select(MentorOffer, Circle).join(Member, Member.id == MentorOffer.member_id)
        .join(Circle, Circle.id == Member.circle_id)
        .where(MentorOffer.member_id.in_(mine)))).all()
    requests = (await ctx.session.execute(
        select(MentorRequest).where(MentorRequest.requester_member_id.in_(mine))
        .order_by(MentorRequest.id))).scalars().all()
    asks = (await ctx.session.execute(
        select(MentorAsk).where(MentorAsk.member_id.in_(mine)).order_by(MentorAsk.id)
    )).scalars().all()
    ids = set((await ctx.session.execute(mine)).scalars())
    pairings = (await ctx.session.execute(
        select(MentorPairing).where(or_(MentorPairing.mentor_member_id.in_(mine),
                                        MentorPairing.mentee_member_id.in_(mine)))
        .order_by(MentorPairing.id))).scalars().all()
    dyads = (await ctx.session.execute(
        select(DyadMember).where(DyadMember.member_id.in_(mine)))).scalars().all()
    rounds = int((await ctx.session.execute(
        select(func.count()).select_from(DyadAssignment)
        .where(DyadAssignment.member_id.in_(mine)))).scalar_one())

    def when(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "offers": [{"circle": c.name, "capacity": o.capacity, "tags": o.tags,
                    "paused": o.paused} for o, c in offers],
        "requests": [{"id": r.id, "state": r.state, "tags": r.tags, "note": r.note,
                      "opened_at": when(r.opened_at), "closed_at": when(r.closed_at)}
                     for r in requests],
        "asked_to_mentor": [{"request": q.request_id, "state": q.state,
                             "asked_at": when(q.asked_at)} for q in asks],
        "pairings": [{"role": "mentor" if p.mentor_member_id in ids else "mentee",
                      "started_at": when(p.started_at), "ended_at": when(p.ended_at)}
                     for p in pairings],
        "dyads": [{"tags": d.tags, "joined_at": when(d.joined_at)} for d in dyads],
        "dyad_rounds": rounds,
    }


@feature.circle_info
async def _info(ctx: Ctx) -> list[str]:
    circle = ctx.circle
    assert circle is not None
    offers = (await ctx.session.execute(
        select(MentorOffer).join(Member, Member.id == MentorOffer.member_id)
        .where(Member.circle_id == circle.id, MentorOffer.paused.is_(False)))).scalars().all()
    load = await a.mentees_by_mentor(ctx, [o.member_id for o in offers])
    with_room = sum(1 for o in offers if o.capacity > load.get(o.member_id, 0))
    waiting = int((await ctx.session.execute(
        select(func.count()).select_from(MentorRequest)
        .where(MentorRequest.circle_id == circle.id, MentorRequest.state == "open")
    )).scalar_one())
    return [ctx.n("mentor.info_room", with_room), ctx.n("mentor.info_waiting", waiting)]


@feature.housekeeping
async def _retention(ctx: Ctx) -> None:
    """A request's note served the asking: once the request closed, it is kept no longer
    than the circle keeps check-in notes."""
    for cutoff, circle_ids in (await note_cutoffs(ctx)).items():
        await ctx.session.execute(
            update(MentorRequest)
            .where(MentorRequest.circle_id.in_(circle_ids), MentorRequest.state != "open",
                   MentorRequest.closed_at < cutoff, MentorRequest.note.is_not(None))
            .values(note=None))
