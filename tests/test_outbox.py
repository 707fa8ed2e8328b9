"""The outbox: concurrent senders never double-send; failures retry; closed DMs stop retries."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from bot.clock import FakeClock
from bot.outbox import DeliveryError, OutboxSender, OutboxWriter, Outgoing
from storage.db import Database
from storage.migrate import migrate
from storage.models import OutboxMessage, Person
from tests.conftest import DbSpec


class Recorder:
    platform = "console"

    def __init__(self, fail_first: set[str] | None = None) -> None:
        self.sent: list[str] = []
        self.fail_first = set(fail_first or ())

    async def deliver(self, message: Outgoing) -> str:
        await asyncio.sleep(0)  # let the other sender interleave
        if message.key in self.fail_first:
            self.fail_first.discard(message.key)
            raise RuntimeError("connection reset")
        self.sent.append(message.key)
        return f"id-{message.key}"


async def fill(db: Database, clock: FakeClock, n: int) -> list[str]:
    async with db.transaction() as s:
        person = Person(platform="console", platform_user_id="bob", display_name="bob",
                        created_at=clock.now())
        s.add(person)
        writer = OutboxWriter(s, clock.now(), "test")
        return [writer.dm(person, f"message {i}") for i in range(n)]


async def test_two_senders_never_send_a_row_twice(db_spec: DbSpec, clock: FakeClock) -> None:
    db = db_spec.make()
    await migrate(db)
    keys = await fill(db, clock, 120)
    a, b = Recorder(), Recorder()
    sender_a = OutboxSender(db, clock, a, owner="a", batch=7)
    other_db = db_spec.make()  # a second process has its own engine
    sender_b = OutboxSender(other_db, clock, b, owner="b", batch=5)
    await asyncio.gather(sender_a.drain(), sender_b.drain(), sender_a.drain())
    counts = Counter(a.sent + b.sent)
    assert set(counts) == set(keys)
    assert max(counts.values()) == 1
    assert a.sent and b.sent  # both really took part
    async with db.transaction() as s:
        rows = (await s.execute(select(OutboxMessage))).scalars().all()
    assert all(r.sent_at is not None and r.platform_message_id == f"id-{r.key}" for r in rows)
    await db.dispose()
    await other_db.dispose()


async def test_a_failed_delivery_is_retried_later(db_spec: DbSpec, clock: FakeClock) -> None:
    db = db_spec.make()
    await migrate(db)
    keys = await fill(db, clock, 3)
    rec = Recorder(fail_first={keys[1]})
    sender = OutboxSender(db, clock, rec, owner="a")
    await sender.drain()
    assert rec.sent == [keys[0], keys[2]]
    await sender.drain()  # not yet: it waits for its backoff
    assert rec.sent == [keys[0], keys[2]]
    clock.advance(timedelta(seconds=5))
    await sender.drain()
    assert rec.sent == [keys[0], keys[2], keys[1]]
    async with db.transaction() as s:
        row = (await s.execute(select(OutboxMessage).where(OutboxMessage.key == keys[1]))
               ).scalar_one()
    assert row.attempts == 2 and row.sent_at is not None
    await db.dispose()


async def test_a_sender_that_dies_mid_way_leaves_the_row_for_another(
        db_spec: DbSpec, clock: FakeClock) -> None:
    db = db_spec.make()
    await migrate(db)
    keys = await fill(db, clock, 2)
    dead = OutboxSender(db, clock, Recorder(), owner="dead")
    claimed = await dead.claim()  # claimed, then the process is gone before delivering
    assert [r.key for r in claimed] == keys
    rec = Recorder()
    alive = OutboxSender(db, clock, rec, owner="alive")
    await alive.drain()
    assert rec.sent == []  # the lease still holds
    clock.advance(timedelta(seconds=61))
    await alive.drain()
    assert rec.sent == keys
    await db.dispose()


class Closed:
    platform = "console"

    def __init__(self) -> None:
        self.calls = 0

    async def deliver(self, message: Outgoing) -> str:
        self.calls += 1
        raise DeliveryError("cannot send messages to this user", dm_closed=True)


async def test_closed_dm_marks_the_person_and_stops(db_spec: DbSpec, clock: FakeClock) -> None:
    db = db_spec.make()
    await migrate(db)
    await fill(db, clock, 1)
    closed = Closed()
    sender = OutboxSender(db, clock, closed)
    await sender.drain()
    clock.advance(timedelta(hours=1))
    await sender.drain()
    assert closed.calls == 1
    async with db.transaction() as s:
        person = (await s.execute(select(Person))).scalar_one()
        row = (await s.execute(select(OutboxMessage))).scalar_one()
    assert person.dm_closed_at is not None
    assert row.failed_at is not None and row.sent_at is None
    await db.dispose()


class RateLimited:
    platform = "console"

    def __init__(self) -> None:
        self.calls = 0

    async def deliver(self, message: Outgoing) -> str:
        self.calls += 1
        if self.calls == 1:
            raise DeliveryError("M_LIMIT_EXCEEDED", retry_after=30)
        return "ok"


async def test_rate_limit_retry_after_is_honoured(db_spec: DbSpec, clock: FakeClock) -> None:
    db = db_spec.make()
    await migrate(db)
    await fill(db, clock, 1)
    limited = RateLimited()
    sender = OutboxSender(db, clock, limited)
    await sender.drain()
    clock.advance(timedelta(seconds=29))
    await sender.drain()
    assert limited.calls == 1
    clock.advance(timedelta(seconds=2))
    await sender.drain()
    assert limited.calls == 2
    await db.dispose()


async def test_sqlite_waits_for_the_disk_at_every_commit_by_default(tmp_path: Path) -> None:
    from storage.db import Database

    for given, expected in ((None, 2), ("normal", 1)):  # PRAGMA synchronous: 2 FULL, 1 NORMAL
        db = (Database(f"sqlite+aiosqlite:///{tmp_path / 'a.db'}") if given is None else
              Database(f"sqlite+aiosqlite:///{tmp_path / 'b.db'}", sqlite_synchronous=given))
        try:
            async with db.engine.connect() as conn:
                assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == expected
        finally:
            await db.dispose()


async def test_rows_commit_with_their_transaction_and_every_statement_in_it_sees_them(
        db_spec: DbSpec, clock: FakeClock) -> None:
    """Rows wait in the session and go in as one INSERT (issue 18): a read, change or delete
    of the outbox later in the same transaction must find them, and a transaction that fails
    must leave none."""
    db = db_spec.make()
    await migrate(db)
    try:
        async with db.transaction() as s:
            person = Person(platform="console", platform_user_id="bob", display_name="bob",
                            created_at=clock.now())
            s.add(person)
            writer = OutboxWriter(s, clock.now(), "kept")
            first = writer.dm(person, "a page")
            assert (await s.execute(select(OutboxMessage.text).where(
                OutboxMessage.key == first))).scalar_one() == "a page"
            dropped = writer.dm(person, "a note written then taken back")
            await s.execute(delete(OutboxMessage).where(OutboxMessage.key == dropped))
            last = writer.dm(person, "the last word")  # nothing reads it: it goes at commit
        with pytest.raises(RuntimeError):
            async with db.transaction() as s:
                person = (await s.execute(select(Person))).scalar_one()
                OutboxWriter(s, clock.now(), "lost").dm(person, "never sent")
                raise RuntimeError("the handler failed")
        async with db.transaction() as s:
            rows = (await s.execute(select(OutboxMessage.key, OutboxMessage.text)
                                    .order_by(OutboxMessage.id))).all()
        assert [tuple(r) for r in rows] == [(first, "a page"), (last, "the last word")]
    finally:
        await db.dispose()
