"""The bot's own sync token, in the database beside the processed events (not in nio's store):
written only after a sync's events are handled, so a restart resumes exactly there."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.clock import Clock
from storage.db import Database
from storage.models import AdapterState

PLATFORM = "matrix"
KEY = "sync_token"


class SyncTokenStore:
    def __init__(self, db: Database, user_id: str, device_id: str, clock: Clock) -> None:
        self.clock = clock
        self.db = db
        self.user_id = user_id
        self.device_id = device_id
        self.last_saved: str | None = None

    async def load(self) -> str | None:
        """The stored token, or None on a first start (or a token of another account)."""
        async with self.db.transaction() as s:
            row = (await s.execute(
                select(AdapterState).where(AdapterState.platform == PLATFORM,
                                           AdapterState.key == KEY)
            )).scalar_one_or_none()
        if row is None:
            return None
        try:
            value = json.loads(row.value)
        except ValueError:
            return None
        if value.get("user") != self.user_id:
            return None  # another bot account: its token means nothing to this one
        self.last_saved = value.get("token")
        return self.last_saved

    async def save(self, token: str) -> None:
        if token == self.last_saved:
            return
        value = json.dumps({"user": self.user_id, "device": self.device_id, "token": token})
        async with self.db.transaction() as s:
            await s.merge(AdapterState(platform=PLATFORM, key=KEY, value=value,
                                       updated_at=self.clock.now()))
        self.last_saved = token
