"""`health [weeks]`: check-ins per week, lifeline requests and how fast they were answered,
how evenly service is spread: a PNG in the room with its figures as text beside it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.answer import Answer, Attachment
from bot.commands import Arg, Kind, Where
from bot.context import Ctx
from bot.feature import Feature
from bot.features.health.render import render_png
from bot.features.health.series import Series
from bot.timezones import zone

feature = Feature("health")


def week_starts(now: datetime, tz: str, weeks: int) -> list[datetime]:
    """The Mondays 00:00 in the circle's zone of the last `weeks` weeks (this one last), as
    UTC instants."""
    tzinfo = zone(tz)
    local = now.astimezone(tzinfo)
    monday = (local - timedelta(days=local.weekday())).date()
    days = [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]
    return [datetime(d.year, d.month, d.day, tzinfo=tzinfo).astimezone(UTC) for d in days]


def _figure(ctx: Ctx, s: Series, i: int) -> str:
    if s.small and s.small[i]:
        return ctx.t("health.fewer_than")
    value = s.values[i]
    if value is None:
        return "-"
    if s.kind == "seconds":
        return ctx.t("health.seconds", seconds=round(value))
    return f"{value:g}"


@feature.command("health", Arg("weeks", Kind.INT, minimum=1, maximum=104, default=12,
                               help="arg.health.weeks"), where=Where.ROOM)
async def health(ctx: Ctx, args: dict[str, Any]) -> Answer:
    circle = ctx.circle
    assert circle is not None
    weeks = week_starts(ctx.now, circle.timezone, args["weeks"])
    series: list[Series] = []
    for hook in ctx.core.features.hooks("health_hooks"):
        series.extend(await hook(ctx, weeks))
    labelled = [(ctx.t(s.label), s) for s in series]
    title = ctx.t("health.title", name=circle.name, weeks=len(weeks))
    lines = [title, ctx.t("health.weeks_from", first=weeks[0].astimezone(
        zone(circle.timezone)).strftime("%Y-%m-%d"))]
    for label, s in labelled:
        lines.append(f"{label}: " + ", ".join(_figure(ctx, s, i) for i in range(len(weeks))))
    summary = "\n".join(lines)
    # Drawing takes a few hundred milliseconds: off the event loop, so other members'
    # commands and the lifeline are not kept waiting.
    # Each week by the day it starts on in the circle's zone, in the reader's language.
    days = [ctx.texts.when(w, circle.timezone, "dd MMM") for w in weeks]
    png = await asyncio.to_thread(render_png, title, days, labelled,
                                  ctx.t("health.fewer_than"))
    return Answer(summary, attachments=(Attachment("health.png", "image/png", png,
                                                   alt=summary),))
