"""The rotation timers: a circle's term boundary, reminders before a term, a swap offer that
lapses. Each is idempotent: a timer that fires again, or late, finds nothing left to do."""

from __future__ import annotations

from bot.context import Ctx
from bot.features.rotation import service as s
from bot.features.rotation.feature import feature
from bot.features.rotation.models import PLANNED, RotationRole, RotationSeat, RotationSwap
from bot.features.rotation.payloads import Remind, SwapLapse, Tick
from bot.membership import lock_circle
from storage.models import Circle


@feature.timer("rotation.tick", Tick)
async def tick(ctx: Ctx, p: Tick) -> None:
    circle = await ctx.session.get(Circle, p.circle_id)
    if circle is not None:
        await s.tick(ctx, circle)


@feature.timer("rotation.remind", Remind)
async def remind(ctx: Ctx, p: Remind) -> None:
    seat = await ctx.session.get(RotationSeat, p.seat_id)
    if seat is None or seat.state != PLANNED or seat.member_id != p.member_id:
        return  # passed, swapped or started since: the reminder is not theirs any more
    circle = await ctx.session.get(Circle, seat.circle_id)
    role = await ctx.session.get(RotationRole, seat.role_id) if seat.role_id else None
    person = (await s.people(ctx, [p.member_id])).get(p.member_id)
    if circle is None or role is None or person is None:
        return
    tz = await s.timezone_of(ctx, p.member_id, circle)
    t = ctx.texts_for(person, circle)
    # Not worth sending once the term has begun (the term's own DM says it then).
    ctx.dm(person, t("rotation.reminder", role=s.label(t, role), circle=circle.name,
                     start=s.when(seat.starts_at, tz, t), tz=tz, handbook=s.handbook(t, role)),
           label=f"remind:{seat.id}:{p.member_id}:{p.days}", expires_at=seat.starts_at)


@feature.timer("rotation.swap_lapse", SwapLapse)
async def swap_lapse(ctx: Ctx, p: SwapLapse) -> None:
    swap = await ctx.session.get(RotationSwap, p.swap_id)
    if swap is None:
        return
    circle = await lock_circle(ctx, swap.circle_id)  # an accept at this instant goes first or after
    await ctx.session.refresh(swap)
    if swap.state != "pending":
        return
    swap.state = "lapsed"
    found = await s.people(ctx, [swap.from_member_id, swap.to_member_id])
    offerer, other = found.get(swap.from_member_id), found.get(swap.to_member_id)
    if circle is not None and offerer is not None:
        t = ctx.texts_for(offerer, circle)
        ctx.dm(offerer, t("rotation.swap_lapsed", name=other.display_name if other else "-"),
               label=f"swap-lapsed:{swap.id}")
