"""storage/sqlite_driver.py: a task cancelled while its statement waits on the writer thread;
WAL checkpoints off the commit path (at the end).

`BEGIN IMMEDIATE` waits up to busy_timeout on the writer thread when another process holds
SQLite's write lock. If the waiting task is cancelled (a shutdown, a lost leadership, a
timeout), SQLAlchemy invalidates the connection, which closes it. Closed on the event loop's
thread while the BEGIN still ran on the writer's, sqlite3 first held the loop until the other
process let go, then could crash the whole process (seen: a segmentation fault under load).
The close must wait its turn on the writer thread instead, and the loop stay free."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.sqlite_driver import Checkpointer

HOLD = 0.6  # how long the other process keeps the write lock after the cancel


async def _heartbeat(gaps: list[float], stop: asyncio.Event) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.01)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


@dataclass
class Contended:
    """A database with a table, another process's connection to it, and a heartbeat on the
    event loop recording the gaps between its beats."""

    db: Database
    other: sqlite3.Connection
    gaps: list[float]


@contextlib.asynccontextmanager
async def contended(path: Path) -> AsyncIterator[Contended]:
    db = Database(f"sqlite+aiosqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    gaps: list[float] = []
    stop = asyncio.Event()
    beat = asyncio.create_task(_heartbeat(gaps, stop))
    try:
        async with db.transaction() as s:
            await s.execute(text("CREATE TABLE t (v INTEGER)"))
        yield Contended(db, other, gaps)
    finally:
        stop.set()
        await beat
        other.close()
        await db.dispose()


async def _insert_table(db: Database) -> None:
    async with db.transaction() as s:
        await s.execute(text("CREATE TABLE t (v INTEGER)"))


async def _insert(db: Database, value: int) -> None:
    async with db.transaction() as s:
        await s.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})


async def _values(db: Database) -> list[int]:
    async with db.transaction() as s:
        return list((await s.execute(text("SELECT v FROM t ORDER BY v"))).scalars())


async def test_a_cancelled_begin_waiting_for_the_lock_never_blocks_the_loop_or_crashes(
        tmp_path: Path) -> None:
    async with contended(tmp_path / "t.db") as c:
        c.other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        task = asyncio.create_task(_insert(c.db, 1))
        await asyncio.sleep(0.1)  # its BEGIN IMMEDIATE now waits on the writer thread
        c.gaps.clear()
        cancelled_at = time.perf_counter()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        # The cancelled task ends now; it does not wait out the BEGIN (up to busy_timeout).
        assert time.perf_counter() - cancelled_at < HOLD / 2
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        loop.call_later(HOLD, c.other.execute, "ROLLBACK")  # the other process lets go
        await asyncio.sleep(HOLD + 0.2)
        # The loop went on beating while the writer thread waited, and nothing crashed.
        assert max(c.gaps) < HOLD / 2, max(c.gaps)
        await _insert(c.db, 2)
        assert await _values(c.db) == [2]


async def test_a_begin_behind_another_writer_waits_for_it_and_the_loop_runs_meanwhile(
        tmp_path: Path) -> None:
    """The usual BEGIN takes a free lock at once on the loop's thread; one that finds another
    process writing must still wait for it (busy_timeout), on the writer thread."""
    async with contended(tmp_path / "t.db") as c:
        c.other.execute("BEGIN IMMEDIATE")
        c.other.execute("INSERT INTO t VALUES (1)")
        task = asyncio.create_task(_insert(c.db, 2))
        c.gaps.clear()
        await asyncio.sleep(HOLD)
        assert not task.done()  # waiting for the lock, not refused for it
        assert max(c.gaps) < HOLD / 2, max(c.gaps)  # and not on the loop's thread
        c.other.execute("COMMIT")
        await asyncio.wait_for(task, timeout=10)
        assert await _values(c.db) == [1, 2]
        async with c.db.transaction() as s:
            # The wait is still the configured one for whatever comes next.
            assert (await s.execute(text("PRAGMA busy_timeout"))).scalar() == 30_000


async def test_a_transaction_that_finds_the_lock_free_runs_on_the_loops_thread(
        tmp_path: Path) -> None:
    """BEGIN, its statements and COMMIT all run on the event loop's thread: the two thread
    wake-ups of handing COMMIT to the writer cost more than its fsync (issue 18). Only a BEGIN
    behind another process's lock goes to the writer thread."""
    from sqlalchemy import event

    db = Database(f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    ran: list[tuple[str, str]] = []
    waiting = threading.Event()  # a BEGIN is on the writer thread

    def traced(sql: str) -> None:
        ran.append((sql.split()[0], threading.current_thread().name))
        if ran[-1] == ("BEGIN", "sqlite-writer"):
            waiting.set()

    @event.listens_for(db.engine.sync_engine, "connect")
    def _trace(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection._connection.set_trace_callback(traced)

    try:
        await _insert_table(db)
        ran.clear()
        await _insert(db, 1)
        loop_thread = threading.current_thread().name
        assert [word for word, _ in ran if word != "PRAGMA"] == ["BEGIN", "INSERT", "COMMIT"]
        assert {thread for _, thread in ran} == {loop_thread}
        other = sqlite3.connect(tmp_path / "t.db", isolation_level=None,
                                check_same_thread=False)
        try:
            other.execute("BEGIN IMMEDIATE")
            ran.clear()
            task = asyncio.create_task(_insert(db, 2))
            assert await asyncio.to_thread(waiting.wait, 10)
            other.execute("COMMIT")
            await asyncio.wait_for(task, timeout=10)
        finally:
            other.close()
        assert await _values(db) == [1, 2]
    finally:
        await db.dispose()


async def test_the_loop_turns_between_two_transactions(tmp_path: Path) -> None:
    """A transaction runs from BEGIN to COMMIT without waiting on the loop, so the loop turns
    between two: twenty commands at once never hold up the network and timers for all twenty
    (they ran back to back, ~1 s for 200 `call`s, without it)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    seen: list[str] = []
    stop = asyncio.Event()

    async def other_work() -> None:  # what else the loop runs: one step per turn
        while not stop.is_set():
            seen.append("turn")
            await asyncio.sleep(0)

    async def write(value: int) -> None:
        async with db.transaction() as s:
            await s.execute(text("INSERT INTO t VALUES (:v)"), {"v": value})
            seen.append("transaction")

    try:
        await _insert_table(db)
        meanwhile = asyncio.create_task(other_work())
        await asyncio.gather(*(write(v) for v in range(20)))
        stop.set()
        await meanwhile
        at = [i for i, what in enumerate(seen) if what == "transaction"]
        assert len(at) == 20
        assert all("turn" in seen[a:b] for a, b in itertools.pairwise(at))
        assert await _values(db) == list(range(20))
    finally:
        await db.dispose()


async def test_a_task_cancelled_during_its_commit_leaves_nothing_checked_out(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A task cancelled while its COMMIT runs on the writer thread ends at once (its session
    is now closed by the transaction itself, not in a task of its own: issue 18); its
    connection goes back to the pool, and the next transaction runs after that COMMIT."""
    from storage import sqlite_driver

    async with contended(tmp_path / "t.db") as c:
        release = threading.Event()
        started = threading.Event()
        commit = sqlite_driver.Connection.commit

        def slow_commit(self: sqlite_driver.Connection) -> None:
            raw = self._connection

            def held() -> None:
                started.set()
                release.wait(10)
                raw.commit()

            if raw.in_transaction:
                self.on_writer(held)

        monkeypatch.setattr(sqlite_driver.Connection, "commit", slow_commit)
        task = asyncio.create_task(_insert(c.db, 1))
        assert await asyncio.to_thread(started.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=HOLD)
        monkeypatch.setattr(sqlite_driver.Connection, "commit", commit)
        release.set()
        await _insert(c.db, 2)  # queued behind the held COMMIT on the writer thread
        assert c.db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert 2 in await _values(c.db)


async def _write_pages(db: Database, commits: int) -> None:
    """`commits` transactions of ~50 pages each: 2,000 pages in all for 40, twice the log
    size at which SQLite's default checkpoints inside a COMMIT."""
    async with db.transaction() as s:
        await s.execute(text("CREATE TABLE IF NOT EXISTS blobs (b BLOB)"))
    for _ in range(commits):
        async with db.transaction() as s:
            await s.execute(text("INSERT INTO blobs VALUES (randomblob(4000))"),
                            [{}] * 50)


async def test_no_commit_waits_for_a_wal_checkpoint(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A COMMIT that takes the log past 1,000 pages used to copy them into the database
    file and sync it before returning (~3 ms, the tail of `call`; issue 18). With the
    checkpoint thread held back, 2,000 pages committed leave the database file untouched."""
    held: list[Checkpointer] = []
    monkeypatch.setattr(Checkpointer, "committed", lambda self: held.append(self))
    path = tmp_path / "t.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await _write_pages(db, 1)
        size = path.stat().st_size
        await _write_pages(db, 40)
        assert path.stat().st_size == size  # everything is still in the log
        assert len(held) == 43  # each commit told the checkpointer
    finally:
        await db.dispose()


async def test_the_log_is_checkpointed_soon_after_commits_on_its_own_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Checkpointer, "INTERVAL", 0.01)
    path = tmp_path / "t.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await _write_pages(db, 40)
        async with db.transaction() as s:
            raw = await (await s.connection()).get_raw_connection()
            checkpointer = raw.dbapi_connection.checkpointer
        assert checkpointer is not None
        # Once commits stop, a last pass runs and the thread is gone; the pages are in the
        # database file.
        assert await asyncio.to_thread(checkpointer.wait_idle, 10.0)
        assert checkpointer.passes >= 1
        assert path.stat().st_size > 40 * 50 * 4000
        assert await _count_blobs(db) == 2000
    finally:
        await db.dispose()


async def _count_blobs(db: Database) -> int:
    async with db.transaction() as s:
        return int((await s.execute(text("SELECT count(*) FROM blobs"))).scalar_one())


async def test_closing_the_database_stops_the_checkpoint_thread_and_folds_the_log_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing touches the file once the database is closed: tests copy template files
    that way, and an operator may copy a backup."""
    monkeypatch.setattr(Checkpointer, "INTERVAL", 600.0)  # a pass would be far off
    path = tmp_path / "t.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await _write_pages(db, 2)
    checkpointer = db.engine.dialect.dbapi.checkpointer
    assert checkpointer is not None and not await asyncio.to_thread(checkpointer.wait_idle, 0)
    await db.dispose()  # a pass under way is finished first
    assert await asyncio.to_thread(checkpointer.wait_idle, 0)  # gone at once: no pass after
    assert not path.with_name("t.db-wal").exists()
    assert await _count_blobs(db) == 100  # and a later use starts afresh
    await db.dispose()


async def test_closing_during_a_pass_waits_for_that_pass_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stop comes while a checkpoint runs: the thread ends after it, rather than waiting
    out one more INTERVAL first (it did: a shutdown held up by up to INTERVAL)."""
    monkeypatch.setattr(Checkpointer, "INTERVAL", 600.0)
    inside = threading.Event()
    run = Checkpointer.checkpoint

    def held(self: Checkpointer) -> None:
        inside.set()
        self._stopping.wait(10)  # until the stop is asked for
        run(self)

    monkeypatch.setattr(Checkpointer, "checkpoint", held)
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    try:
        await _write_pages(db, 2)  # the second commit starts a pass at once
        checkpointer = db.engine.dialect.dbapi.checkpointer
        assert await asyncio.to_thread(inside.wait, 10)
    finally:
        await asyncio.wait_for(db.dispose(), 10)
    assert checkpointer.passes == 1
    assert await asyncio.to_thread(checkpointer.wait_idle, 0)
