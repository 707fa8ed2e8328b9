"""Opening the core on a database: migrate (or check the schema), then build the Core."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Settings
from bot.dispatcher import Core
from storage.db import Database
from storage.migrate import migrate


async def open_core(settings: Settings, clock: Clock, *, db: Database | None = None) -> Core:
    """Migrate the schema, then build the core; `db` lets tests bring their own engine."""
    db = db or Database(settings.database.url)
    try:
        await migrate(db)
    except Exception:
        await db.dispose()
        raise
    return Core(db, clock, settings)
