"""The lifeline's timers, each with its typed payload. All are urgent: they are claimed
before every other due timer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from bot.context import Ctx
from bot.features.lifeline import requests as r
from bot.features.lifeline.feature import feature
from bot.features.lifeline.models import LifelinePage, LifelineRequest
from bot.features.lifeline.states import ACTIVE, State, move
from bot.outbox import PRIORITY_LIFELINE
from storage.models import Circle


@dataclass(frozen=True)
class WaveDue:
    request_id: int
    wave: int


@dataclass(frozen=True)
class GiveUp:
    request_id: int
    round: int  # which paging round (a lapse starts a new one)


@dataclass(frozen=True)
class ConnectCheck:
    request_id: int
    lapses: int


@dataclass(frozen=True)
class Lapse:
    request_id: int
    lapses: int


@dataclass(frozen=True)
class Expire:
    request_id: int


@dataclass(frozen=True)
class FollowUp:
    request_id: int


@dataclass(frozen=True)
class ForgetNote:
    request_id: int


RequestTimer = Callable[[Ctx, LifelineRequest, Circle, Any], Awaitable[None]]


def request_timer(kind: str, payload: type) -> Callable[[RequestTimer], RequestTimer]:
    """A lifeline timer handler gets its request (locked) and circle; gone ones are skipped,
    and a request whose requester left is closed instead."""
    def deco(fn: RequestTimer) -> RequestTimer:
        @feature.timer(kind, payload, urgent=True)
        async def run(ctx: Ctx, p: Any) -> None:
            found = (await r.load(ctx, [p.request_id])).get(p.request_id)
            if found is not None and not await r.requester_left(ctx, *found):
                await fn(ctx, *found, p)
        return fn
    return deco


@feature.timer("lifeline.wave", WaveDue, urgent=True, together=True)
async def waves_due(due: list[tuple[Ctx, WaveDue]]) -> None:
    """Every due wave of a claim at once: after a burst of calls, hundreds fall due
    together, and each should reach its peers within a second."""
    found = await r.load(due[0][0], [p.request_id for _, p in due])
    waves = []
    for ctx, p in due:
        if p.request_id not in found or await r.requester_left(ctx, *found[p.request_id]):
            continue
        req, circle = found[p.request_id]
        if req.state != State.PAGING or req.wave + 1 != p.wave:
            continue  # stale: claimed, closed, or a decline already started this wave
        # After downtime this fires late, once: one wave now, not every missed one.
        waves.append(r.Wave(ctx, req, circle))
    await r.next_waves(waves)


@request_timer("lifeline.give_up", GiveUp)
async def give_up_due(ctx: Ctx, req: LifelineRequest, circle: Circle, p: GiveUp) -> None:
    if req.state == State.PAGING and req.lapses == p.round:
        await r.fallback(ctx, req, circle)


@request_timer("lifeline.connect_check", ConnectCheck)
async def connect_check(ctx: Ctx, req: LifelineRequest, circle: Circle,
                        p: ConnectCheck) -> None:
    if req.state != State.CLAIMED or req.lapses != p.lapses:
        return
    if req.claimed_by_member_id is None:  # the one who took it left the circle: don't wait
        await lapse(ctx, req, circle, Lapse(req.id, p.lapses))
        return
    for party in filter(None, [await r.party(ctx, req.requester_member_id),
                               await r.party(ctx, req.claimed_by_member_id)]):
        t = ctx.texts_for(party.person, circle)
        ctx.dm(party.person, t("lifeline.connected_question", id=req.id),
               label=f"connected?:{party.member.id}", priority=PRIORITY_LIFELINE)
    await ctx.schedule(Lapse(req.id, req.lapses), ctx.now + r.CONFIRM_GRACE,
                       r.key(req, f"lapse:{req.lapses}"))


@request_timer("lifeline.lapse", Lapse)
async def lapse(ctx: Ctx, req: LifelineRequest, circle: Circle, p: Lapse) -> None:
    if req.state != State.CLAIMED or req.lapses != p.lapses:
        return
    claimer = await r.party(ctx, req.claimed_by_member_id)
    if claimer is not None:
        page = (await ctx.session.execute(
            select(LifelinePage).where(LifelinePage.request_id == req.id,
                                       LifelinePage.member_id == claimer.member.id,
                                       LifelinePage.state == "claimed")
        )).scalars().first()
        if page is not None:
            page.state = "lapsed"
        t = ctx.texts_for(claimer.person, circle)
        ctx.dm(claimer.person, t("lifeline.lapsed_to_claimer", id=req.id),
               label=f"lapsed-claimer:{req.lapses}")
    move(req, "lapse")
    req.claimed_by_member_id = None
    req.claimed_at = None
    req.lapses += 1
    requester = await r.party(ctx, req.requester_member_id)
    if requester is not None:
        t = ctx.texts_for(requester.person, circle)
        ctx.dm(requester.person, t("lifeline.lapsed_to_requester", id=req.id),
               label=f"lapsed:{req.lapses}", priority=PRIORITY_LIFELINE)
    await ctx.schedule(GiveUp(req.id, req.lapses),
                       ctx.now + timedelta(minutes=req.policy["give_up_minutes"]),
                       r.key(req, f"give_up:{req.lapses}"))
    await r.next_wave(ctx, req, circle)


@request_timer("lifeline.expire", Expire)
async def expire(ctx: Ctx, req: LifelineRequest, circle: Circle, p: Expire) -> None:
    if req.state in ACTIVE:
        await r.close(ctx, req, circle, "expire")


@request_timer("lifeline.followup", FollowUp)
async def followup(ctx: Ctx, req: LifelineRequest, circle: Circle, p: FollowUp) -> None:
    requester = await r.party(ctx, req.requester_member_id)
    if requester is not None and req.followup:
        t = ctx.texts_for(requester.person, circle)
        ctx.dm(requester.person, t("lifeline.followup", circle=circle.name), label="followup")


@feature.timer("lifeline.forget_note", ForgetNote)
async def forget_note(ctx: Ctx, p: ForgetNote) -> None:
    req = await ctx.session.get(LifelineRequest, p.request_id)
    if req is not None:
        req.note = None
