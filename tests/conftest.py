"""Shared fixtures. Every storage-touching test runs on SQLite and, when
PEERCIRCLE_TEST_POSTGRES_URL is set, on PostgreSQL too; the schema is built only by migrations:
each test gets a copy of a template migrated once per session (see tests/dbtemplates.py)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from adapters.console import ConsoleSession
from bot.clock import FakeClock, parse_instant
from bot.config import Settings
from storage.db import Database
from tests.dbtemplates import BackgroundLoop, PgDatabases, build_sqlite_template, copy_sqlite
from tests.synapse_server import SynapseServer, is_available

POSTGRES_URL = os.environ.get("PEERCIRCLE_TEST_POSTGRES_URL", "")
START = "2026-11-22T04:00:00Z"


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return "peercircle: storage tests run on SQLite and PostgreSQL"
    return ("peercircle: PostgreSQL storage tests skip: set PEERCIRCLE_TEST_POSTGRES_URL "
            "(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test) to run them")


class DbSpec:
    """Makes Database objects for one test's private database (a file, or a PG database)."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url

    def make(self) -> Database:
        return Database(self.url)


@pytest.fixture(scope="session")
def _db_admin_loop() -> Iterator[BackgroundLoop]:
    loop = BackgroundLoop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def _sqlite_template(_db_admin_loop: BackgroundLoop,
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sqlite_template(_db_admin_loop, tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def _pg_databases(_db_admin_loop: BackgroundLoop) -> Iterator[PgDatabases]:
    pg = PgDatabases(POSTGRES_URL, _db_admin_loop)
    pg.start()  # drops what killed runs left, builds the template if the migrations changed
    yield pg
    pg.close()


async def _db_spec(request: pytest.FixtureRequest, tmp_path: Path,
                   empty: bool) -> AsyncIterator[DbSpec]:
    # The templates are requested here, not as fixture arguments, so that a run with no
    # storage test (or with only one kind) builds none it does not need.
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        if empty:
            yield DbSpec("sqlite", f"sqlite+aiosqlite:///{path}")
        else:
            yield DbSpec("sqlite", copy_sqlite(request.getfixturevalue("_sqlite_template"), path))
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: PEERCIRCLE_TEST_POSTGRES_URL is not set")
    pg: PgDatabases = request.getfixturevalue("_pg_databases")
    url = await pg.create(empty=empty)
    try:
        yield DbSpec("postgres", url)
    finally:
        pg.drop(url)  # in the background; the session waits for it before it ends


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def db_spec(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DbSpec]:
    """A private database already at the head revision (copied from the session's template)."""
    async for spec in _db_spec(request, tmp_path, empty=False):
        yield spec


@pytest_asyncio.fixture
async def pg_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A private PostgreSQL database at the head revision, for what only PostgreSQL has
    (leader election, the Matrix key store)."""
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: PEERCIRCLE_TEST_POSTGRES_URL is not set")
    pg: PgDatabases = request.getfixturevalue("_pg_databases")
    url = await pg.create()
    try:
        yield url
    finally:
        pg.drop(url)


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def empty_db_spec(request: pytest.FixtureRequest,
                        tmp_path: Path) -> AsyncIterator[DbSpec]:
    """A private empty database, for the one test that migrates from nothing."""
    async for spec in _db_spec(request, tmp_path, empty=True):
        yield spec


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(parse_instant(START))


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest_asyncio.fixture
async def console(db_spec: DbSpec, clock: FakeClock,
                  settings: Settings) -> AsyncIterator[ConsoleSession]:
    session = ConsoleSession(settings, clock, db_factory=db_spec.make)
    await session.start()
    try:
        yield session
    finally:
        await session.close()


@pytest_asyncio.fixture
async def sim(db_spec: DbSpec, clock: FakeClock,
              settings: Settings) -> AsyncIterator[ConsoleSession]:
    """A console circle for long simulations: on SQLite, commits do not wait for the disk
    (`sqlite_synchronous: normal`); what is tested here is timing, not durability."""

    def make() -> Database:
        if db_spec.kind == "sqlite":
            return Database(db_spec.url, sqlite_synchronous="normal")
        return db_spec.make()

    session = ConsoleSession(settings, clock, db_factory=make)
    await session.start()
    try:
        yield session
    finally:
        await session.close()


async def run_lines(session: ConsoleSession, text: str) -> list[str]:
    """Run script lines and return everything the bot said."""
    for line in text.strip().splitlines():
        await session.run_line(line)
    return session.take()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def synapse() -> AsyncIterator[SynapseServer]:
    """One real Synapse per test module (about 1.3 s to start); tests register their own
    users, so their order does not matter."""
    available = is_available()
    if not available:
        pytest.skip(available.reason)
    async with SynapseServer() as server:
        yield server
