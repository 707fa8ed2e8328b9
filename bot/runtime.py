"""The long-running loop for `peercircle run`: the due-timer loop with APScheduler as the
in-process wake-up (MemoryJobStore only), and one outbox sender per adapter. The database is
the source of truth; the wake-up is only a hint, backed by a poll for other processes' rows."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.dispatcher import Core
from bot.logs import log_failure
from bot.outbox import Deliverer, OutboxSender

log = logging.getLogger(__name__)

POLL = timedelta(seconds=15)


class Runtime:
    def __init__(self, core: Core, deliverers: list[Deliverer]) -> None:
        self.core = core
        self.senders = [OutboxSender(core.db, core.clock, d) for d in deliverers]
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._firing = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()  # held so they are not collected
        core.on_commit(self._committed)

    def _committed(self, timers_changed: bool) -> None:
        for sender in self.senders:
            sender.wake.set()
        if timers_changed:
            task = asyncio.get_running_loop().create_task(self._rearm())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _rearm(self) -> None:
        due = await self.core.next_due_at()
        if due is None:
            return
        at = max(due, self.core.clock.now())
        self.scheduler.add_job(self._tick, "date", run_date=at, id="due",
                               replace_existing=True, misfire_grace_time=None)

    async def _tick(self) -> None:
        async with self._firing:
            try:
                await self.core.fire_due()
            except Exception as exc:
                log_failure(log, "due loop failed; the next poll retries", exc=exc)
        await self._rearm()

    async def run(self, stop: asyncio.Event) -> None:
        self.scheduler.add_job(self._tick, "interval", seconds=POLL.total_seconds(), id="poll",
                               next_run_time=datetime.now(self.scheduler.timezone))
        self.scheduler.start()
        tasks = [asyncio.create_task(s.run(stop)) for s in self.senders]
        try:
            await stop.wait()
        finally:
            self.scheduler.shutdown(wait=False)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
