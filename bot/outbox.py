"""The outbox: messages written in the handler's transaction, drained by one sender per adapter.

A row is claimed with a lease (an atomic UPDATE ... RETURNING), delivered, then marked sent
only if the lease is still ours. Two senders never deliver the same row while its lease holds;
a sender that dies mid-way leaves the row to be retried when the lease runs out, and the
idempotency key travels to the platform (Matrix transaction id) so a retry is not a double.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import pending_rows
from bot.answer import Action, Attachment
from bot.clock import Clock
from bot.logs import log_failure
from storage.db import Database
from storage.models import OutboxMessage, Person

log = logging.getLogger(__name__)

PRIORITY_LIFELINE = 0
PRIORITY_NORMAL = 5
LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12


@dataclass(frozen=True)
class Outgoing:
    """One claimed outbox row, as an adapter's deliverer sees it."""

    id: int
    key: str
    kind: str  # post | dm | edit | room
    text: str
    room_id: str | None
    user_id: str | None
    meta: dict[str, Any]
    attempts: int
    edit_target: Outgoing | None = None  # for edits: the original, with its platform id
    platform_message_id: str | None = None
    priority: int = PRIORITY_NORMAL  # PRIORITY_LIFELINE (0) goes before everything else
    actions: tuple[Action, ...] = ()
    attachments: tuple[Attachment, ...] = ()

    # A "room" row: a private room the bot opens for some members (once per label) and posts
    # to. An adapter without such rooms sends the text to each member by DM instead.
    @property
    def room_label(self) -> str:
        return str(self.meta.get(ROOM_LABEL, ""))

    @property
    def room_members(self) -> tuple[str, ...]:
        return tuple(str(m) for m in self.meta.get(ROOM_MEMBERS, ()))

    @property
    def room_name(self) -> str:
        return str(self.meta.get(ROOM_NAME, "") or self.room_label)


ROOM_LABEL, ROOM_MEMBERS, ROOM_NAME = "room_label", "room_members", "room_name"


class DeliveryError(Exception):
    """Raised by a deliverer. `retry_after` honours a platform rate limit; `dm_closed` marks
    the member unreachable by DM instead of retrying; `permanent` gives up at once."""

    def __init__(self, reason: str, *, retry_after: float | None = None,
                 permanent: bool = False, dm_closed: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.permanent = permanent or dm_closed
        self.dm_closed = dm_closed


class Recipient(Protocol):
    """Whom a DM is for: a Person, or those of its columns a query read without loading one
    (the lifeline's responders)."""

    @property
    def platform(self) -> str: ...

    @property
    def platform_user_id(self) -> str: ...

    @property
    def language(self) -> str | None: ...


class Deliverer(Protocol):
    platform: str

    async def deliver(self, message: Outgoing) -> str | None:
        """Send one message; return its platform message id."""


@dataclass
class OutboxWriter:
    """Collects a transaction's outgoing messages; keys derive from the cause, so re-running
    the same cause (a retried timer) can never write a second copy."""

    session: AsyncSession
    now: datetime
    cause: str
    _seq: int = field(default=0)

    def _key(self, label: str | None) -> str:
        self._seq += 1
        return f"{self.cause}:{label or self._seq}"

    def post(self, platform: str, room_id: str, text: str, **kw: Any) -> str:
        return self._add(platform, "post", text, room_id=room_id, **kw)

    def dm(self, person: Recipient, text: str, **kw: Any) -> str:
        """Actions on a DM may be pressed by its recipient (Core.action_invocation)."""
        return self._add(person.platform, "dm", text, user_id=person.platform_user_id, **kw)

    def room(self, platform: str, room_label: str, members: list[Person], text: str, *,
             name: str = "", **kw: Any) -> str:
        """A post in the private room for `members` named by `room_label` (`mentor#4`): the
        adapter opens it on the first post with that label and reuses it after."""
        meta = {**kw.pop("meta", {}), ROOM_LABEL: room_label, ROOM_NAME: name or room_label,
                ROOM_MEMBERS: [p.platform_user_id for p in members]}
        return self._add(platform, "room", text, meta=meta, **kw)

    def edit(self, platform: str, original_key: str, text: str, **kw: Any) -> str:
        return self._add(platform, "edit", text, edit_of=original_key, **kw)

    def _add(self, platform: str, kind: str, text: str, *, room_id: str | None = None,
             user_id: str | None = None, edit_of: str | None = None,
             label: str | None = None, priority: int = PRIORITY_NORMAL,
             meta: dict[str, Any] | None = None, actions: tuple[Action, ...] = (),
             attachments: tuple[Attachment, ...] = (),
             expires_at: datetime | None = None) -> str:
        key = self._key(label)
        pending_rows.add(self.session, _INSERT, [dict(
            key=key, platform=platform, kind=kind, room_id=room_id, user_id=user_id,
            edit_of=edit_of, text=text, meta=meta or {}, priority=priority,
            actions=[a.to_json() for a in actions],
            attachments=[a.to_json() for a in attachments], expires_at=expires_at,
            created_at=self.now, next_attempt_at=self.now, attempts=0,
        )])
        return key


# A transaction's rows go in as one INSERT before its next ORM statement or its commit
# (bot/pending_rows.py): a `call` writes its pages' DMs this way.
_INSERT = insert(OutboxMessage.__table__)


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** max(attempts - 1, 0) * 2, 600))


class OutboxSender:
    """Drains one platform's rows: claim, deliver, mark. Safe to run in several processes."""

    def __init__(self, db: Database, clock: Clock, deliverer: Deliverer,
                 owner: str | None = None, batch: int = 20) -> None:
        self.db = db
        self.clock = clock
        self.deliverer = deliverer
        self.platform = deliverer.platform
        self.owner = owner or f"sender-{uuid.uuid4().hex[:12]}"
        self.batch = batch
        self.wake = asyncio.Event()

    async def claim(self) -> list[OutboxMessage]:
        now = self.clock.now()
        async with self.db.transaction() as s:
            # A time-bound row past its expiry is dropped, never delivered late.
            await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.platform == self.platform,
                       OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None),
                       OutboxMessage.expires_at.is_not(None), OutboxMessage.expires_at <= now)
                .values(failed_at=now, last_error="expired", text="")
            )
            ready = (
                select(OutboxMessage.id)
                .where(
                    OutboxMessage.platform == self.platform,
                    OutboxMessage.sent_at.is_(None),
                    OutboxMessage.failed_at.is_(None),
                    OutboxMessage.next_attempt_at <= now,
                    or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now),
                )
                .order_by(OutboxMessage.priority, OutboxMessage.id)
                .limit(self.batch)
            )
            if self.db.dialect == "postgresql":
                ready = ready.with_for_update(skip_locked=True)
            rows = (await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ready.scalar_subquery()))
                .values(lease_owner=self.owner, lease_until=now + LEASE,
                        attempts=OutboxMessage.attempts + 1)
                .returning(OutboxMessage)
                .execution_options(synchronize_session=False)
            )).scalars().all()
        return sorted(rows, key=lambda r: (r.priority, r.id))

    async def drain_once(self) -> int:
        """Deliver what is ready now; returns how many rows were sent."""
        sent = 0
        for row in await self.claim():
            if await self._deliver(row):
                sent += 1
        return sent

    async def drain(self, max_rounds: int = 1000) -> int:
        total = 0
        for _ in range(max_rounds):
            n = await self.drain_once()
            total += n
            if n == 0:
                break
        return total

    async def _deliver(self, row: OutboxMessage) -> bool:
        target: Outgoing | None = None
        if row.kind == "edit":
            async with self.db.transaction() as s:
                original = (await s.execute(
                    select(OutboxMessage).where(OutboxMessage.key == row.edit_of)
                )).scalar_one_or_none()
            if original is None or original.failed_at is not None:
                await self._finish(row, error="original message was never sent", give_up=True)
                return False
            if original.sent_at is None:
                await self._retry(row, "original not sent yet", timedelta(seconds=2))
                return False
            target = _outgoing(original)
        message = _outgoing(row, target)
        try:
            platform_id = await self.deliverer.deliver(message)
        except DeliveryError as exc:
            if exc.dm_closed and row.user_id:
                await self._mark_dm_closed(row.user_id)
            if exc.permanent or row.attempts >= MAX_ATTEMPTS:
                log.warning("outbox %s gave up after %d attempts: %s", row.key, row.attempts,
                            exc.reason)
                await self._finish(row, error=exc.reason, give_up=True)
            else:
                delay = (timedelta(seconds=exc.retry_after) if exc.retry_after is not None
                         else backoff(row.attempts))
                await self._retry(row, exc.reason, delay)
            return False
        except Exception as exc:  # a bug or outage in the adapter must not lose the row
            log_failure(log, "outbox %s delivery failed", row.key, exc=exc)
            await self._retry(row, type(exc).__name__, backoff(row.attempts))
            return False
        return await self._finish(row, platform_id=platform_id)

    async def _finish(self, row: OutboxMessage, *, platform_id: str | None = None,
                      error: str | None = None, give_up: bool = False) -> bool:
        now = self.clock.now()
        values: dict[str, Any] = {"lease_owner": None, "lease_until": None}
        if give_up:
            values.update(failed_at=now, last_error=(error or "")[:255])
        else:
            values.update(sent_at=now, platform_message_id=platform_id)
        async with self.db.transaction() as s:
            result = await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.lease_owner == self.owner,
                       OutboxMessage.sent_at.is_(None))
                .values(**values)
            )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def _retry(self, row: OutboxMessage, error: str, delay: timedelta) -> None:
        async with self.db.transaction() as s:
            await s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id, OutboxMessage.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None, last_error=error[:255],
                        next_attempt_at=self.clock.now() + delay)
            )

    async def _mark_dm_closed(self, user_id: str) -> None:
        async with self.db.transaction() as s:
            await s.execute(
                update(Person)
                .where(and_(Person.platform == self.platform, Person.platform_user_id == user_id))
                .values(dm_closed_at=self.clock.now())
            )

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Drain whenever woken (a commit) or every poll (rows from other processes)."""
        while not stop.is_set():
            try:
                await self.drain()
            except Exception as exc:
                log_failure(log, "outbox sender %s: drain failed; retrying", self.platform,
                            exc=exc)
            self.wake.clear()
            waiters = [asyncio.ensure_future(self.wake.wait()), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(waiters, timeout=poll_seconds,
                               return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()


def _outgoing(row: OutboxMessage, target: Outgoing | None = None) -> Outgoing:
    return Outgoing(id=row.id, key=row.key, kind=row.kind, text=row.text, room_id=row.room_id,
                    user_id=row.user_id, meta=dict(row.meta or {}), attempts=row.attempts,
                    edit_target=target, platform_message_id=row.platform_message_id,
                    priority=row.priority,
                    actions=tuple(Action.from_json(a) for a in row.actions or ()),
                    attachments=tuple(Attachment.from_json(a) for a in row.attachments or ()))
