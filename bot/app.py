"""Opening the core on a database: migrate (or check the schema), then build the Core."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Settings
from bot.dispatcher import Core
from storage.db import Database
from storage.migrate import migrate


async def open_core(settings: Settings, clock: Clock, *, url: str | None = None) -> Core:
    db = Database(url or settings.database.url)
    try:
        await migrate(db)
    except Exception:
        await db.dispose()
        raise
    return Core(db, clock, settings)
