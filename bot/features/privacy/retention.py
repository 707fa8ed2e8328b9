"""When each circle's notes expire: the circles grouped by that instant, so a feature's
retention sweep is one statement per distinct setting, not one per circle (most circles keep
the host's default; a thousand circles were a thousand UPDATEs every hour)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot.context import Ctx
from bot.features.privacy.settings import PrivacySettings
from storage.models import Circle


async def note_cutoffs(ctx: Ctx) -> dict[datetime, list[int]]:
    """Instant -> the ids of the circles whose notes written before it are past keeping."""
    found: dict[datetime, list[int]] = {}
    for circle in (await ctx.session.execute(select(Circle))).scalars():
        days = ctx.section(PrivacySettings, circle).retention_days
        found.setdefault(ctx.now - timedelta(days=days), []).append(circle.id)
    return found
