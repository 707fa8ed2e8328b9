"""`lifeline report`: how the lifeline is doing for a circle. Never per person."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.commands import Arg, Kind, Who
from bot.context import Ctx
from bot.features.availability.commands import enabled_rows
from bot.features.availability.windows import inside_text
from bot.features.lifeline.feature import feature
from bot.features.lifeline.models import LifelinePage, LifelineRequest
from bot.timers import LATE_AFTER
from storage.models import Timer


def percentile(values: list[float], pct: float) -> float | None:
    """Nearest-rank percentile: the smallest value with at least pct% of values at or below."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def fmt_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    minutes, rest = divmod(s, 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _spans(reqs: list[LifelineRequest], attr: str) -> list[float]:
    return [(getattr(r, attr) - r.opened_at).total_seconds() for r in reqs
            if getattr(r, attr) is not None]


async def coverage_gap_hours(ctx: Ctx, circle_id: int, since: datetime, until: datetime
                             ) -> int:
    """Whole hours in [since, until) at whose start no opted-in member's window is open."""
    rows = await enabled_rows(ctx, circle_id)
    start = since.replace(minute=0, second=0, microsecond=0)
    if start < since:
        start += timedelta(hours=1)
    gaps, instant = 0, start
    while instant < until:
        if not any(inside_text(a.windows, a.timezone, instant) for a in rows):
            gaps += 1
        instant += timedelta(hours=1)
    return gaps


@feature.command("lifeline report",
                 Arg("period", Kind.CHOICE, choices=("7d", "30d"), default="7d"),
                 who=Who.STEWARD)
async def report(ctx: Ctx, args: dict[str, Any]) -> str:
    circle = ctx.circle
    assert circle is not None
    days = 7 if args["period"] == "7d" else 30
    since = ctx.now - timedelta(days=days)
    reqs = list((await ctx.session.execute(
        select(LifelineRequest).where(LifelineRequest.circle_id == circle.id,
                                      LifelineRequest.opened_at >= since)
    )).scalars())
    ids = [r.id for r in reqs]
    pages = 0
    if ids:
        pages = int((await ctx.session.execute(
            select(func.count()).select_from(LifelinePage)
            .where(LifelinePage.request_id.in_(ids))
        )).scalar_one())
    weeks = days / 7
    gaps = await coverage_gap_hours(ctx, circle.id, since, ctx.now)
    late = await _late_timers(ctx, set(ids), since)
    n = len(reqs)
    lines = [ctx.n("report.head", n, name=circle.name, days=days)]
    for label, attr in (("report.first_page", "first_page_at"),
                        ("report.claim", "first_claimed_at"),
                        ("report.connected", "connected_at")):
        spans = _spans(reqs, attr)
        lines.append(ctx.n(label, len(spans), p50=fmt_seconds(percentile(spans, 50)),
                           p90=fmt_seconds(percentile(spans, 90))))
    fallbacks = sum(1 for r in reqs if r.fallback_at is not None)
    lines.append(ctx.n("report.fallback", fallbacks,
                       rate=f"{(fallbacks / n * 100) if n else 0:.0f}"))
    lines.append(ctx.t("report.pages", per=f"{(pages / n) if n else 0:.1f}"))
    lines.append(ctx.t("report.gaps", hours=f"{gaps / weeks:.1f}".removesuffix(".0")))
    if late:
        lines.append(ctx.n("report.late", late))
    return "\n".join(lines)


async def _late_timers(ctx: Ctx, request_ids: set[int], since: datetime) -> int:
    if not request_ids:
        return 0
    rows = (await ctx.session.execute(
        select(Timer).where(Timer.kind.like("lifeline.%"), Timer.fired_at >= since)
    )).scalars()
    return sum(1 for t in rows if (t.payload or {}).get("request_id") in request_ids
               and t.fired_at is not None and t.fired_at - t.due_at > LATE_AFTER)


@feature.health
async def _weekly(ctx: Ctx, weeks: list[Any]) -> list[Any]:
    """Requests per week, and the median time to the first page in weeks with enough of
    them that no one request can be read off the picture."""
    from bisect import bisect_right

    from bot.features.health.series import FEWER_THAN, Series, counted, weekly_counts

    assert ctx.circle is not None
    reqs = list((await ctx.session.execute(
        select(LifelineRequest).where(LifelineRequest.circle_id == ctx.circle.id,
                                      LifelineRequest.opened_at >= weeks[0]))).scalars())
    counts = weekly_counts([r.opened_at for r in reqs], weeks)
    spans: list[list[float]] = [[] for _ in weeks]
    for r in reqs:
        if r.first_page_at is not None:
            spans[bisect_right(weeks, r.opened_at) - 1].append(
                (r.first_page_at - r.opened_at).total_seconds())
    p50 = [percentile(s, 50) if len(s) >= FEWER_THAN else None for s in spans]
    return [counted("health.requests", counts),
            Series("health.first_page", p50, "seconds")]
