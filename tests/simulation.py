"""Moving a console circle's fake clock straight to the next due timer of some kinds, so a test
covers months in seconds (a week of hourly housekeeping becomes one sweep per jump)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from adapters.console import ConsoleSession
from bot.clock import FakeClock
from storage.models import Timer

Said = list[tuple[datetime, str]]


async def next_due(console: ConsoleSession, *prefixes: str) -> datetime | None:
    """The first pending timer whose kind starts with one of `prefixes` (`meetings.`)."""
    assert console.core is not None
    async with console.core.db.transaction() as s:
        return (await s.execute(select(func.min(Timer.due_at)).where(
            or_(*(Timer.kind.startswith(p) for p in prefixes)), Timer.fired_at.is_(None),
            Timer.cancelled_at.is_(None)))).scalar()


async def jump(console: ConsoleSession, instant: datetime) -> Said:
    """Set the clock to `instant`, fire what is due then, once; what was said, with when."""
    assert isinstance(console.clock, FakeClock)
    console.clock.set(instant)
    await console.settle()
    return [(instant, line) for line in console.take()]


async def say(console: ConsoleSession, line: str) -> Said:
    await console.run_line(line)
    return [(console.clock.now(), said) for said in console.take()]



async def walk(console: ConsoleSession, target: datetime) -> Said:
    """Like the console's `:advance`, firing every timer at its due time on the way, except
    the hourly housekeeping, which fires once per step (it says nothing to anyone)."""
    assert console.core is not None
    said: Said = []
    while True:
        async with console.core.db.transaction() as s:
            due = (await s.execute(select(func.min(Timer.due_at)).where(
                Timer.kind != "privacy.housekeeping", Timer.fired_at.is_(None),
                Timer.cancelled_at.is_(None)))).scalar()
        if due is None or due > target:
            break
        said += await jump(console, max(due, console.clock.now()))
    return said + await jump(console, target)


async def run_example(console: ConsoleSession, lines: list[str]) -> Said:
    """A shipped script, line by line, with `:advance` and `:at` as `walk`s."""
    from bot.clock import parse_instant
    from bot.durations import parse_duration

    said: Said = []
    for line in lines:
        word, _, rest = line.strip().partition(" ")
        if word == ":advance":
            delta = parse_duration(rest)
            assert delta is not None, line
            said += await walk(console, console.clock.now() + delta)
        elif word == ":at":
            said += await walk(console, parse_instant(rest.strip()))
        else:
            said += await say(console, line)
    return said


async def fast_lines(console: ConsoleSession, text: str) -> list[str]:
    """`run_lines` for a script that covers days: `:advance`/`:at` fire every timer at its
    due time, the hourly housekeeping once per step."""
    return [line for _, line in await run_example(console, text.strip().splitlines())]
