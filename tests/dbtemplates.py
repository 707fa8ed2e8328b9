"""Test databases copied from a template that went through the real migrations once per session.

Per test, migrating from empty cost ~50 ms on SQLite and 200-350 ms on PostgreSQL (CREATE
SCHEMA + Alembic + DROP SCHEMA, ~65 ms of it Python CPU); a copy of a migrated template costs
~1 ms (file copy) and 30-400 ms (CREATE DATABASE ... TEMPLATE + DROP DATABASE, ~10 ms CPU,
the rest PostgreSQL waiting on the disk), so copies are made ahead in the background, where
that wait overlaps with the tests. Exactly one test still migrates from empty
(`empty_db_spec`).

PostgreSQL housekeeping, all through advisory locks in the database named by the URL, so that
several pytest runs (other worktrees, CI) can share one server:
- every database this module makes is called peercircle_t_<session>_<n>; a session holds the
  lock (SESSION, <session>) while it runs, so at start-up a session whose lock is free is dead
  (killed run) and its databases are dropped;
- the template is peercircle_tmpl_<hash of the migrations>: a changed migration gets a new
  template. Sessions hold (TEMPLATE, hash) shared; a template nobody holds and whose hash is
  not ours is dropped. It is built under a temporary name and renamed when complete, so a
  run killed half-way never leaves a half-migrated template behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import itertools
import secrets
import shutil
import sqlite3
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

import migrations
from storage.db import Database
from storage.migrate import migrate

T = TypeVar("T")

PREFIX = "peercircle_t_"
TEMPLATE_PREFIX = "peercircle_tmpl_"
# Advisory lock classes (first int4 key); the second key is the session id or template hash.
LOCK_SESSION = 0x7065_0001
LOCK_TEMPLATE = 0x7065_0002
LOCK_BUILD = 0x7065_0003
# None = the server's default: WAL_LOG on PostgreSQL 15+ (older servers only file-copy).
# Measured on PG 15 with this ~8 MB template, CREATE + DROP: 31-38 ms WAL_LOG vs 106-126 ms
# FILE_COPY on an idle disk, 130-410 vs 180-570 ms on a busy one. FILE_COPY checkpoints twice
# per database, which costs more than WAL-logging so small a copy.
CREATE_STRATEGY: str | None = None
# Template copies made before a test asks for one (see PgDatabases.create).
PREPARE_AHEAD = 2


def migrations_hash() -> str:
    """Hash of what decides the migrated schema: the migration files (names and contents) and
    storage/types.py, which they import for column types."""
    root = Path(migrations.__file__).parent
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in {".py", ".mako"}
                   and "__pycache__" not in p.parts)
    files.append(Path(__file__).resolve().parent.parent / "storage" / "types.py")
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _int4(hex_digits: str) -> int:
    """Eight hex digits as a signed int4, the type advisory-lock keys take."""
    if len(hex_digits) < 8:
        raise ValueError(hex_digits)
    value = int(hex_digits[:8], 16)
    return value - (1 << 32) if value >= 1 << 31 else value


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class BackgroundLoop:
    """An event loop on its own thread for session-wide async work. Session fixtures are sync,
    and each test has its own loop; this one outlives them all and keeps the admin connection
    (which holds the session's advisory locks) alive."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-db-admin",
                                        daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """From sync code (session fixtures)."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result()

    async def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """From a coroutine running on another loop (a test's)."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


def build_sqlite_template(bg: BackgroundLoop, directory: Path) -> Path:
    """Migrate one SQLite file and leave it self-contained, ready to be copied."""
    path = directory / "template.db"

    async def _build() -> None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        try:
            await migrate(db)
        finally:
            await db.dispose()

    bg.run(_build())
    # The file is in WAL mode; fold the WAL into the main file so copying that file alone
    # gives the whole migrated schema. The last connection to close removes -wal and -shm.
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    assert not path.with_name(path.name + "-wal").exists(), "template WAL was not folded in"
    return path


def copy_sqlite(template: Path, path: Path) -> str:
    shutil.copyfile(template, path)
    return f"sqlite+aiosqlite:///{path}"


class PgDatabases:
    """Makes and drops this session's PostgreSQL databases; see the module docstring."""

    def __init__(self, url: str, bg: BackgroundLoop) -> None:
        self.url = make_url(url)
        self.bg = bg
        self.session = secrets.token_hex(4)
        self.template = TEMPLATE_PREFIX + migrations_hash()[:16]
        self._names = itertools.count()
        self._admin: asyncpg.Connection | None = None
        self._lock: asyncio.Lock | None = None  # one admin statement at a time
        self._ahead: deque[concurrent.futures.Future[str]] = deque()
        self._dropping: list[concurrent.futures.Future[None]] = []

    def url_for(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    # -- session start / end (sync, from the session fixture) -------------------------------
    def start(self) -> None:
        try:
            self.bg.run(self._start())
        except BaseException:
            self.close()  # the fixture's teardown does not run when its setup fails
            raise

    def close(self) -> None:
        """Drop the copies made ahead and wait for every drop, then let go of the locks."""
        try:
            for ahead in self._ahead:
                try:
                    self.drop(ahead.result())
                except Exception:
                    pass  # the create failed, so there is nothing to drop
            self._ahead.clear()
            errors = [f.exception() for f in concurrent.futures.as_completed(self._dropping)]
            self._dropping.clear()
            failed = [e for e in errors if e is not None]
            if failed:
                raise failed[0]
        finally:
            self.bg.run(self._close())

    async def _start(self) -> None:
        plain = self.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._admin = await asyncpg.connect(plain)
        self._lock = asyncio.Lock()
        admin = self._admin
        await admin.execute("SELECT pg_advisory_lock($1, $2)", LOCK_SESSION, _int4(self.session))
        await self._drop_stale()
        tmpl_key = _int4(self.template[len(TEMPLATE_PREFIX):])
        # Shared before looking, so no other session drops the template between our check
        # and our first copy.
        await admin.execute("SELECT pg_advisory_lock_shared($1, $2)", LOCK_TEMPLATE, tmpl_key)
        await admin.execute("SELECT pg_advisory_lock($1, $2)", LOCK_BUILD, tmpl_key)
        try:
            if not await self._exists(self.template):
                await self._build_template()
        finally:
            await admin.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_BUILD, tmpl_key)

    async def _close(self) -> None:
        if self._admin is not None:
            await self._admin.close()  # releases the advisory locks
            self._admin = None

    async def _exists(self, name: str) -> bool:
        assert self._admin is not None
        return bool(await self._admin.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", name))

    async def _drop_stale(self) -> None:
        """Drop databases left by killed runs: ours by prefix whose session lock is free, and
        templates for other migrations that no running session holds."""
        admin = self._admin
        assert admin is not None
        names: list[str] = [r["datname"] for r in await admin.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname LIKE $2",
            PREFIX.replace("_", r"\_") + "%", TEMPLATE_PREFIX.replace("_", r"\_") + "%")]
        for name in names:
            if name == self.template:
                continue
            try:
                if name.startswith(TEMPLATE_PREFIX):
                    lock = (LOCK_TEMPLATE, _int4(name[len(TEMPLATE_PREFIX):]))
                else:
                    session = name[len(PREFIX):].split("_", 1)[0]
                    if session == self.session:
                        continue
                    lock = (LOCK_SESSION, _int4(session))
            except ValueError:
                continue  # not a name this module makes
            if not await admin.fetchval("SELECT pg_try_advisory_lock($1, $2)", *lock):
                continue  # a live session owns it
            try:
                await admin.execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")
            finally:
                await admin.execute("SELECT pg_advisory_unlock($1, $2)", *lock)

    async def _build_template(self) -> None:
        assert self._admin is not None
        building = f"{PREFIX}{self.session}_build"
        await self._admin.execute(f"CREATE DATABASE {_quote(building)} TEMPLATE template0")
        db = Database(self.url_for(building))
        try:
            await migrate(db)
        except BaseException:
            await db.dispose()
            await self._admin.execute(f"DROP DATABASE {_quote(building)} WITH (FORCE)")
            raise
        await db.dispose()
        # Renamed only when complete; the name is what other sessions look for.
        await _retry_in_use(lambda: self._admin_execute(
            f"ALTER DATABASE {_quote(building)} RENAME TO {_quote(self.template)}"))

    # -- per test (from a test's loop) ------------------------------------------------------
    async def create(self, *, empty: bool = False) -> str:
        """A new database: a copy of the migrated template, or an empty one; returns its URL."""
        if empty:
            return await self.bg.call(self._create("template0"))
        # Copies are made ahead on the admin loop: CREATE DATABASE mostly waits on the disk
        # (it WAL-logs the whole ~8 MB copy), so it overlaps well with the CPU-bound tests.
        while len(self._ahead) <= PREPARE_AHEAD:
            self._ahead.append(self._submit(self._create(self.template)))
        return await asyncio.wrap_future(self._ahead.popleft())

    def drop(self, url: str) -> None:
        """Drop a test's database in the background; `close` waits for every drop."""
        name = make_url(url).database
        assert name is not None and name.startswith(f"{PREFIX}{self.session}_")
        self._dropping.append(self._submit(self._drop(name)))

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.bg.loop)

    async def _create(self, source: str) -> str:
        name = f"{PREFIX}{self.session}_{next(self._names)}"
        strategy = f" STRATEGY {CREATE_STRATEGY}" if CREATE_STRATEGY else ""
        await _retry_in_use(lambda: self._admin_execute(
            f"CREATE DATABASE {_quote(name)} TEMPLATE {_quote(source)}{strategy}"))
        return self.url_for(name)

    async def _drop(self, name: str) -> None:
        # FORCE: a failed test may not have disposed its engine, and its connections would
        # otherwise keep the database alive.
        await self._admin_execute(f"DROP DATABASE IF EXISTS {_quote(name)} WITH (FORCE)")

    async def _admin_execute(self, sql: str) -> None:
        assert self._admin is not None and self._lock is not None
        async with self._lock:
            await self._admin.execute(sql)


async def _retry_in_use(action: Callable[[], Awaitable[None]]) -> None:
    """A backend lingers for a moment after its client disconnects, and PostgreSQL refuses to
    copy or rename a database that still has one ("being accessed by other users")."""
    for attempt in itertools.count():
        try:
            await action()
            return
        except asyncpg.ObjectInUseError:
            if attempt >= 50:
                raise
            await asyncio.sleep(0.1)
