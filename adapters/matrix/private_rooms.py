"""Private rooms the bot opens for a few members (the core's "room" outbox rows): one room per
label, created encrypted and invite-only with those members invited, and remembered in the
database (adapter_state) so later posts, and posts after a restart, go to the same room."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable

from nio import AsyncClient, RoomCreateError, RoomCreateResponse, RoomPreset
from nio.event_builders import EnableEncryptionBuilder
from sqlalchemy import select

from adapters.matrix.pacing import SendFailed
from bot.clock import Clock
from storage.db import Database
from storage.models import AdapterState

PLATFORM = "matrix"
_PREFIX = "room:"
KNOWN_WAIT = 2.0  # seconds
# Creating a room with an unknown or refused user fails the same way on every retry.
_PERMANENT = ("M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN", "M_INVALID_PARAM", "M_BAD_JSON")


class PrivateRooms:
    def __init__(self, client: AsyncClient, db: Database,
                 wait_for_room: Callable[..., Awaitable[bool]], clock: Clock) -> None:
        self.client = client
        self.db = db
        self.wait_for_room = wait_for_room
        self.clock = clock
        self._locks: dict[str, asyncio.Lock] = {}

    async def room_for(self, label: str, members: list[str], name: str) -> str:
        """The room for `label`, created (with `members` invited) the first time."""
        lock = self._locks.setdefault(label, asyncio.Lock())
        async with lock:
            known = await self._known(label)
            if known is not None:
                # Created before (perhaps just before a crash): give the sync a moment to
                # show its members, but a member who has since left must not hold posts up.
                for member in members:
                    await self.wait_for_room(known, member, within=KNOWN_WAIT)
                return known
            created = await self._create(label, members, name)
            # Sending into a new encrypted room needs nio to know its state and members: a
            # member the sync has not shown yet would not get the room key.
            for member in members:
                if not await self.wait_for_room(created, member):
                    raise SendFailed("the new private room did not show up in sync yet")
            return created

    async def _known(self, label: str) -> str | None:
        async with self.db.transaction() as s:
            value = (await s.execute(select(AdapterState.value).where(
                AdapterState.platform == PLATFORM, AdapterState.key == _key(label))
            )).scalar_one_or_none()
        return str(json.loads(value)["room"]) if value else None

    async def _create(self, label: str, members: list[str], name: str) -> str:
        resp = await self.client.room_create(
            name=name or None, invite=members, preset=RoomPreset.private_chat,
            initial_state=[EnableEncryptionBuilder().as_dict()])
        if isinstance(resp, RoomCreateError):
            raise SendFailed(f"cannot open a private room: {resp.status_code}",
                             permanent=resp.status_code in _PERMANENT,
                             errcode=resp.status_code)
        assert isinstance(resp, RoomCreateResponse)
        # Remembered at once: a retry after a crash posts into this room, never a second one.
        async with self.db.transaction() as s:
            await s.merge(AdapterState(platform=PLATFORM, key=_key(label),
                                       value=json.dumps({"label": label, "room": resp.room_id}),
                                       updated_at=self.clock.now()))
        return resp.room_id


def _key(label: str) -> str:
    # Labels are the core's; a digest always fits the 64-character key.
    return _PREFIX + hashlib.sha256(label.encode()).hexdigest()[:40]
