"""Opening the core on a database: migrate (or check the schema), then build the Core."""

from __future__ import annotations

from bot.clock import Clock
from bot.config import Settings
from bot.dispatcher import Core
from bot.feature import Features
from storage.db import Database
from storage.migrate import migrate


async def open_core(settings: Settings, clock: Clock, *, db: Database | None = None,
                    features: Features | None = None) -> Core:
    """Migrate the schema, then build the core with its features (every registered one
    unless given); `db` lets tests bring their own engine."""
    from bot.features import build_features

    db = db or Database(settings.database.url,
                       sqlite_synchronous=settings.database.sqlite_synchronous)
    try:
        await migrate(db)
        core = Core(db, clock, settings, features or build_features())
        await core.start()
    except Exception:
        await db.dispose()
        raise
    return core
