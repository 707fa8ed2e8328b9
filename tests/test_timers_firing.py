"""The due loop: the timers of one claim fire together on SQLite, yet one that fails is retried
later and loses none of the others; lifeline timers are claimed before a backlog; the
watchdog writes one line per pass."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import timers
from bot.app import open_core
from bot.clock import FakeClock
from bot.config import Settings
from bot.context import Ctx
from bot.dispatcher import Core
from bot.feature import Feature
from bot.features import build_features
from storage.models import OutboxMessage, Person, Timer
from tests.conftest import DbSpec

probe = Feature("probe")
FAILING: set[str] = set()


@dataclass(frozen=True)
class Say:
    word: str


@probe.timer("probe.say", Say)
async def say(ctx: Ctx, payload: Say) -> None:
    person = Person(platform="console", platform_user_id="ann", display_name="ann",
                    created_at=ctx.now)
    ctx.dm(person, payload.word)
    await ctx.session.flush()  # the outbox row is written before the handler fails
    if payload.word in FAILING:
        raise RuntimeError("this one breaks")


async def _core(db_spec: DbSpec, clock: FakeClock) -> Core:
    return await open_core(Settings(), clock, db=db_spec.make(),
                           features=build_features([probe]))


async def _schedule(core: Core, words: list[str], due_ago: timedelta) -> None:
    now = core.clock.now()
    async with core.db.transaction() as s:
        for w in words:
            await timers.schedule(s, now, "probe.say", now - due_ago, f"say:{w}", {"word": w})


async def _said(core: Core) -> list[str]:
    async with core.db.transaction() as s:
        return list((await s.execute(select(OutboxMessage.text)
                                     .where(OutboxMessage.key.like("timer:say:%"))
                                     .order_by(OutboxMessage.id))).scalars())


async def test_a_failing_timer_is_retried_alone_and_the_others_commit(
        db_spec: DbSpec, clock: FakeClock) -> None:
    core = await _core(db_spec, clock)
    try:
        FAILING.add("two")
        await _schedule(core, ["one", "two", "three"], timedelta(seconds=1))
        assert await core.fire_due() == 2
        assert await _said(core) == ["one", "three"]  # "two"'s row was rolled back
        async with core.db.transaction() as s:
            two = (await s.execute(select(Timer).where(Timer.key == "say:two"))).scalar_one()
        assert two.fired_at is None and two.lease_owner is None
        assert two.last_error == "RuntimeError" and two.due_at > clock.now()
        FAILING.clear()
        clock.set(two.due_at)
        assert await core.fire_due() == 1
        assert await _said(core) == ["one", "three", "two"]
        assert await core.fire_due() == 0  # each fired exactly once
    finally:
        FAILING.clear()
        await core.db.dispose()


async def test_lifeline_timers_are_claimed_before_a_backlog(db_spec: DbSpec,
                                                            clock: FakeClock) -> None:
    core = await _core(db_spec, clock)
    try:
        await _schedule(core, [f"w{i}" for i in range(120)], timedelta(hours=2))
        now = clock.now()
        async with core.db.transaction() as s:  # due later than all of the backlog
            await timers.schedule(s, now, "lifeline.wave", now - timedelta(seconds=1),
                                  "lifeline:999:wave:2", {"request_id": 999, "wave": 2},
                                  urgent=True)
        first = await timers.claim_due(core.db, now, "someone", limit=50)
        assert first[0].key == "lifeline:999:wave:2"
    finally:
        await core.db.dispose()


async def test_the_watchdog_logs_one_line_per_pass(db_spec: DbSpec, clock: FakeClock,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    core = await _core(db_spec, clock)
    try:
        await _schedule(core, [f"w{i}" for i in range(120)], timedelta(hours=1))
        with caplog.at_level(logging.WARNING, logger="bot.timers"):
            assert await core.fire_due() >= 120  # (the hourly housekeeping may be due too)
        lines = [r.getMessage() for r in caplog.records if "watchdog" in r.getMessage()]
        assert len(lines) == 1
        assert lines[0].startswith("timer watchdog: 120 timer(s) fired late, the latest 3600 s")
    finally:
        await core.db.dispose()
