"""Leader election on PostgreSQL, for an active `peercircle run` and hot standbys.

A dedicated asyncpg connection, outside the pool, holds a session advisory lock: whoever holds
it leads. PostgreSQL itself takes the lock away from a holder that stops talking:
`idle_session_timeout` closes the connection of a frozen process within seconds (TCP
keepalive alone takes hours on a default kernel), and a dead process's socket closes at once.
A standby tries the lock every second.

Each new leader raises the epoch in the leader row, under a row lock that waits for (or ends)
every transaction the old leader still had open, and then waits out the old leader's heartbeat
grace before it acts. Every transaction of the leader begins by reading the epoch (the fence,
`Database.fence`): once another leader has raised it, the old one can neither claim an outbox
row or a timer, nor store a sync token, nor write anything else, and says so in its log. Any
failure of the lock connection or of a heartbeat is a step-down: `lost` is set, and the caller
stops every leader task."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock, SystemClock

log = logging.getLogger(__name__)

LEADER_LOCK = 0x7065_6572_6369_7263 & 0x7FFF_FFFF_FFFF_FFFF  # "peercirc"
MIGRATE_LOCK = LEADER_LOCK - 1
APP_LEADER, APP_STANDBY = "peercircle leader", "peercircle standby"


@dataclass(frozen=True)
class Timing:
    """Seconds. The heartbeat runs well inside the grace; PostgreSQL closes a silent lock
    connection after `idle_timeout`, so a frozen leader loses the lock then."""

    heartbeat: float = 0.5
    grace: float = 2.0
    idle_timeout: float = 4.0
    retry: float = 1.0  # how often a standby tries the lock


class FencedError(BaseException):
    """This process is no longer the leader: the write was refused. A BaseException, like a
    cancellation, so that no `except Exception` turns it into a retry or an error reply."""


def grace_wait(previous_heartbeat: datetime | None, now: datetime,
               grace: timedelta) -> timedelta:
    """How long a new leader waits before acting: until the old leader's last heartbeat is a
    grace old, by when a live old leader has stopped itself (its heartbeat check)."""
    if previous_heartbeat is None:
        return timedelta(0)
    return max(previous_heartbeat + grace - now, timedelta(0))


def asyncpg_dsn(url: str) -> str:
    """The SQLAlchemy URL as asyncpg wants it (no `+asyncpg`, the password kept)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership:
    """One process's part in the election. `acquire()` returns once this process leads (or
    `stop` is set); from then on `lost` is set at the first sign that it may no longer lead."""

    def __init__(self, url: str, *, timing: Timing | None = None, clock: Clock | None = None,
                 holder: str | None = None) -> None:
        self.dsn = asyncpg_dsn(url)
        self.timing = timing or Timing()
        self.clock = clock or SystemClock()
        self.holder = holder or holder_name()
        self.epoch: int | None = None
        self.since: datetime | None = None
        self.last_ok: datetime | None = None  # the last good heartbeat, on self.clock
        self.lost = asyncio.Event()
        self.reason = ""
        self._conn: Any = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._listeners: list[Callable[[str], None]] = []

    def on_lost(self, listener: Callable[[str], None]) -> None:
        self._listeners.append(listener)

    # -- standby ------------------------------------------------------------------------------
    async def _connect(self, app: str) -> Any:
        import asyncpg

        ms = str(int(self.timing.idle_timeout * 1000))
        return await asyncpg.connect(self.dsn, timeout=10, server_settings={
            "application_name": f"{app} {self.holder}"[:63],
            # The point of the whole scheme: a frozen holder is idle, and PostgreSQL ends it.
            "idle_session_timeout": ms,
            "idle_in_transaction_session_timeout": ms,
            # A vanished host (power cut, partition): the kernel gives up on it soon, too.
            "tcp_keepalives_idle": "2", "tcp_keepalives_interval": "1",
            "tcp_keepalives_count": "3", "tcp_user_timeout": ms,
        })

    async def acquire(self, stop: asyncio.Event) -> int | None:
        """Wait (trying every `retry` seconds) until this process holds the lock, raise the
        epoch, start the heartbeat, wait out the old leader's grace; returns the new epoch,
        or None when `stop` came first."""
        announced = failing = False
        while not stop.is_set():
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await self._connect(APP_STANDBY)
                if await self._conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK):
                    previous, db_now = await self._take_epoch()
                    break
                if not announced:
                    log.info("standby: another process leads; trying every %.0f s",
                             self.timing.retry)
                    announced = True
                failing = False
            except Exception as exc:  # unreachable, restarting, a terminated backend
                await self._drop_conn()  # and with it the lock, if it was taken
                # Once per outage at WARNING: a standby retries every second.
                log.log(logging.DEBUG if failing else logging.WARNING,
                        "standby: cannot try the leader lock (%s); retrying every %.0f s",
                        type(exc).__name__, self.timing.retry)
                failing = True
            except BaseException:
                await self._drop_conn()
                raise
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.timing.retry)
        else:
            return None
        conn = self._conn
        conn.add_termination_listener(lambda _c: self.lose("the lock connection was closed"))
        self.last_ok = self.clock.now()
        self._heartbeat = asyncio.create_task(self._beat(), name="leader-heartbeat")
        wait = grace_wait(previous, db_now, timedelta(seconds=self.timing.grace))
        log.info("leader: this process leads now (epoch %d)%s", self.epoch,
                 f"; waiting {wait.total_seconds():.1f} s for the old leader's grace"
                 if wait else "")
        if wait:
            waiters = [asyncio.ensure_future(stop.wait()),
                       asyncio.ensure_future(self.lost.wait())]
            await asyncio.wait(waiters, timeout=wait.total_seconds(),
                               return_when=asyncio.FIRST_COMPLETED)
            for w in waiters:
                w.cancel()
        return None if stop.is_set() or self.lost.is_set() else self.epoch

    async def _take_epoch(self) -> tuple[datetime | None, datetime]:
        """Raise the epoch. The row lock (FOR UPDATE) waits for every transaction the old
        leader still has open (they read the row FOR KEY SHARE); one that does not end within
        a second belongs to a frozen process and is ended here."""
        conn = self._conn
        while True:
            try:
                async with conn.transaction():
                    await conn.execute("SET LOCAL lock_timeout = '1s'")
                    row = await conn.fetchrow(
                        "SELECT epoch, heartbeat_at, clock_timestamp() AS now FROM leader "
                        "WHERE id = 1 FOR UPDATE")
                    epoch = int(row["epoch"]) + 1
                    since = await conn.fetchval(
                        "UPDATE leader SET epoch = $1, holder = $2, since = clock_timestamp(), "
                        "heartbeat_at = clock_timestamp() WHERE id = 1 RETURNING since",
                        epoch, self.holder[:200])
                break
            except Exception as exc:
                if type(exc).__name__ != "LockNotAvailableError":
                    raise
                ended = await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks "
                    "WHERE relation = 'leader'::regclass AND mode = 'RowShareLock' "
                    "AND granted AND pid <> pg_backend_pid()")
                log.warning("leader: ended %d transaction(s) of the old leader that held the "
                            "leader row", ended)
        await conn.execute("SELECT set_config('application_name', $1, false)",
                           f"{APP_LEADER} {self.holder}"[:63])
        self.epoch, self.since = epoch, since
        return row["heartbeat_at"], row["now"]

    # -- leading ------------------------------------------------------------------------------
    async def _beat(self) -> None:
        conn = self._conn
        timing = self.timing
        while not self.lost.is_set():
            await asyncio.sleep(timing.heartbeat)
            if not self.fresh():
                self.lose(f"no good heartbeat for over {timing.grace:.0f} s")
                return
            try:
                still = await asyncio.wait_for(conn.fetchval(
                    "UPDATE leader SET heartbeat_at = clock_timestamp() "
                    "WHERE id = 1 AND epoch = $1 RETURNING epoch", self.epoch),
                    timeout=timing.grace / 2)
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                self.lose(f"the heartbeat failed ({type(exc).__name__})")
                return
            if still is None:
                self.lose("another process raised the epoch")
                return
            self.last_ok = self.clock.now()

    def fresh(self) -> bool:
        """Whether the last good heartbeat is within the grace (on the injected clock)."""
        return (self.last_ok is not None
                and self.clock.now() - self.last_ok <= timedelta(seconds=self.timing.grace))

    def lose(self, reason: str) -> None:
        """Step down: once, with a log line; listeners stop every leader task."""
        if self.lost.is_set():
            return
        self.reason = reason
        self.lost.set()
        log.error("leader: stepping down from epoch %s: %s; this process sends and writes "
                  "nothing more", self.epoch, reason)
        for listener in self._listeners:
            listener(reason)

    async def fence(self, session: AsyncSession) -> None:
        """Run first in every transaction of the leader: refuse it unless this process still
        leads. FOR KEY SHARE lets concurrent transactions through together, and makes the next
        leader's FOR UPDATE wait until they are done."""
        if self.lost.is_set():
            raise FencedError(f"epoch fence: not the leader any more ({self.reason})")
        stored = (await session.execute(
            text("SELECT epoch FROM leader WHERE id = 1 FOR KEY SHARE"))).scalar()
        if stored != self.epoch:
            self.lose(f"epoch fence: the stored epoch is {stored}, this process's is "
                      f"{self.epoch}")
            log.error("epoch fence: a write of epoch %s was refused (the stored epoch is %s)",
                      self.epoch, stored)
            raise FencedError("epoch fence: another process leads now")

    async def release(self) -> None:
        """Give the lock up (a clean stop): the standby takes over at its next try."""
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(BaseException):
                await self._heartbeat
        await self._drop_conn()

    async def _drop_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=2)
        elif conn is not None:
            conn.terminate()


async def release_stale_leases(session: AsyncSession, now: datetime) -> tuple[int, int]:
    """At takeover: the old leader's outbox and timer leases end now. The fence means it can
    no longer finish them; the outbox key travels to the platform as the transaction id, so a
    row it did send is not sent twice."""
    outbox = await session.execute(text(
        "UPDATE outbox SET lease_owner = NULL, lease_until = NULL "
        "WHERE sent_at IS NULL AND failed_at IS NULL AND lease_until > :now"), {"now": now})
    timers = await session.execute(text(
        "UPDATE timers SET lease_owner = NULL, lease_until = NULL "
        "WHERE fired_at IS NULL AND cancelled_at IS NULL AND lease_until > :now"), {"now": now})
    return outbox.rowcount, timers.rowcount  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Status:
    epoch: int
    holder: str | None
    since: datetime | None
    heartbeat_at: datetime | None
    db_now: datetime
    processes: list[tuple[str, str]]  # (leader|standby, holder) connected now


async def read_status(session: AsyncSession) -> Status:
    row = (await session.execute(text(
        "SELECT epoch, holder, since, heartbeat_at, clock_timestamp() AS now FROM leader "
        "WHERE id = 1"))).one()
    apps = (await session.execute(text(
        "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() "
        "AND (application_name LIKE :a OR application_name LIKE :b) ORDER BY backend_start"),
        {"a": f"{APP_LEADER} %", "b": f"{APP_STANDBY} %"})).scalars().all()
    processes = [(app.split(" ")[1], app.split(" ", 2)[2]) for app in apps]
    return Status(int(row.epoch), row.holder, row.since, row.heartbeat_at, row.now, processes)
