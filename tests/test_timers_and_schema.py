"""Timers are claimed atomically; the schema comes only from migrations and refuses newer."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import event, select, text

from bot import timers
from bot.clock import FakeClock
from storage.migrate import SchemaTooNewError, code_head, current_revision, migrate
from storage.models import Base, Timer
from tests.conftest import DbSpec


async def test_two_processes_never_claim_the_same_timer(db_spec: DbSpec,
                                                        clock: FakeClock) -> None:
    db_a, db_b = db_spec.make(), db_spec.make()
    await migrate(db_a)
    async with db_a.transaction() as s:
        for i in range(200):
            await timers.schedule(s, clock.now(), "test", clock.now() - timedelta(seconds=i),
                                  f"t{i}")
    got = await asyncio.gather(*(timers.claim_due(db, clock.now(), owner, limit=9)
                                 for _ in range(12)
                                 for db, owner in ((db_a, "a"), (db_b, "b"))))
    claimed = [t.key for batch in got for t in batch]
    assert len(claimed) == len(set(claimed)) == 200
    await db_a.dispose()
    await db_b.dispose()


async def test_only_the_lease_holder_fires(db_spec: DbSpec, clock: FakeClock) -> None:
    db = db_spec.make()
    await migrate(db)
    async with db.transaction() as s:
        await timers.schedule(s, clock.now(), "test", clock.now(), "once")
        # Scheduling the same key again is a no-op: idempotent.
        assert await timers.schedule(s, clock.now(), "test", clock.now(), "once") is False
    [timer] = await timers.claim_due(db, clock.now(), "a")
    clock.advance(timedelta(minutes=3))  # a's lease ran out; b takes over
    [again] = await timers.claim_due(db, clock.now(), "b")
    async with db.transaction() as s:
        assert not await timers.mark_fired(s, timer, "a", clock.now())
        assert await timers.mark_fired(s, again, "b", clock.now())
    assert await timers.claim_due(db, clock.now() + timedelta(hours=1), "c") == []
    await db.dispose()


async def test_a_transactions_timers_go_in_together_and_its_statements_see_them(
        db_spec: DbSpec, clock: FakeClock) -> None:
    """Timers wait in the session and go in as one INSERT at the commit or before the next
    statement (bot/pending_rows.py; issue 18): a `call`'s three timers are one statement. A
    cancel or a single schedule later in the transaction comes after them, and a failed
    transaction leaves none."""
    db = db_spec.make()
    await migrate(db)
    inserts: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO TIMERS"):
            inserts.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    now = clock.now()
    try:
        async with db.transaction() as s:
            timers.schedule_many(s, now, [("test", now + timedelta(minutes=1), "wave", {}, True)])
            timers.schedule_many(s, now, [("test", now + timedelta(hours=1), "give_up", {}, True),
                                          ("test", now + timedelta(days=1), "expire", {}, True)])
        assert len(inserts) == 1
        async with db.transaction() as s:
            timers.schedule_many(s, now, [("test", now + timedelta(minutes=5), "later", {},
                                           False)])
            # The same key again: the first one stays.
            assert not await timers.schedule(s, now, "test", now + timedelta(days=9), "later")
            timers.schedule_many(s, now, [("test", now, "dropped", {}, False)])
            await timers.cancel(s, now, "dropped")
        with pytest.raises(RuntimeError):
            async with db.transaction() as s:
                timers.schedule_many(s, now, [("test", now, "lost", {}, False)])
                raise RuntimeError("the handler failed")
        async with db.transaction() as s:
            rows = (await s.execute(select(Timer.key, Timer.due_at, Timer.cancelled_at)
                                    .order_by(Timer.id))).all()
        assert [(key, due.replace(tzinfo=None), cancelled is not None)
                for key, due, cancelled in rows] == [
            ("wave", (now + timedelta(minutes=1)).replace(tzinfo=None), False),
            ("give_up", (now + timedelta(hours=1)).replace(tzinfo=None), False),
            ("expire", (now + timedelta(days=1)).replace(tzinfo=None), False),
            ("later", (now + timedelta(minutes=5)).replace(tzinfo=None), False),
            ("dropped", now.replace(tzinfo=None), True)]
    finally:
        await db.dispose()


async def test_schema_matches_the_models_after_migrating(empty_db_spec: DbSpec) -> None:
    db = empty_db_spec.make()
    assert await current_revision(db) is None
    assert await migrate(db) == code_head()
    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata))
    assert diff == []
    assert await migrate(db) == code_head()  # a second run is a no-op
    await db.dispose()


async def test_a_database_newer_than_the_code_is_refused(db_spec: DbSpec) -> None:
    db = db_spec.make()
    await migrate(db)
    async with db.transaction() as s:
        await s.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed9999'"))
    with pytest.raises(SchemaTooNewError, match=r"f00dfeed9999.*Upgrade peercircle"):
        await migrate(db)
    await db.dispose()
