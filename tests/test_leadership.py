"""Leader election on a real PostgreSQL (storage/leadership.py): one leader at a time, the
epoch grows with each, the standby takes over when the lock is given up, frozen or cut, and
the old leader's writes are refused by the epoch fence. Timings are PostgreSQL's behaviour
(idle_session_timeout, terminated backends), so they run for real with short settings; the
grace arithmetic and the heartbeat check run on a fake clock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text

from bot.clock import FakeClock, parse_instant
from storage.db import Database
from storage.leadership import (
    FencedError,
    Leadership,
    Timing,
    asyncpg_dsn,
    grace_wait,
    read_status,
)
from storage.migrate import code_head, current_revision, migrate
from storage.models import Leader
from tests.conftest import POSTGRES_URL

FAST = Timing(heartbeat=0.1, grace=0.4, idle_timeout=1.0, retry=0.1)
T0 = parse_instant("2026-11-22T04:00:00Z")


def test_grace_wait_counts_from_the_old_heartbeat() -> None:
    grace = timedelta(seconds=2)
    assert grace_wait(None, T0, grace) == timedelta(0)
    assert grace_wait(T0, T0 + timedelta(seconds=0.5), grace) == timedelta(seconds=1.5)
    assert grace_wait(T0, T0 + timedelta(seconds=5), grace) == timedelta(0)


def test_a_leader_without_a_good_heartbeat_within_the_grace_is_stale() -> None:
    clock = FakeClock(T0)
    leader = Leadership("postgresql+asyncpg://x@h/db", timing=Timing(grace=2.0), clock=clock)
    assert not leader.fresh()  # never beat
    leader.last_ok = clock.now()
    clock.advance(2.0)
    assert leader.fresh()
    clock.advance(0.1)
    assert not leader.fresh()


def test_the_dsn_keeps_the_password_and_drops_the_driver() -> None:
    assert asyncpg_dsn("postgresql+asyncpg://u:p%40ss@h:5433/db") == \
        "postgresql://u:p%40ss@h:5433/db"


@contextlib.asynccontextmanager
async def candidates(url: str, n: int) -> AsyncIterator[list[Leadership]]:
    made = [Leadership(url, timing=FAST, holder=f"test:{i}") for i in range(n)]
    try:
        yield made
    finally:
        for c in made:
            await c.release()


async def _epoch(url: str) -> int:
    db = Database(url)
    try:
        async with db.transaction() as s:
            return int((await s.execute(select(Leader.epoch))).scalar_one())
    finally:
        await db.dispose()


async def test_one_leader_at_a_time_and_each_new_one_raises_the_epoch(pg_url: str) -> None:
    stop = asyncio.Event()
    async with candidates(pg_url, 2) as (a, b):
        assert await a.acquire(stop) == 1
        second = asyncio.create_task(b.acquire(stop))
        # b tries every 0.1 s; several tries go by without it leading.
        done, _ = await asyncio.wait([second], timeout=0.5)
        assert not done
        await a.release()
        assert await asyncio.wait_for(second, 5) == 2
        assert await _epoch(pg_url) == 2
        db = Database(pg_url)
        try:
            async with db.transaction() as s:
                st = await read_status(s)
        finally:
            await db.dispose()
        assert (st.epoch, st.holder) == (2, "test:1")
        assert ("leader", "test:1") in st.processes


async def test_the_new_leader_waits_out_the_old_heartbeat_grace(pg_url: str) -> None:
    stop = asyncio.Event()
    async with candidates(pg_url, 2) as (a, b):
        await a.acquire(stop)
        await a.release()  # its last heartbeat is a moment ago
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await b.acquire(stop) == 2
        assert loop.time() - began >= FAST.grace * 0.8


async def test_the_fence_refuses_the_old_leaders_writes_and_says_so(
        pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    stop = asyncio.Event()
    old_db = Database(pg_url)
    try:
        async with candidates(pg_url, 2) as (a, b):
            await a.acquire(stop)
            old_db.fence = a.fence
            async with old_db.transaction() as s:  # while it leads, it writes
                await s.execute(text("UPDATE leader SET holder = holder"))
            # A frozen leader: its heartbeat stops, its lock connection goes quiet, and
            # PostgreSQL ends it after idle_timeout; b takes over.
            assert a._heartbeat is not None
            a._heartbeat.cancel()
            assert await asyncio.wait_for(b.acquire(stop), 5) == 2
            a.lost.clear()  # as if it had not noticed yet (woke from the freeze just now)
            a.reason = ""
            caplog.set_level(logging.ERROR, "storage.leadership")
            with pytest.raises(FencedError):
                async with old_db.transaction() as s:
                    await s.execute(text("UPDATE leader SET holder = 'old'"))
            assert a.lost.is_set()
            assert any("epoch fence" in r.getMessage() for r in caplog.records)
            with pytest.raises(FencedError):  # and every later one, without asking
                async with old_db.transaction() as s:
                    await s.execute(text("SELECT 1"))
            async with old_db.sessions() as s:
                holder = (await s.execute(select(Leader.holder))).scalar_one()
            assert holder == "test:1"
    finally:
        await old_db.dispose()


async def test_a_frozen_leader_loses_the_lock_after_the_idle_timeout(pg_url: str) -> None:
    stop = asyncio.Event()
    async with candidates(pg_url, 2) as (a, b):
        await a.acquire(stop)
        assert a._heartbeat is not None
        a._heartbeat.cancel()  # frozen: nothing more goes over its lock connection
        loop = asyncio.get_running_loop()
        began = loop.time()
        assert await asyncio.wait_for(b.acquire(stop), 10) == 2
        took = loop.time() - began
        assert FAST.idle_timeout * 0.8 <= took <= FAST.idle_timeout + 4


async def test_a_terminated_lock_connection_is_a_step_down_within_two_seconds(
        pg_url: str) -> None:
    stop = asyncio.Event()
    async with candidates(pg_url, 1) as (a,):
        await a.acquire(stop)
        db = Database(pg_url)
        try:
            async with db.transaction() as s:
                ended = (await s.execute(text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND "
                    "application_name LIKE 'peercircle leader %'"))).scalar_one()
            assert ended == 1
        finally:
            await db.dispose()
        await asyncio.wait_for(a.lost.wait(), 2)


async def test_a_leader_that_sees_the_epoch_raised_steps_down(pg_url: str) -> None:
    stop = asyncio.Event()
    async with candidates(pg_url, 1) as (a,):
        await a.acquire(stop)
        db = Database(pg_url)
        try:
            async with db.transaction() as s:
                await s.execute(text("UPDATE leader SET epoch = epoch + 1"))
        finally:
            await db.dispose()
        await asyncio.wait_for(a.lost.wait(), 2)
        assert "epoch" in a.reason


async def test_two_processes_migrating_together_migrate_once(request: pytest.FixtureRequest
                                                            ) -> None:
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: PEERCIRCLE_TEST_POSTGRES_URL is not set")
    pg = request.getfixturevalue("_pg_databases")
    url = await pg.create(empty=True)
    dbs = [Database(url), Database(url)]
    try:
        revisions = await asyncio.gather(*(migrate(d) for d in dbs))
        assert revisions == [code_head(), code_head()]
        assert await current_revision(dbs[0]) == code_head()
        async with dbs[0].transaction() as s:
            assert (await s.execute(select(func.count()).select_from(Leader))).scalar_one() == 1
    finally:
        for d in dbs:
            await d.dispose()
        pg.drop(url)


async def test_a_transaction_a_frozen_leader_left_open_is_ended_by_the_takeover(
        pg_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The old leader froze inside a transaction (its fence holds the leader row FOR KEY
    SHARE): the new leader's epoch update cannot wait for it forever, so it ends it."""
    stop = asyncio.Event()
    old_db = Database(pg_url)
    frozen = asyncio.Event()
    try:
        async with candidates(pg_url, 2) as (a, b):
            await a.acquire(stop)
            old_db.fence = a.fence

            async def stuck() -> None:
                async with old_db.transaction() as s:
                    await s.execute(text("SELECT 1"))
                    frozen.set()
                    await asyncio.Event().wait()  # never ends on its own

            task = asyncio.create_task(stuck())
            await asyncio.wait_for(frozen.wait(), 5)
            assert a._heartbeat is not None
            a._heartbeat.cancel()
            caplog.set_level(logging.WARNING, "storage.leadership")
            assert await asyncio.wait_for(b.acquire(stop), FAST.idle_timeout + 5) == 2
            assert any("ended 1 transaction(s) of the old leader" in r.getMessage()
                       for r in caplog.records)
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
    finally:
        await old_db.dispose()


async def test_status_names_the_leader_its_epoch_and_the_standby(
        pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    from adapters.cli import _status
    from bot.config import Settings

    stop = asyncio.Event()
    async with candidates(pg_url, 2) as (a, b):
        await a.acquire(stop)
        waiting = asyncio.create_task(b.acquire(stop))
        try:
            while True:  # b has asked for the lock at least once: it is a standby now
                db = Database(pg_url)
                try:
                    async with db.transaction() as s:
                        st = await read_status(s)
                finally:
                    await db.dispose()
                if ("standby", "test:1") in st.processes:
                    break
                await asyncio.sleep(0.05)
            assert await _status(Settings(database={"url": pg_url})) == 0
        finally:
            stop.set()
            await waiting
    out = capsys.readouterr().out
    assert "leader: test:0 (leading), epoch 1, since " in out
    assert "last heartbeat" in out and "s ago" in out
    assert "standby: test:1" in out


async def test_a_standby_whose_connection_is_cut_reconnects_and_still_takes_over(
        pg_url: str) -> None:
    stop = asyncio.Event()
    async with candidates(pg_url, 2) as (a, b):
        await a.acquire(stop)
        waiting = asyncio.create_task(b.acquire(stop))
        db = Database(pg_url)
        try:
            ended = 0
            while not ended:  # b's connection exists once it has tried the lock
                async with db.transaction() as s:
                    ended = (await s.execute(text(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND "
                        "application_name LIKE 'peercircle standby %'"))).scalar_one()
                await asyncio.sleep(0.05)
        finally:
            await db.dispose()
        await a.release()
        assert await asyncio.wait_for(waiting, 10) == 2
