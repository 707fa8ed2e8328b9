"""Encrypted events that wait for their room key, and which sessions were already asked for a
key and noticed, in the database (`adapter_state`) rather than only in memory.

The sync token moves past an event the bot could not decrypt; the row written here, before that
token can be stored, is what brings the event back after a restart (fetched again from the
homeserver by its id). A session's row keeps "one key request and at most one notice per
session" true across restarts. Both expire after `KEEP_FOR`. Keys are digests: an event or
session id may be longer than the key column.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from bot.clock import as_utc
from storage.db import Database
from storage.models import AdapterState

log = logging.getLogger(__name__)

PLATFORM = "matrix"
EVENT_PREFIX = "undecrypt:"
SESSION_PREFIX = "undecrypt-session:"
KEEP_FOR = timedelta(hours=24)


def _digest(ident: str) -> str:
    return hashlib.sha256(ident.encode()).hexdigest()[:40]


def event_key(event_id: str) -> str:
    return EVENT_PREFIX + _digest(event_id)


def session_key(session_id: str) -> str:
    return SESSION_PREFIX + _digest(session_id)


@dataclass
class PendingEvent:
    """An event waiting for its key: enough to fetch it again, never its content."""

    room_id: str
    event_id: str
    session_id: str
    sender: str
    sent_at: str | None  # ISO instant from origin_server_ts, to keep a room's order
    first_seen: str  # ISO instant (UTC), from the core's clock

    def seen_at(self) -> datetime:
        return as_utc(datetime.fromisoformat(self.first_seen))


@dataclass
class SessionMark:
    """What was done for one megolm session: its key requested, the room told."""

    session_id: str
    first_seen: str
    requested: bool = False
    noticed: bool = False

    def seen_at(self) -> datetime:
        return as_utc(datetime.fromisoformat(self.first_seen))


class UndecryptableStore:
    def __init__(self, db: Database, now: Callable[[], datetime]) -> None:
        self.db = db
        self.now = now

    def expired(self, first_seen: datetime) -> bool:
        return self.now() - first_seen >= KEEP_FOR

    async def load(self) -> tuple[list[PendingEvent], list[SessionMark]]:
        """Everything still waiting; what has waited `KEEP_FOR` is dropped here."""
        async with self.db.transaction() as s:
            rows = (await s.execute(
                select(AdapterState.key, AdapterState.value).where(
                    AdapterState.platform == PLATFORM,
                    AdapterState.key.startswith(EVENT_PREFIX)
                    | AdapterState.key.startswith(SESSION_PREFIX))
            )).all()
        events: list[PendingEvent] = []
        sessions: list[SessionMark] = []
        stale: list[str] = []
        for key, value in rows:
            try:
                data: dict[str, Any] = json.loads(value)
                item: PendingEvent | SessionMark
                if key.startswith(EVENT_PREFIX):
                    item = PendingEvent(**data)
                else:
                    item = SessionMark(**data)
                seen = item.seen_at()
            except (ValueError, TypeError):
                stale.append(key)  # unreadable: nothing to retry with
                continue
            if self.expired(seen):
                stale.append(key)
            elif isinstance(item, PendingEvent):
                events.append(item)
            else:
                sessions.append(item)
        gave_up = sum(1 for k in stale if k.startswith(EVENT_PREFIX))
        if stale:
            await self._delete(stale)
        if gave_up:
            log.info("matrix: gave up on %d encrypted event(s) whose key never came within %s",
                     gave_up, KEEP_FOR)
        return events, sessions

    async def record(self, event: PendingEvent | None, session: SessionMark | None) -> None:
        """One transaction: the event to retry and/or what was done for its session."""
        now = self.now()
        async with self.db.transaction() as s:
            if event is not None:
                await s.merge(AdapterState(platform=PLATFORM, key=event_key(event.event_id),
                                           value=json.dumps(asdict(event)), updated_at=now))
            if session is not None:
                await s.merge(AdapterState(platform=PLATFORM,
                                           key=session_key(session.session_id),
                                           value=json.dumps(asdict(session)), updated_at=now))

    async def drop_events(self, event_ids: list[str], *, expired: bool = False) -> None:
        if not event_ids:
            return
        await self._delete([event_key(e) for e in event_ids])
        if expired:
            log.info("matrix: gave up on %d encrypted event(s) whose key never came within %s",
                     len(event_ids), KEEP_FOR)

    async def drop_sessions(self, session_ids: list[str]) -> None:
        if session_ids:
            await self._delete([session_key(sid) for sid in session_ids])

    async def _delete(self, keys: list[str]) -> None:
        async with self.db.transaction() as s:
            await s.execute(delete(AdapterState).where(AdapterState.platform == PLATFORM,
                                                       AdapterState.key.in_(keys)))
