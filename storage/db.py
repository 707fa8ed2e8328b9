"""Engine and session set-up. SQLite: WAL, foreign keys, busy timeout, and write transactions
that begin IMMEDIATE so concurrent writers queue instead of failing with "database is locked"."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import sqlite_driver

SQLITE_BUSY_TIMEOUT_MS = 30_000


class DatabaseUnavailableError(RuntimeError):
    """The database cannot be opened; the message is one sentence saying why and what to do."""


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, *, sqlite_synchronous: str = "full", **kwargs: Any) -> AsyncEngine:
    if is_sqlite(url):
        # storage/sqlite_driver.py: a transaction runs inline, BEGIN to COMMIT, when the lock
        # is free; a BEGIN behind another process waits on a writer thread (aiosqlite paid ~4
        # hand-offs per statement).
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            module=sqlite_driver.DBAPI(), **kwargs
        )
        _sqlite_pragmas(engine, sqlite_synchronous)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    try:
        return create_async_engine(url, **kwargs)
    except ImportError as exc:
        if exc.name != "asyncpg":
            raise
        raise DatabaseUnavailableError(
            'PostgreSQL needs the asyncpg driver, which is not installed; run '
            'pip install -e ".[postgres]" (or pip install asyncpg)') from None


def unavailable(url: str, exc: OSError | DBAPIError) -> DatabaseUnavailableError:
    """Why a first connection failed, as one sentence naming the file or host (never the
    password); the caller keeps the original as the cause for DEBUG logs."""
    parsed = make_url(url)
    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    if is_sqlite(url):
        path = Path(parsed.database or "")
        if path.is_dir():
            return DatabaseUnavailableError(f"{path} is a folder; give a file name for the "
                                            "database instead")
        if not path.parent.is_dir():
            return DatabaseUnavailableError(
                f"cannot open the database {path}: the folder {path.parent} does not exist; "
                "create it or choose another path")
        if "not a database" in reason:
            return DatabaseUnavailableError(f"{path} is not a SQLite database; choose a new "
                                            "file name or a peercircle database")
        return DatabaseUnavailableError(f"cannot open the database {path}: {reason}")
    where = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    if isinstance(exc, OSError):
        if isinstance(exc, ConnectionRefusedError):
            reason = "connection refused"
        elif isinstance(exc, socket.gaierror):
            reason = "no such host"
        elif isinstance(exc, TimeoutError):
            reason = "timed out"
        else:
            reason = exc.strerror or type(exc).__name__
        return DatabaseUnavailableError(
            f"could not connect to PostgreSQL at {where} ({reason}); check that it is running "
            "there and that database.url is right")
    return DatabaseUnavailableError(f"could not connect to PostgreSQL at {where}: {reason}")


def _sqlite_pragmas(engine: AsyncEngine, synchronous: str) -> None:
    level = {"full": "FULL", "normal": "NORMAL"}[synchronous.lower()]

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE below is what runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # FULL by default: a committed `call` survives a power failure, not only a crash.
        cursor.execute(f"PRAGMA synchronous={level}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # The write lock is taken up front, so a read-then-write transaction never fails
        # half-way on lock upgrade; waiting writers honour busy_timeout.
        conn.connection.dbapi_connection.begin()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


class Database:
    """The engine plus a sessionmaker; `transaction()` is the one way the core writes.

    On SQLite every transaction takes the write lock up front, so several at once in one
    process gain nothing: they queue here, in order, instead of sleeping and retrying inside
    SQLite (measured in bench/lifeline.py: 50 simultaneous calls 1.8 s -> 0.5 s). Other
    processes still meet busy_timeout. A transaction opened inside another by the same task
    would wait for itself forever, so that is refused at once as the bug it is."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "full",
                 **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, sqlite_synchronous=sqlite_synchronous, **engine_kwargs)
        self.sessions = make_sessionmaker(self.engine)
        self._writer = asyncio.Lock() if is_sqlite(url) else None
        self._holder: asyncio.Task[Any] | None = None
        # Set in the leader of an active/standby pair (storage/leadership.py): run first in
        # every transaction, it refuses the transaction once another process leads.
        self.fence: Callable[[AsyncSession], Awaitable[None]] | None = None
        self.epoch: int | None = None  # that leader's epoch, for writes outside the pool

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        if self._writer is None:
            async with self.sessions() as session, session.begin():
                if self.fence is not None:
                    await self.fence(session)
                yield session
            return
        me = asyncio.current_task()
        if me is not None and self._holder is me:
            raise RuntimeError("a transaction was opened inside another one on SQLite")
        async with self._writer:
            self._holder = me
            session = self.sessions()
            try:
                async with session.begin():
                    if self.fence is not None:
                        await self.fence(session)
                    yield session
            finally:
                self._holder = None
                # Not `async with session`: its exit closes in a task of its own, shielded from
                # cancellation, a task per transaction for nothing here (issue 18): the
                # transaction has ended, and this driver never waits to roll back or close
                # (storage/sqlite_driver.py), so closing cannot be cut short half-way.
                await session.close()
            # From BEGIN to COMMIT nothing waited on the loop (storage/sqlite_driver.py): it
            # turns once before the next transaction takes the lock, so what arrived meanwhile
            # (network, timers, other tasks) goes in between, as it did while COMMIT waited on
            # a thread. Without it, 200 commands at once ran back to back without a look at
            # the network for ~1 s.
            await asyncio.sleep(0)

    async def dispose(self) -> None:
        checkpointer = getattr(self.engine.dialect.dbapi, "checkpointer", None)
        if checkpointer is not None:  # before the connections close: a pass may be under way
            await asyncio.to_thread(checkpointer.stop)
        await self.engine.dispose()
