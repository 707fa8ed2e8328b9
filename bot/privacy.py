"""Retention: check-in notes older than the circle's retention_days are deleted daily."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update

from bot.context import Ctx, Registry
from storage.models import Checkin, Circle, ProcessedEvent

handlers = Registry()

SWEEP_EVERY = timedelta(days=1)
PROCESSED_KEEP = timedelta(days=1)


def _key(circle_id: int, due: datetime) -> str:
    return f"retention:{circle_id}:{due.date().isoformat()}"


async def schedule_retention(ctx: Ctx, circle: Circle) -> None:
    due = ctx.now + SWEEP_EVERY
    await ctx.schedule("privacy.retention", due, _key(circle.id, due), {"circle_id": circle.id})


@handlers.timer("privacy.retention")
async def retention_sweep(ctx: Ctx, payload: dict[str, Any]) -> None:
    circle = await ctx.session.get(Circle, payload["circle_id"])
    if circle is None:
        return
    cutoff = ctx.now - timedelta(days=ctx.settings_of(circle).retention_days)
    await ctx.session.execute(
        update(Checkin)
        .where(Checkin.circle_id == circle.id, Checkin.created_at < cutoff,
               Checkin.note.is_not(None))
        .values(note=None)
    )
    # Replies kept to answer a redelivered platform event can quote notes (an ack carries
    # the lifeline note): they are only needed for a short while after a crash.
    await ctx.session.execute(
        delete(ProcessedEvent).where(ProcessedEvent.created_at < ctx.now - PROCESSED_KEEP))
    await schedule_retention(ctx, circle)
