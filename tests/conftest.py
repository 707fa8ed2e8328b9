"""Shared fixtures. Every storage-touching test runs on SQLite and, when
PEERCIRCLE_TEST_POSTGRES_URL is set, on PostgreSQL too; the schema is built only by migrations."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from adapters.console import ConsoleSession
from bot.clock import FakeClock, parse_instant
from bot.config import Settings
from storage.db import Database
from tests.synapse_server import SynapseServer, is_available

POSTGRES_URL = os.environ.get("PEERCIRCLE_TEST_POSTGRES_URL", "")
START = "2026-11-22T04:00:00Z"


def pytest_report_header(config: pytest.Config) -> str:
    if POSTGRES_URL:
        return "peercircle: storage tests run on SQLite and PostgreSQL"
    return ("peercircle: PostgreSQL storage tests skip: set PEERCIRCLE_TEST_POSTGRES_URL "
            "(e.g. postgresql+asyncpg://postgres@127.0.0.1:5432/test) to run them")


class DbSpec:
    """Makes Database objects for one test's private database (a file, or a PG schema)."""

    def __init__(self, kind: str, url: str, schema: str | None = None) -> None:
        self.kind = kind
        self.url = url
        self.schema = schema

    def make(self) -> Database:
        if self.schema is None:
            return Database(self.url)
        return Database(self.url, connect_args={"server_settings": {"search_path": self.schema}})


@pytest_asyncio.fixture(params=["sqlite", "postgres"])
async def db_spec(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DbSpec]:
    if request.param == "sqlite":
        yield DbSpec("sqlite", f"sqlite+aiosqlite:///{tmp_path / 'test.db'}")
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL: PEERCIRCLE_TEST_POSTGRES_URL is not set")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(POSTGRES_URL)
    async with admin.engine.begin() as conn:
        await conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        yield DbSpec("postgres", POSTGRES_URL, schema)
    finally:
        async with admin.engine.begin() as conn:
            await conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.dispose()


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
