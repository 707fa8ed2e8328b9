"""The timers table: what must happen later, as rows. The due loop claims due rows atomically
(UPDATE ... RETURNING with a lease; FOR UPDATE SKIP LOCKED on PostgreSQL) and fires each in its
own transaction, marking it fired with a compare-and-set so no timer's effects happen twice."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot import pending_rows
from storage.db import Database
from storage.models import Timer

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=120)
LATE_AFTER = timedelta(minutes=2)  # the watchdog's threshold
URGENT, NORMAL = 0, 5


async def schedule(session: AsyncSession, now: datetime, kind: str, due_at: datetime, key: str,
                   payload: dict[str, Any] | None = None, *, urgent: bool = False) -> bool:
    """Add a timer unless one with this idempotency key exists (then it is left alone);
    returns whether it was added. One statement: INSERT ... ON CONFLICT DO NOTHING. An
    urgent timer (the lifeline) is claimed before every other due timer."""
    values = {"key": key, "kind": kind, "payload": payload or {}, "due_at": due_at,
              "created_at": now, "attempts": 0, "priority": URGENT if urgent else NORMAL}
    await pending_rows.written(session)  # a timer of this key scheduled before comes first
    result = await (await session.connection()).execute(_insert(session), values)
    return bool(result.rowcount)


# INSERT ... ON CONFLICT (key) DO NOTHING, its values bound at execution: one statement, built
# and compiled once, for every timer (values() inline was compiled every time). Run on the
# session's connection, as Core: the ORM's bulk path would hide the rowcount.
_INSERTS = {name: insert(Timer).on_conflict_do_nothing(index_elements=["key"])
            for name, insert in (("postgresql", pg_insert), ("sqlite", sqlite_insert))}


def _insert(session: AsyncSession) -> Any:
    return _INSERTS[session.bind.dialect.name]


def schedule_many(session: AsyncSession, now: datetime,
                  timers: list[tuple[str, datetime, str, dict[str, Any], bool]]) -> None:
    """Several timers (kind, due_at, key, payload, urgent), each added unless its key exists
    (INSERT ... ON CONFLICT DO NOTHING), with the transaction's other timers in one statement
    before its next one or its commit (bot/pending_rows.py)."""
    pending_rows.add(session, _insert(session), [
        {"key": key, "kind": kind, "payload": payload, "due_at": due_at, "created_at": now,
         "attempts": 0, "priority": URGENT if urgent else NORMAL}
        for kind, due_at, key, payload, urgent in timers])


async def cancel(session: AsyncSession, now: datetime, *keys: str) -> None:
    """Cancel pending timers. On PostgreSQL a row held by a transaction that is firing it is
    skipped, not waited for: the firer holds the timer row and then its handler's subject
    (a request), while a command holds the subject and then cancels the timer; waiting
    would deadlock, and one of the two (an ack at 4am) would fail. Skipping is safe because
    every handler reads its subject's state fresh under the subject's lock and finds there
    what this transaction did."""
    if not keys:
        return
    pending = (Timer.key.in_(keys), Timer.fired_at.is_(None), Timer.cancelled_at.is_(None))
    if session.bind.dialect.name == "postgresql":
        free = select(Timer.id).where(*pending).with_for_update(skip_locked=True)
        await session.execute(update(Timer).where(Timer.id.in_(free.scalar_subquery()))
                              .values(cancelled_at=now)
                              .execution_options(synchronize_session=False))
        return
    await session.execute(update(Timer).where(*pending).values(cancelled_at=now))


def _pending() -> list[Any]:
    return [Timer.fired_at.is_(None), Timer.cancelled_at.is_(None)]


async def next_due_at(db: Database) -> datetime | None:
    async with db.transaction() as s:
        return (await s.execute(select(func.min(Timer.due_at)).where(*_pending()))).scalar()


async def claim_due(db: Database, now: datetime, owner: str, limit: int = 50) -> list[Timer]:
    """Claim due timers for `owner`; an overdue timer is simply due now."""
    async with db.transaction() as s:
        ready = (
            select(Timer.id)
            .where(*_pending(), Timer.due_at <= now,
                   or_(Timer.lease_until.is_(None), Timer.lease_until < now))
            .order_by(Timer.priority, Timer.due_at, Timer.id)
            .limit(limit)
        )
        if db.dialect == "postgresql":
            ready = ready.with_for_update(skip_locked=True)
        rows = (await s.execute(
            update(Timer)
            .where(Timer.id.in_(ready.scalar_subquery()))
            .values(lease_owner=owner, lease_until=now + LEASE, attempts=Timer.attempts + 1)
            .returning(Timer)
            .execution_options(synchronize_session=False)
        )).scalars().all()
    return sorted(rows, key=lambda t: (t.priority, t.due_at, t.id))


class Watchdog:
    """Timers that fire more than LATE_AFTER after they were due, counted over one pass of the
    due loop and logged as one line at its end: a backlog of thousands must not flood the log."""

    def __init__(self) -> None:
        self.late = 0
        self.worst: tuple[timedelta, str, str] | None = None

    def saw(self, claimed: list[Timer], now: datetime) -> None:
        for t in claimed:
            delay = now - t.due_at
            if delay > LATE_AFTER:
                self.late += 1
                if self.worst is None or delay > self.worst[0]:
                    self.worst = (delay, t.kind, t.key)

    def report(self) -> None:
        if self.worst is not None:
            delay, kind, key = self.worst
            log.warning("timer watchdog: %d timer(s) fired late, the latest %.0f s (%s, %s)",
                        self.late, delay.total_seconds(), kind, key)


async def mark_fired(session: AsyncSession, timer: Timer, owner: str, now: datetime) -> bool:
    """Compare-and-set inside the handler's transaction: only the lease holder fires it."""
    result = await session.execute(
        update(Timer)
        .where(Timer.id == timer.id, Timer.lease_owner == owner, *_pending())
        .values(fired_at=now, lease_owner=None, lease_until=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def mark_all_fired(session: AsyncSession, claimed: list[Timer], owner: str,
                         now: datetime) -> set[int]:
    """mark_fired for a whole claim in one statement; returns the ids still ours. A timer
    whose lease is ours is not fired (firing clears the lease), so `fired_at IS NULL` is left
    out: with it, SQLite walks the due index over every pending timer (10,000 after
    downtime) instead of looking up these ids."""
    rows = await session.execute(
        update(Timer)
        .where(Timer.id.in_([t.id for t in claimed]), Timer.lease_owner == owner,
               Timer.cancelled_at.is_(None))
        .values(fired_at=now, lease_owner=None, lease_until=None)
        .returning(Timer.id)
        .execution_options(synchronize_session=False))
    return set(rows.scalars())


async def release_after_error(db: Database, timer: Timer, owner: str, now: datetime,
                              error: str) -> None:
    delay = timedelta(seconds=min(30 * 2 ** min(timer.attempts, 6), 3600))
    async with db.transaction() as s:
        await s.execute(
            update(Timer)
            .where(Timer.id == timer.id, Timer.lease_owner == owner)
            .values(lease_owner=None, lease_until=None, last_error=error[:255],
                    due_at=now + delay)
        )


def new_owner(prefix: str = "node") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
