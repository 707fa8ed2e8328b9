"""Event handling off the sync loop: one bounded queue of work, kept in order per room.

The sync loop only enqueues; a worker per busy room runs that room's items one after another
(a member's `join` is handled before their `checkin`), rooms run side by side, and a slow
handler never holds up sync or key exchange. When too much is queued, enqueueing waits: the
back-pressure lands on sync rather than on memory.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.logs import log_failure

log = logging.getLogger(__name__)


@dataclass
class Batch:
    """The events of one sync response; its token may be stored once all are handled."""

    token: str
    pending: int = 0
    sealed: bool = False
    failed: bool = False

    @property
    def done(self) -> bool:
        return self.sealed and self.pending == 0


@dataclass
class Work:
    room_id: str
    run: Callable[[], Awaitable[None]]
    label: str
    batch: Batch | None = None
    attempts: int = field(default=0)


class Dispatcher:
    def __init__(self, on_batch_done: Callable[[str], Awaitable[None]], *,
                 capacity: int = 500, attempts: int = 3) -> None:
        self.on_batch_done = on_batch_done
        self.capacity = asyncio.Semaphore(capacity)
        self.attempts = attempts
        self._queues: dict[str, asyncio.Queue[Work]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._batches: list[Batch] = []
        self._flush_lock = asyncio.Lock()
        self.idle = asyncio.Event()
        self.idle.set()

    def new_batch(self, token: str) -> Batch:
        batch = Batch(token)
        self._batches.append(batch)
        return batch

    async def put(self, work: Work) -> None:
        await self.capacity.acquire()
        if work.batch is not None:
            work.batch.pending += 1
        self.idle.clear()
        queue = self._queues.setdefault(work.room_id, asyncio.Queue())
        queue.put_nowait(work)
        worker = self._workers.get(work.room_id)
        if worker is None or worker.done():
            self._workers[work.room_id] = asyncio.create_task(self._work(work.room_id))

    async def seal(self, batch: Batch) -> None:
        batch.sealed = True
        await self._flush()

    async def _work(self, room_id: str) -> None:
        queue = self._queues[room_id]
        while not queue.empty():
            work = queue.get_nowait()
            try:
                await self._run(work)
            finally:
                self.capacity.release()
                if work.batch is not None:
                    work.batch.pending -= 1
                await self._flush()
        self._workers.pop(room_id, None)
        self._queues.pop(room_id, None)
        if not self._workers:
            self.idle.set()

    async def _run(self, work: Work) -> None:
        while True:
            work.attempts += 1
            try:
                await work.run()
                return
            except asyncio.CancelledError:
                # Stopping mid-item: its batch is never marked done, so its token is not
                # stored and the event comes back after the restart.
                if work.batch is not None:
                    work.batch.failed = True
                raise
            except Exception as exc:
                if work.attempts >= self.attempts:
                    log_failure(log, "matrix: %s failed %d times; it will be retried after a "
                                "restart", work.label, work.attempts, exc=exc)
                    if work.batch is not None:
                        work.batch.failed = True
                    return
                log.warning("matrix: %s failed (%s); retrying", work.label, type(exc).__name__)
                await asyncio.sleep(0.5 * work.attempts)

    async def _flush(self) -> None:
        """Store the newest token whose batch, and every batch before it, is fully handled."""
        async with self._flush_lock:
            latest: str | None = None
            while self._batches and self._batches[0].done and not self._batches[0].failed:
                latest = self._batches.pop(0).token
            if latest is not None:
                await self.on_batch_done(latest)

    async def stop(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*self._workers.values(), return_exceptions=True)
        self._workers.clear()
