"""`peercircle run`'s loop: APScheduler wakes the due loop, senders drain on commit, and a
timer overdue at start-up is handled at once. The clock is fake; we only wait for events."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import open_core
from bot.clock import FakeClock
from bot.config import Settings
from bot.outbox import Outgoing
from bot.refs import Place, RoomRef, UserRef
from bot.runtime import Runtime
from bot.timers import schedule
from storage.models import Circle, Timer
from tests.conftest import DbSpec


class Inbox:
    platform = "console"

    def __init__(self) -> None:
        self.got: asyncio.Queue[Outgoing] = asyncio.Queue()

    async def deliver(self, message: Outgoing) -> str:
        await self.got.put(message)
        return f"m{message.id}"


async def test_runtime_fires_overdue_timers_and_drains_on_commit(db_spec: DbSpec) -> None:
    clock = FakeClock(datetime.now(UTC))
    core = await open_core(Settings(), clock, db=db_spec.make())
    alice = UserRef("console", "alice", "alice")
    await core.handle_text("circle setup name:R timezone:UTC", alice, Place(RoomRef("console",
                                                                                     "r")))
    async with core.db.transaction() as s:
        circle = (await s.execute(select(Circle))).scalar_one()
        # Overdue by an hour, as after downtime: it must fire at once, not be dropped.
        await schedule(s, clock.now(), "privacy.retention", clock.now() - timedelta(hours=1),
                       "overdue", {"circle_id": circle.id})
    inbox = Inbox()
    runtime = Runtime(core, [inbox])
    stop = asyncio.Event()
    task = asyncio.create_task(runtime.run(stop))
    try:
        first = await asyncio.wait_for(inbox.got.get(), timeout=10)
        assert first.kind == "post" and "Welcome to R" in first.text
        for _ in range(100):
            async with core.db.transaction() as s:
                fired = (await s.execute(select(Timer.fired_at).where(Timer.key == "overdue"))
                         ).scalar_one()
            if fired is not None:
                break
            await asyncio.sleep(0.05)
        assert fired is not None
        # A commit wakes the sender at once (not at the next poll).
        await core.handle_text("join", UserRef("console", "bob", "bob"),
                               Place(RoomRef("console", "r")))
        got = {(await asyncio.wait_for(inbox.got.get(), timeout=5)).kind for _ in range(2)}
        assert got == {"post", "dm"}
    finally:
        stop.set()
        await task
        await core.db.dispose()
