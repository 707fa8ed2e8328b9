"""The member's direct room with the bot: created once (is_direct, encrypted), reused after, and
tracked in the database (Person.dm_room_id) so a restart finds the same room."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable

from nio import AsyncClient, RoomCreateError, RoomCreateResponse, RoomPreset
from nio.event_builders import EnableEncryptionBuilder
from sqlalchemy import delete, select, update

from adapters.matrix.pacing import SendFailed
from bot.clock import Clock
from storage.db import Database
from storage.models import AdapterState, Person

log = logging.getLogger(__name__)

PLATFORM = "matrix"
_STATE_PREFIX = "direct:"  # AdapterState key for a direct room of someone not yet a Person


class DirectRooms:
    def __init__(self, client: AsyncClient, db: Database,
                 wait_for_room: Callable[[str, str], Awaitable[bool]], clock: Clock) -> None:
        self.clock = clock
        self.client = client
        self.db = db
        self.wait_for_room = wait_for_room
        self.owner_of: dict[str, str] = {}  # room id -> the member it is the direct room of
        self._locks: dict[str, asyncio.Lock] = {}

    async def load(self) -> None:
        async with self.db.transaction() as s:
            people = (await s.execute(
                select(Person.platform_user_id, Person.dm_room_id)
                .where(Person.platform == PLATFORM, Person.dm_room_id.is_not(None))
            )).all()
            states = (await s.execute(
                select(AdapterState.key, AdapterState.value)
                .where(AdapterState.platform == PLATFORM,
                       AdapterState.key.startswith(_STATE_PREFIX))
            )).all()
        for _key, value in states:
            entry = json.loads(value)
            self.owner_of[entry["room"]] = entry["user"]
        for user, room in people:
            if room:
                self.owner_of[room] = user

    def is_direct_with(self, room_id: str, user_id: str) -> bool:
        """A room counts as direct only while it is one-to-one with its member, so nothing
        private is ever answered into a room a third person can read."""
        if self.owner_of.get(room_id) != user_id:
            return False
        room = self.client.rooms.get(room_id)
        if room is None:
            return False
        others = set(room.users) - {self.client.user_id}
        return others <= {user_id}

    def _usable(self, room_id: str | None, user_id: str) -> bool:
        if not room_id:
            return False
        room = self.client.rooms.get(room_id)
        if room is None:
            return False
        others = set(room.users) - {self.client.user_id}
        return user_id in room.users and others <= {user_id}

    async def room_for(self, user_id: str) -> str:
        """The member's direct room, creating it when there is none (or they left it)."""
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        async with lock:
            tracked = await self._tracked(user_id)
            if self._usable(tracked, user_id):
                assert tracked is not None
                return tracked
            for room_id, owner in self.owner_of.items():
                if owner == user_id and self._usable(room_id, user_id):
                    await self.adopt(room_id, user_id)
                    return room_id
            return await self._create(user_id)

    async def _tracked(self, user_id: str) -> str | None:
        async with self.db.transaction() as s:
            return (await s.execute(
                select(Person.dm_room_id)
                .where(Person.platform == PLATFORM, Person.platform_user_id == user_id)
            )).scalar_one_or_none()

    async def _create(self, user_id: str) -> str:
        resp = await self.client.room_create(
            is_direct=True, invite=[user_id], preset=RoomPreset.trusted_private_chat,
            initial_state=[EnableEncryptionBuilder().as_dict()],
        )
        if isinstance(resp, RoomCreateError):
            # An unknown user, or a server that refuses the invite: retrying will not help.
            permanent = resp.status_code in ("M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN",
                                             "M_INVALID_PARAM", "M_BAD_JSON")
            raise SendFailed(f"cannot open a direct room: {resp.status_code}",
                             permanent=permanent, errcode=resp.status_code)
        assert isinstance(resp, RoomCreateResponse)
        await self.adopt(resp.room_id, user_id)
        # Sending into an encrypted room needs nio to know its state and members.
        if not await self.wait_for_room(resp.room_id, user_id):
            raise SendFailed("the new direct room did not show up in sync yet")
        return resp.room_id

    async def adopt(self, room_id: str, user_id: str) -> None:
        """Record `room_id` as the member's direct room (one they invited the bot to, or one the
        bot created)."""
        self.owner_of[room_id] = user_id
        now = self.clock.now()
        async with self.db.transaction() as s:
            result = await s.execute(
                update(Person)
                .where(Person.platform == PLATFORM, Person.platform_user_id == user_id)
                .values(dm_room_id=room_id)
            )
            if result.rowcount:  # type: ignore[attr-defined]
                await s.execute(delete(AdapterState).where(
                    AdapterState.platform == PLATFORM,
                    AdapterState.key == _state_key(room_id)))
            else:
                # No Person yet (they have not run a command): remember it beside the adapter's
                # other state; the core creates the Person, and the next adopt moves it there.
                await s.merge(AdapterState(platform=PLATFORM, key=_state_key(room_id),
                                           value=json.dumps({"room": room_id, "user": user_id}),
                                           updated_at=now))


def _state_key(room_id: str) -> str:
    # Room ids can be longer than the 64-character key; a digest always fits.
    return _STATE_PREFIX + hashlib.sha256(room_id.encode()).hexdigest()[:40]
