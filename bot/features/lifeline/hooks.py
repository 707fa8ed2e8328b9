"""What the lifeline does when a member leaves, is forgotten, or asks what is held."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from bot.context import Ctx
from bot.features.lifeline import requests as r
from bot.features.lifeline.feature import feature
from bot.features.lifeline.models import LifelinePage, LifelineRequest
from bot.features.lifeline.states import ACTIVE, State
from bot.features.lifeline.timers import Lapse, lapse
from storage.models import Circle, Member, Person


@feature.member_left
async def member_leaving(ctx: Ctx, member: Member, circle: Circle) -> None:
    """Before the membership goes, so nothing waits on someone who left: their own request
    is cancelled, a claim they hold lapses and paging resumes now."""
    own = await r.active_request_of(ctx, [member.id])
    if own is not None:
        await r.lock(ctx, own)
        if own.state in ACTIVE:
            await r.close(ctx, own, circle, "cancel",
                          tell_claimer="lifeline.claimed_requester_gone")
    held = (await ctx.session.execute(
        select(LifelineRequest).where(LifelineRequest.claimed_by_member_id == member.id,
                                      LifelineRequest.state == State.CLAIMED.value)
    )).scalars().all()
    for req in held:
        await r.lock(ctx, req)
        req.claimed_by_member_id = None  # nobody to tell "no confirmation" to
        await lapse(ctx, req, circle, Lapse(req.id, req.lapses))


@feature.forget_person
async def _forget(ctx: Ctx, person: Person) -> int:
    """Requests the person made lose their note and their link (the counts the report uses
    stay); pages sent to them go."""
    mine = select(Member.id).where(Member.person_id == person.id)
    notes = await ctx.session.execute(
        update(LifelineRequest).where(LifelineRequest.requester_member_id.in_(mine))
        .values(note=None, requester_member_id=None))
    taken = await ctx.session.execute(
        update(LifelineRequest).where(LifelineRequest.claimed_by_member_id.in_(mine))
        .values(claimed_by_member_id=None))
    pages = await ctx.session.execute(
        delete(LifelinePage).where(LifelinePage.member_id.in_(mine)))
    return int(sum(x.rowcount or 0 for x in (notes, taken, pages)))  # type: ignore[attr-defined]


@feature.export_person
async def _export(ctx: Ctx, person: Person) -> dict[str, Any]:
    mine = select(Member.id).where(Member.person_id == person.id)
    requests = (await ctx.session.execute(
        select(LifelineRequest).where(LifelineRequest.requester_member_id.in_(mine))
        .order_by(LifelineRequest.id))).scalars().all()
    pages = (await ctx.session.execute(
        select(LifelinePage).where(LifelinePage.member_id.in_(mine))
        .order_by(LifelinePage.id))).scalars().all()
    return {
        "requests": [{"id": q.id, "state": q.state, "note": q.note,
                      "opened_at": q.opened_at.isoformat(),
                      "closed_at": q.closed_at.isoformat() if q.closed_at else None}
                     for q in requests],
        "pages_received": [{"request": p.request_id, "state": p.state,
                            "paged_at": p.paged_at.isoformat()} for p in pages],
    }
