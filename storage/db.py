"""Engine and session set-up. SQLite: WAL, foreign keys, busy timeout, and write transactions
that begin IMMEDIATE so concurrent writers queue instead of failing with "database is locked"."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        _sqlite_pragmas(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN IMMEDIATE below is what runs.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        # The write lock is taken up front, so a read-then-write transaction never fails
        # half-way on lock upgrade; waiting writers honour busy_timeout.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


class Database:
    """The engine plus a sessionmaker; `transaction()` is the one way the core writes.

    On SQLite every transaction takes the write lock up front, so several at once in one
    process gain nothing: they queue here, in order, instead of sleeping and retrying inside
    SQLite (measured in bench/lifeline.py: 50 simultaneous calls 1.8 s -> 0.5 s). Other
    processes still meet busy_timeout. A transaction opened inside another by the same task
    would wait for itself forever, so that is refused at once as the bug it is."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = make_sessionmaker(self.engine)
        self._writer = asyncio.Lock() if is_sqlite(url) else None
        self._holder: asyncio.Task[Any] | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        if self._writer is None:
            async with self.sessions() as session, session.begin():
                yield session
            return
        me = asyncio.current_task()
        if me is not None and self._holder is me:
            raise RuntimeError("a transaction was opened inside another one on SQLite")
        async with self._writer:
            self._holder = me
            try:
                async with self.sessions() as session, session.begin():
                    yield session
            finally:
                self._holder = None

    async def dispose(self) -> None:
        await self.engine.dispose()
