"""What repair does when a member leaves or is forgotten, what it exports, and its daily
sweep (a summary the requester never agreed to is not kept)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update

from bot.context import Ctx
from bot.features.repair.feature import feature
from bot.features.repair.models import RepairRequest, RepairTeamSeat
from bot.features.repair.requests import SUMMARY_WAIT, close, mine, room_label
from bot.features.repair.states import UNCLOSED, State
from bot.mentions import name_pattern
from bot.outbox import ROOM_LABEL, ROOM_MEMBERS
from storage.models import Circle, Member, OutboxMessage, Person


async def _closing(ctx: Ctx, member: Member, circle: Circle, why: str) -> None:
    """A requester who goes closes their request (the note goes with it); someone convened
    who goes is no longer part of it; a subject who goes is no longer named."""
    own = (await ctx.session.execute(
        select(RepairRequest).where(RepairRequest.requester_member_id == member.id,
                                    RepairRequest.state.in_([s.value for s in UNCLOSED]))
        .with_for_update())).scalars().all()
    for request in own:
        await close(ctx, request, circle, by=None, why=why)
    await ctx.session.execute(delete(RepairTeamSeat).where(
        RepairTeamSeat.member_id == member.id))
    await ctx.session.execute(
        update(RepairRequest).where(RepairRequest.subject_member_id == member.id)
        .values(subject_member_id=None))


@feature.member_left
async def left(ctx: Ctx, member: Member, circle: Circle) -> None:
    await _closing(ctx, member, circle, "left")


@feature.forget_person
async def _forget(ctx: Ctx, person: Person) -> int:
    """Their requests are closed and unlinked (the date and history stay, anonymous; a
    summary goes, it may describe them); they leave every convening; the private rooms'
    posts no longer list or name them."""
    rows = (await ctx.session.execute(
        select(Member, Circle).join(Circle, Circle.id == Member.circle_id)
        .where(Member.person_id == person.id))).all()
    for member, circle in rows:
        await _closing(ctx, member, circle, "forgotten")
    labels = set()
    heard = await ctx.session.execute(select(RepairRequest).where(or_(
        RepairRequest.requester_member_id.in_(mine(person)),
        RepairRequest.id.in_(select(RepairTeamSeat.request_id).where(
            RepairTeamSeat.member_id.in_(mine(person)))))))
    for request in heard.scalars():
        labels.add(room_label(request))
    unlinked = await ctx.session.execute(
        update(RepairRequest).where(RepairRequest.requester_member_id.in_(mine(person)))
        .values(requester_member_id=None, summary=None, summary_agreed=False))
    removed = int(unlinked.rowcount or 0)  # type: ignore[attr-defined]
    rooms = (await ctx.session.execute(
        select(OutboxMessage).where(OutboxMessage.kind == "room"))).scalars().all()
    for row in rooms:
        meta = dict(row.meta or {})
        members = list(meta.get(ROOM_MEMBERS, ()))
        if person.platform_user_id not in members and meta.get(ROOM_LABEL) not in labels:
            continue
        if not str(meta.get(ROOM_LABEL, "")).startswith("repair#"):
            continue
        meta[ROOM_MEMBERS] = [m for m in members if m != person.platform_user_id]
        row.meta = meta
        named = name_pattern(person.display_name) if person.display_name else None
        if named is not None and named.search(row.text):
            # Sent: its body is not needed again. Not yet sent: the others still get it.
            row.text = "" if row.sent_at is not None else named.sub("…", row.text)
        removed += 1
    return removed


@feature.export_person
async def _export(ctx: Ctx, person: Person) -> dict[str, Any]:
    asked = (await ctx.session.execute(
        select(RepairRequest, Circle).join(Circle, Circle.id == RepairRequest.circle_id)
        .where(RepairRequest.requester_member_id.in_(mine(person)))
        .order_by(RepairRequest.id))).all()
    heard = (await ctx.session.execute(
        select(RepairRequest, Circle).join(Circle, Circle.id == RepairRequest.circle_id)
        .join(RepairTeamSeat, RepairTeamSeat.request_id == RepairRequest.id)
        .where(RepairTeamSeat.member_id.in_(mine(person)),
               RepairRequest.state == State.CONVENED.value)
        .order_by(RepairRequest.id))).all()
    return {
        "repair_requests": [
            {"id": r.id, "circle": c.name, "state": r.state, "note": r.note,
             "history": list(r.history or ()), "summary": r.summary,
             "summary_agreed": r.summary_agreed, "created_at": r.created_at.isoformat(),
             "closed_at": r.closed_at.isoformat() if r.closed_at else None}
            for r, c in asked],
        # Convenings they are part of: which and since when, never the words or who asked.
        "repair_convenings": [{"id": r.id, "circle": c.name, "state": r.state}
                              for r, c in heard],
    }


@feature.housekeeping
async def _sweep(ctx: Ctx) -> None:
    await ctx.session.execute(
        update(RepairRequest).where(RepairRequest.summary.is_not(None),
                                    RepairRequest.summary_agreed.is_(False),
                                    RepairRequest.closed_at < ctx.now - SUMMARY_WAIT)
        .values(summary=None))
