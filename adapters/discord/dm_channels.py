"""Each member's DM channel with the bot: opened once, then stored on the member's person row
(people.dm_room_id) and reused, so a restart sends to the same channel without asking Discord
again. `me forget` removes the row, and the channel id with it."""

from __future__ import annotations

import asyncio

import discord
from sqlalchemy import select, update

from adapters.discord.texts import PLATFORM
from storage.db import Database
from storage.models import Person


class DmChannels:
    def __init__(self, client: discord.Client, db: Database) -> None:
        self.client = client
        self.db = db
        self._known: dict[str, str] = {}  # user id -> channel id
        self._locks: dict[str, asyncio.Lock] = {}

    async def channel_id(self, user_id: str) -> int:
        """The member's DM channel, opened when there is none (raises discord.HTTPException
        when Discord refuses)."""
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            known = self._known.get(user_id) or await self._stored(user_id)
            if known is None:
                channel = await self.client.create_dm(discord.Object(int(user_id)))
                known = str(channel.id)
                await self.remember(user_id, known)
            self._known[user_id] = known
            return int(known)

    async def _stored(self, user_id: str) -> str | None:
        async with self.db.transaction() as s:
            return (await s.execute(
                select(Person.dm_room_id).where(Person.platform == PLATFORM,
                                                Person.platform_user_id == user_id)
            )).scalar_one_or_none()

    async def remember(self, user_id: str, channel_id: str) -> None:
        """Store a member's DM channel (one the bot opened, or one they used a command in).
        Someone the core does not know yet is only remembered until the next restart."""
        if self._known.get(user_id) == channel_id:
            return
        self._known[user_id] = channel_id
        async with self.db.transaction() as s:
            await s.execute(
                update(Person).where(Person.platform == PLATFORM,
                                     Person.platform_user_id == user_id,
                                     Person.dm_room_id.is_distinct_from(channel_id))
                .values(dm_room_id=channel_id))
