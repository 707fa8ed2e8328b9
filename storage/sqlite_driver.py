"""The SQLite driver under the async engine: stdlib sqlite3, with only what may wait for
another process handed to one writer thread per engine.

aiosqlite sends every call (cursor, execute, fetch, close) to its thread and back, about four
hand-offs per statement; a `call` paid ~70 of them, more than its SQL cost (issue 18). Here a
transaction runs at once on the event loop's thread, from its BEGIN to its COMMIT: it began
IMMEDIATE, so it holds the write lock and reads one snapshot, and nothing in it waits for
another process. What can wait goes to the writer thread, so the event loop never stalls on
it: a BEGIN IMMEDIATE that finds another process writing (it waits there up to busy_timeout),
any statement outside a transaction (a PRAGMA at connect), and opening the file.

COMMIT is the fsync under synchronous=FULL, ~0.3-0.9 ms on the machine the benchmarks ran on.
It went to the writer thread until the WAL checkpoints (copying the log back into the database
file and syncing it, the slow COMMITs) moved to a thread and connection of their own, a moment
after commits; see `Checkpointer`. Since then the two thread wake-ups of that hand-off cost
more than the fsync itself (issue 18: `call` 11% faster without them). SQLite's own checkpoint
inside a COMMIT remains only as the backstop at BACKSTOP_PAGES, and by then the log is mostly
copied already.

The price: a long query inside a transaction, or a slow disk's fsync, holds the event loop
while it runs. The bot's queries are indexed look-ups over one circle; the year-long `health`
read is the longest (bench/health.py). Transactions queue for the write lock anyway
(storage.db), so another member's command waits for that COMMIT either way."""

from __future__ import annotations

import asyncio
import logging
import queue
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_dbapi
from sqlalchemy.engine.interfaces import AdaptedConnection
from sqlalchemy.util.concurrency import await_

T = TypeVar("T")
log = logging.getLogger(__name__)


class WriterThread:
    """One thread per engine for what may wait for another process: opening, a BEGIN behind
    another writer, and what must come after such a job (a COMMIT, a ROLLBACK or a close of
    its connection). Jobs run in the order given. The thread is
    a daemon started on demand and gone after a few idle seconds: an engine disposed without
    ceremony (tests make hundreds) leaves nothing behind."""

    IDLE_SECONDS = 5.0

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """From inside SQLAlchemy's greenlet: run `fn` on the thread, the loop free meanwhile."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._put((loop, future, fn, args))
        return await_(future)

    def post(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run `fn` on the thread after what is queued, waiting for nothing: for closing a
        connection where nothing can wait (a pool invalidating it, garbage collection)."""
        self._put((None, None, fn, args))

    def _put(self, job: tuple[Any, ...]) -> None:
        with self._lock:
            self._jobs.put(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="sqlite-writer",
                                                daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            try:
                loop, future, fn, args = self._jobs.get(timeout=self.IDLE_SECONDS)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._thread = None
                        return
                continue
            try:
                result = fn(*args)
            except BaseException as exc:
                if future is not None:
                    _settle(loop, future, None, exc)
            else:
                if future is not None:
                    _settle(loop, future, result, None)


def _settle(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], result: Any,
            exc: BaseException | None) -> None:
    def settle() -> None:
        if future.done():  # the waiting task was cancelled
            return
        if exc is None:
            future.set_result(result)
        else:
            future.set_exception(exc)
    try:
        loop.call_soon_threadsafe(settle)
    except RuntimeError:  # that loop is closed: nobody waits any more
        pass


class Checkpointer:
    """WAL checkpoints for one database file, off the commit path.

    By default SQLite checkpoints inside the COMMIT that takes the log past 1000 pages: that
    commit copies them into the database file and syncs it before it returns, about one
    `call` in 65, ~3 ms, and those made the tail of `call` latency (issue 18). Here a thread
    with its own short-lived connection runs a PASSIVE checkpoint (it never waits for, nor
    blocks, a reader or writer): right after a commit, at most once per INTERVAL, so its
    disk work overlaps the next transaction's Python rather than its COMMIT (a pass at a
    random moment made that COMMIT wait on the disk instead); and once more when commits
    stop, then the thread is gone. The engine's connections keep SQLite's own checkpoint as
    a backstop at BACKSTOP_PAGES: under commits without pause the log is never quiet long
    enough to start again from its beginning, and that checkpoint lets it."""

    INTERVAL = 0.25  # seconds
    BACKSTOP_PAGES = 10_000  # ~40 MB of log

    def __init__(self, path: str, uri: bool) -> None:
        self.path = path
        self.uri = uri
        self.passes = 0  # checkpoints run (written by its thread only)
        self._lock = threading.Lock()
        self._commits = threading.Condition(self._lock)  # notified at each commit
        self._due = False
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()  # the running thread's

    @classmethod
    def for_file(cls, database: Any, uri: bool) -> Checkpointer | None:
        """None for a database with no file (hence no log): in memory, or a temporary one."""
        name = str(database)
        if name in ("", ":memory:") or "mode=memory" in name:
            return None
        return cls(name, uri)

    def committed(self) -> None:
        with self._lock:
            self._due = True
            if self._thread is None:
                self._stopping = threading.Event()
                self._thread = threading.Thread(target=self._work, args=(self._stopping,),
                                                name="sqlite-checkpoint", daemon=True)
                self._thread.start()
            else:
                self._commits.notify()

    def _work(self, stopping: threading.Event) -> None:
        last = -self.INTERVAL
        while True:
            with self._lock:
                # Set under this lock: a stop during the last pass is seen here, not waited out.
                after_commit = not stopping.is_set() and self._commits.wait(self.INTERVAL)
                if stopping.is_set() or not self._due:  # closing, or quiet and all done
                    self._thread = None
                    return
                if after_commit and time.monotonic() - last < self.INTERVAL:
                    continue  # one pass per INTERVAL; a later commit, or quiet, brings it
                self._due = False
            self.checkpoint()
            last = time.monotonic()

    def stop(self) -> None:
        """No pass after this one (the engine is closing; its last connection folds the log
        in). Blocks until a pass under way is done. A later commit starts the thread anew."""
        with self._lock:
            thread = self._thread
            self._stopping.set()
            self._commits.notify()
        if thread is not None:
            thread.join()

    def checkpoint(self) -> None:
        try:
            conn = sqlite3.connect(self.path, uri=self.uri, timeout=0, isolation_level=None)
            try:
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                conn.close()
        except sqlite3.Error as exc:  # the file is gone, or busy: the next pass, or the backstop
            log.debug("WAL checkpoint skipped: %s", exc)
        self.passes += 1

    def wait_idle(self, timeout: float) -> bool:
        """Block until the thread is gone, commits having stopped (for tests, from a thread)."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        with self._lock:
            return self._thread is None


class Cursor:
    """A sqlite3 cursor whose rows are read at once (the statement is finished before the
    next one, as with aiosqlite); a statement outside a transaction goes to the writer."""

    __slots__ = ("_connection", "_cursor", "_rows")
    server_side = False

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._cursor = connection.driver_connection.cursor()
        self._rows: deque[Any] = deque()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    def _run(self, fn: Callable[..., Any], *args: Any) -> None:
        connection = self._connection
        if connection.driver_connection.in_transaction:
            fn(*args)
            _awaited()
        elif args[0] == BEGIN and connection.begin_at_once(self._cursor):
            _awaited()
        else:
            connection.on_writer(fn, *args)
        self._rows = deque(self._cursor.fetchall() if self._cursor.description else ())

    def execute(self, operation: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> None:
        self._run(self._cursor.execute, operation, parameters)

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        self._run(self._cursor.executemany, operation, seq_of_parameters)

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        n = min(self._cursor.arraysize if size is None else size, len(self._rows))
        return [self._rows.popleft() for _ in range(n)]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    def __iter__(self) -> Iterator[Any]:
        while self._rows:
            yield self._rows.popleft()

    def setinputsizes(self, *sizes: Any) -> None:
        pass

    async def _async_soft_close(self) -> None:
        """SQLAlchemy's asyncio results call this; the rows are read already."""

    def close(self) -> None:
        self._rows.clear()
        self._cursor.close()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


async def _at_once() -> None:
    return None


def _awaited() -> None:
    """SQLAlchemy's AsyncConnection checks that its driver awaited; this await returns at
    once, without a turn of the event loop."""
    await_(_at_once())


BEGIN = "BEGIN IMMEDIATE"  # how storage.db begins every SQLite transaction


class Connection(AdaptedConnection):
    """The DBAPI connection SQLAlchemy's aiosqlite dialect drives, over one sqlite3
    connection that both the loop's thread and the writer thread use, never at once."""

    __slots__ = ("_busy_timeout", "_done", "_given", "checkpointer", "dbapi", "writer")

    def __init__(self, dbapi: Any, connection: sqlite3.Connection, writer: WriterThread,
                 checkpointer: Checkpointer | None = None) -> None:
        self.dbapi = dbapi
        self._connection = connection
        self.writer = writer
        self.checkpointer = checkpointer
        # Jobs given to the writer thread and finished there; each counter has one writer.
        self._given = self._done = 0
        self._busy_timeout: int | None = None  # ms, read at the first BEGIN

    def on_writer(self, fn: Callable[..., T], *args: Any) -> T:
        self._given += 1
        return self.writer.run(self._job, fn, *args)

    def _job(self, fn: Callable[..., T], *args: Any) -> T:
        try:
            return fn(*args)
        finally:
            self._done += 1

    def begin(self) -> None:
        """BEGIN IMMEDIATE, called by storage.db's "begin" hook rather than executed as a
        statement through SQLAlchemy (which cost ~3x SQLite's own BEGIN): at once when the
        write lock is free, else on the writer thread."""
        cursor = self.cursor()
        cursor.execute(BEGIN)
        cursor.close()

    def begin_at_once(self, cursor: sqlite3.Cursor) -> bool:
        """BEGIN IMMEDIATE here, when the write lock is free; False when another process
        holds it (then the caller waits for it on the writer thread, up to busy_timeout).
        Not while a job of this connection is on the writer: it must come after that."""
        if self._busy():
            return False
        raw = self._connection
        if self._busy_timeout is None:
            self._busy_timeout = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
        raw.execute("PRAGMA busy_timeout=0")
        try:
            cursor.execute(BEGIN)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != sqlite3.SQLITE_BUSY:
                raise
            return False
        finally:
            raw.execute(f"PRAGMA busy_timeout={self._busy_timeout}")
        return True

    def _busy(self) -> bool:
        """A job of this connection is still queued or running on the writer thread (its task
        was cancelled while it waited: a BEGIN behind another process's lock, a COMMIT)."""
        return self._given != self._done

    def _after_writer(self, fn: Callable[[], None]) -> None:
        """Run `fn` now, or, while a job of this connection is on the writer thread, there
        after it, without waiting: sqlite3 must never be closed or rolled back under a
        statement running in another thread (that blocked the loop for up to busy_timeout,
        then crashed), and a cancelled task must not wait out that BEGIN either. Whoever uses
        the connection next starts with a BEGIN on the writer thread, queued behind this."""
        if not self._busy():
            fn()
        else:
            self._given += 1
            self.writer.post(self._job, fn)

    @property
    def isolation_level(self) -> str | None:
        return self._connection.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: str | None) -> None:
        self._connection.isolation_level = value

    def cursor(self, server_side: bool = False) -> Cursor:
        return Cursor(self)

    def execute(self, operation: str, parameters: Any = ()) -> Cursor:
        cursor = self.cursor()
        cursor.execute(operation, parameters)
        return cursor

    def create_function(self, *args: Any, **kw: Any) -> None:
        self._connection.create_function(*args, **kw)

    def commit(self) -> None:
        if self._connection.in_transaction:
            if self._busy():  # behind a job of this connection still on the writer thread
                self.on_writer(self._connection.commit)
            else:  # at once: see the module's note on COMMIT
                self._connection.commit()
            if self.checkpointer is not None:
                self.checkpointer.committed()

    def rollback(self) -> None:
        # Nothing to wait on (WAL drops the pages), so inline; but behind a BEGIN or COMMIT
        # still running for a cancelled task it goes to the writer, so the two never overlap.
        self._after_writer(self._rollback)

    def _rollback(self) -> None:
        if self._connection.in_transaction:
            self._connection.rollback()

    def close(self) -> None:
        self._after_writer(self._connection.close)

    def terminate(self) -> None:
        self._after_writer(self._connection.close)


class DBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite's DBAPI shim (its names and exceptions, which are sqlite3's) with `connect`
    giving a `Connection` above. Passed to the engine as `module=`, so URLs keep their
    sqlite+aiosqlite:// scheme."""

    def __init__(self) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.writer = WriterThread()
        self.checkpointer: Checkpointer | None = None  # one engine, one file

    def connect(self, *args: Any, **kw: Any) -> Connection:
        kw.pop("async_creator_fn", None)
        kw["check_same_thread"] = False  # the loop's thread and the writer thread share it
        raw = self.writer.run(lambda: sqlite3.connect(*args, **kw))
        database = args[0] if args else kw.get("database", "")
        if self.checkpointer is None or self.checkpointer.path != str(database):
            self.checkpointer = Checkpointer.for_file(database, bool(kw.get("uri")))
        if self.checkpointer is not None:
            raw.execute(f"PRAGMA wal_autocheckpoint={Checkpointer.BACKSTOP_PAGES}")
        return Connection(self, raw, self.writer, self.checkpointer)
