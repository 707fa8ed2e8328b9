"""How evenly service is spread, at any instant: the one computation behind `roles balance`
(now) and the health picture's weekly line (the end of each week), so the two always agree.

Who counts at an instant: members past their newcomer days and not paused then (a newcomer's
zero is not unevenness); what counts: the seats they served or serve that started in the year
before it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.context import Ctx
from bot.features.rotation.feature import feature
from bot.features.rotation.models import SERVED, SERVING, RotationPause, RotationRole, RotationSeat
from bot.features.rotation.selection import balance
from bot.features.rotation.settings import RotationSettings
from storage.models import Circle, Member

YEAR = timedelta(days=365)


@dataclass
class Service:
    """A circle's members, their pauses and their seats: read once, asked at many instants."""

    members: list[tuple[int, datetime]]  # member id, joined at
    pauses: list[tuple[int, datetime, datetime | None]]  # member id, since, until
    seats: list[tuple[int, datetime]]  # member id, starts at (serving or served)
    newcomer_days: int

    def able(self, at: datetime) -> list[int]:
        newcomer = timedelta(days=self.newcomer_days)
        paused = {m for m, since, until in self.pauses
                  if since <= at and (until is None or until > at)}
        return [m for m, joined in self.members if joined + newcomer <= at and m not in paused]

    def score(self, at: datetime) -> tuple[float | None, list[int]]:
        """1 − Gini of the service of those who could serve at `at` (None: nothing to
        compare), and who they were."""
        able = self.able(at)
        wanted = set(able)
        given = Counter(m for m, start in self.seats
                        if m in wanted and at - YEAR < start <= at)
        return balance([given.get(m, 0) for m in able]), able


async def service_of(ctx: Ctx, circle: Circle, since: datetime) -> Service:
    """Everything needed for instants from `since` on, in three queries."""
    members = [(m, j) for m, j in (await ctx.session.execute(
        select(Member.id, Member.joined_at).where(Member.circle_id == circle.id))).all()]
    ids = [m for m, _ in members]
    pauses = [(p.member_id, p.since, p.until) for p in (await ctx.session.execute(
        select(RotationPause).where(RotationPause.member_id.in_(ids)))).scalars()]
    seats = [(m, s) for m, s in (await ctx.session.execute(
        select(RotationSeat.member_id, RotationSeat.starts_at)
        .where(RotationSeat.circle_id == circle.id, RotationSeat.member_id.in_(ids),
               RotationSeat.state.in_((SERVING, SERVED)),
               RotationSeat.starts_at > since - YEAR))).all()]
    settings = ctx.section(RotationSettings, circle)
    return Service(members, pauses, seats, settings.newcomer_days)


@feature.health
async def _weekly_balance(ctx: Ctx, weeks: list[Any]) -> list[Any]:
    """The balance at the end of each week (this week: now), as 0-100; nothing at all in a
    circle whose rotation has not started."""
    from bot.features.health.series import Series

    circle = ctx.circle
    assert circle is not None
    started = (await ctx.session.execute(
        select(RotationRole.id).where(RotationRole.circle_id == circle.id,
                                      RotationRole.term > 0).limit(1))).first()
    if started is None:
        return []
    service = await service_of(ctx, circle, weeks[0])
    values: list[float | None] = []
    for end in [*weeks[1:], ctx.now]:
        score, _ = service.score(end)
        values.append(None if score is None else float(round(score * 100)))
    return [Series("health.balance", values, "score")]
